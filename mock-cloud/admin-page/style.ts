/** The admin page's style sheet, sent inline. System fonts and colours; readable in light and dark. */
export const ADMIN_PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #57606a; --line: #d0d7de; --head: #f6f8fa; --ok: #116329; --fail: #a40e26; --accent: #0550ae; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #30363d; --head: #161b22; --ok: #3fb950; --fail: #ff7b72; --accent: #4493f8; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 1.5rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.4rem; margin: 0.8rem 0; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 0.6rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
#status { margin: 0; color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); padding-bottom: 0.3rem; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
thead th { background: var(--head); font-weight: 600; }
tbody th { font-weight: 600; }
td.num { text-align: right; }
td.url { max-width: 28rem; overflow: hidden; text-overflow: ellipsis; }
td.empty { color: var(--muted); font-style: italic; }
.ok { color: var(--ok); font-weight: 600; }
.fail { color: var(--fail); font-weight: 600; }
.state-draining { color: var(--fail); }
form { display: grid; grid-template-columns: max-content 1fr; gap: 0.5rem 0.8rem; align-items: center; max-width: 48rem; }
form .row { grid-column: 1 / -1; display: flex; flex-wrap: wrap; gap: 0.5rem 0.8rem; align-items: center; }
label { font-weight: 600; }
input, select, textarea, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 0.3rem 0.45rem; }
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9rem; width: 100%; }
input[type=url] { width: 100%; }
input[type=number] { width: 8rem; }
.hint { grid-column: 2; margin: -0.3rem 0 0; color: var(--muted); font-size: 0.85rem; }
button { grid-column: 2; justify-self: start; background: var(--accent); color: #fff; border-color: var(--accent); padding: 0.35rem 1.2rem; cursor: pointer; }
button:disabled { opacity: 0.6; cursor: progress; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
[aria-invalid=true] { border-color: var(--fail); }
pre { background: var(--head); border: 1px solid var(--line); border-radius: 4px; padding: 0.5rem; margin: 0.2rem 0 0.6rem; max-height: 20rem; overflow: auto; white-space: pre-wrap; word-break: break-all; font-size: 0.85rem; }
pre:empty { display: none; }
footer { margin-top: 2rem; padding-bottom: 1rem; color: var(--muted); font-size: 0.85rem; border-top: 1px solid var(--line); }
`
