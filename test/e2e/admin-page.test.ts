/**
 * The mock cloud's admin page in a real browser (Debian's headless Chromium driven by
 * playwright-core): a bridge appears without reload, a Call-URL from the form shows the target's
 * answer and an error code, the recent calls show outcomes, and a stopped bridge disappears. The
 * cloud runs with `--api-token`, so the page is opened as `/?token=` and its fetches must carry
 * the bearer header. Elements are found by role and label, which checks the page's accessibility.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import type { SampleTarget } from '../../agent/sample-target.js'
import { cleanup, startAgent, startCloud, startTarget } from './harness.js'
import type { Cloud } from './harness.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
const TOKEN = 'admin-page-token-4f1c9e0a7b'
const HELLO = 'hello from the private network\n'
const SCREENSHOT = '/tmp/outbridge-admin-page.png'
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`

describe('admin page', { skip }, () => {
  let cloud: Cloud
  let target: SampleTarget
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  before(async () => {
    [cloud, target, browser] = await Promise.all([
      startCloud({ apiToken: TOKEN }),
      startTarget(),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    ])
    page = await browser.newPage()
    page.setDefaultTimeout(10_000)
    // Script errors and Content-Security-Policy violations ("Refused to ...") surface here; the
    // 403 of the FORBIDDEN_TARGET call below is logged too, as "Failed to load resource".
    page.on('pageerror', (err) => pageErrors.push(err.message))
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text())
    })
  })

  after(async () => {
    await browser?.close()
    await cleanup()
  })

  test('GET / takes the token as ?token=, no other path does, and the page never contains it', async () => {
    const bare = await fetch(`${cloud.url}/`)
    assert.equal(bare.status, 401)
    assert.equal(bare.headers.get('x-outbridge-error'), 'UNAUTHORIZED')
    const wrong = await fetch(`${cloud.url}/?token=not-the-token`)
    assert.equal(wrong.status, 401)
    const api = await fetch(`${cloud.url}/api/bridges?token=${TOKEN}`)
    assert.equal(api.status, 401)
    const res = await fetch(`${cloud.url}/?token=${TOKEN}`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/)
    const html = await res.text()
    assert.ok(!html.includes(TOKEN))
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'the page loads nothing from elsewhere')
  })

  test('a bridge appears live, a call from the form shows the answer, a stopped bridge disappears', async () => {
    await page.goto(`${cloud.url}/?token=${TOKEN}`)
    await page.evaluate('window.sameDocument = true')
    assert.equal(await page.getByRole('main').count(), 1)
    const bridges = page.getByRole('table', { name: /Connected bridges/ })
    await bridges.getByText('No bridge is connected.').waitFor()

    const agent = await startAgent(cloud, { name: 'page-bridge' })
    const row = bridges.getByRole('row', { name: /page-bridge/ })
    await row.waitFor()
    const cells = await row.getByRole('cell').allTextContents()
    assert.equal(cells[0], 'acc-1')
    assert.equal(cells[2], 'open')

    await page.getByLabel('Bridge', { exact: true }).selectOption('page-bridge')
    await page.getByLabel('Method', { exact: true }).selectOption('GET')
    await page.getByLabel('URL', { exact: true }).fill(`${target.url}/hello`)
    await page.getByLabel('Timeout (ms)', { exact: true }).fill('5000')
    await page.getByRole('button', { name: 'Send' }).click()
    await page.locator('#result-status', { hasText: /^200 via page-bridge/ }).waitFor()
    assert.equal(await page.getByLabel('Answer body', { exact: true }).textContent(), HELLO)
    assert.match(await page.getByLabel('Answer headers', { exact: true }).textContent() ?? '', /^x-sample: 1$/m)

    // 127.0.0.2 is outside the bridge's rules: refused before any connection is made.
    await page.getByLabel('URL', { exact: true }).fill('http://127.0.0.2:9/')
    await page.getByRole('button', { name: 'Send' }).click()
    await page.locator('#result-status', { hasText: /^FORBIDDEN_TARGET \(HTTP 403/ }).waitFor()

    const calls = page.getByRole('table', { name: /Recent calls/ })
    const ok = calls.getByRole('row', { name: /\/hello/ })
    await ok.waitFor()
    assert.ok((await ok.getByRole('cell').allTextContents()).includes('200'))
    await calls.getByRole('row', { name: /FORBIDDEN_TARGET/ }).waitFor()

    // A sync job appears in the jobs table and reaches its final state there, without a reload.
    const created = await cloud.api('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'page-job', frequency: 'once', connection: { baseUrl: target.url }, steps: [{ kind: 'request', name: 'hello', path: '/hello' }] })
    })
    assert.equal(created.status, 201)
    const jobRow = page.getByRole('table', { name: /Sync jobs/ }).getByRole('row', { name: /page-job/ })
    await jobRow.waitFor()
    await jobRow.getByRole('cell', { name: 'succeeded', exact: true }).waitFor()
    await page.screenshot({ path: SCREENSHOT, fullPage: true })

    assert.equal(await agent.stop('SIGTERM'), 0)
    await row.waitFor({ state: 'detached' })
    await bridges.getByText('No bridge is connected.').waitFor()
    assert.equal(await page.evaluate('window.sameDocument'), true, 'the page updated without a reload')
    assert.deepEqual(pageErrors, [])
  })

  test('the token never reaches the cloud\'s output', () => {
    const output = [...cloud.proc.lines, ...cloud.proc.stderr].join('\n')
    assert.ok(!output.includes(TOKEN))
  })
})
