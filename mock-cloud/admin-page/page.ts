/**
 * The mock cloud's admin page (`GET /`): connected bridges, a Call-URL form and the recent
 * calls, live without reload. One self-contained HTML document, built once at start-up from
 * strings compiled into dist/ (the package ships dist/ only, so there are no files to find at
 * run time), with the style and script inline and a Content-Security-Policy that admits exactly
 * those two (by hash) and fetches to this origin: nothing else loads or runs.
 *
 * With `--api-token`, open the page as `/?token=TOKEN`: a browser cannot add a bearer header to
 * its own navigation, so `GET /` alone also takes the token from the query, and the page's script
 * sends it as `Authorization: Bearer` on every fetch. The token is not written into the page.
 */
import { createHash } from 'node:crypto'
import { ADMIN_PAGE_SCRIPT } from './script.js'
import { ADMIN_PAGE_STYLE } from './style.js'

function cspHash (text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

const BRIDGE_COLUMNS = ['Name', 'Client id', 'Version', 'State', 'Connected since', 'In flight', 'RTT (ms)']
const CALL_COLUMNS = ['Time', 'API', 'Bridge', 'Method', 'URL', 'Outcome', 'Duration (ms)', 'Bytes sent / received']
const JOB_COLUMNS = ['Name', 'Frequency', 'Bridge', 'State', 'Runs', 'Next due', 'Last result']
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']

function table (id: string, caption: string, columns: readonly string[], empty: string): string {
  const heads = columns.map((c) => `<th scope="col">${c}</th>`).join('')
  return `<div class="scroll" role="region" aria-labelledby="${id}-caption" tabindex="0">
<table id="${id}"><caption id="${id}-caption">${caption}</caption>
<thead><tr>${heads}</tr></thead>
<tbody><tr><td class="empty" colspan="${columns.length}">${empty}</td></tr></tbody>
</table></div>`
}

const CALL_FORM = `<form id="call-form" aria-labelledby="call-heading">
<div class="row">
<label for="call-bridge">Bridge</label><select id="call-bridge"><option value="">any</option></select>
<label for="call-method">Method</label><select id="call-method">${METHODS.map((m) => `<option>${m}</option>`).join('')}</select>
<label for="call-timeout">Timeout (ms)</label><input id="call-timeout" type="number" min="0" max="3600000" step="1" placeholder="default">
</div>
<label for="call-url">URL</label><input id="call-url" type="url" required placeholder="http://10.0.0.5:8080/api/items" autocomplete="url">
<label for="call-headers">Headers</label><textarea id="call-headers" rows="3" aria-describedby="call-headers-hint" spellcheck="false"></textarea>
<p id="call-headers-hint" class="hint">One per line, as <code>name: value</code>.</p>
<label for="call-body">Body</label><textarea id="call-body" rows="4" spellcheck="false"></textarea>
<button id="call-send" type="submit">Send</button>
</form>
<section aria-labelledby="answer-heading">
<h3 id="answer-heading">Answer</h3>
<p id="result-status" role="status">No call sent yet.</p>
<pre id="result-headers" aria-label="Answer headers"></pre>
<pre id="result-body" aria-label="Answer body"></pre>
</section>`

/** The page, UTF-8. */
export const ADMIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>outbridge mock cloud</title>
<link rel="icon" href="data:,">
<style>${ADMIN_PAGE_STYLE}</style>
</head>
<body>
<header><h1>outbridge mock cloud</h1><p id="status" role="status">Loading…</p></header>
<main>
<section aria-labelledby="bridges-heading">
<h2 id="bridges-heading">Bridges</h2>
${table('bridges', 'Connected bridges (refreshed every second)', BRIDGE_COLUMNS, 'No bridge is connected.')}
</section>
<section aria-labelledby="call-heading">
<h2 id="call-heading">Call a URL through a bridge</h2>
${CALL_FORM}
</section>
<section aria-labelledby="calls-heading">
<h2 id="calls-heading">Recent calls</h2>
${table('calls', 'Recent calls, newest first (refreshed every second)', CALL_COLUMNS, 'No call yet.')}
</section>
<section aria-labelledby="jobs-heading">
<h2 id="jobs-heading">Sync jobs</h2>
${table('jobs', 'Sync jobs and their state (refreshed every second)', JOB_COLUMNS, 'No job defined.')}
</section>
</main>
<footer><p>JSON behind this page: <a href="/api/bridges">/api/bridges</a>, <a href="/api/calls">/api/calls</a>, <a href="/api/jobs">/api/jobs</a>, <a href="/metrics">/metrics</a>.</p></footer>
<script>${ADMIN_PAGE_SCRIPT}</script>
</body>
</html>
`

/** Response headers of the page: no caching, no referrer, nothing but its own style and script. */
export const ADMIN_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'content-length': String(Buffer.byteLength(ADMIN_PAGE_HTML)),
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${cspHash(ADMIN_PAGE_SCRIPT)}`,
    `style-src ${cspHash(ADMIN_PAGE_STYLE)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
})
