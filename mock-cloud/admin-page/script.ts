/**
 * The admin page's script, sent inline (the cloud serves no other files, and the machine may
 * have no internet: nothing comes from a CDN). Plain DOM, no framework: it polls
 * `/api/bridges` and `/api/calls` every second, fills the two tables, keeps the bridge choice
 * of the Call-URL form in step, and sends the form to `/api/call`. Every value reaches the DOM
 * through `textContent`, never as markup. When the page was opened as `/?token=T` (a cloud
 * started with `--api-token`), every fetch carries `Authorization: Bearer T`.
 *
 * Written as a string: no backticks and no template placeholders inside.
 */
export const ADMIN_PAGE_SCRIPT = String.raw`
'use strict'
;(function adminPage () {
  var POLL_MS = 1000
  var token = new URLSearchParams(location.search).get('token')
  var $ = function (id) { return document.getElementById(id) }
  var statusLine = $('status')
  var bridgeSelect = $('call-bridge')
  var bridgeNames = ''

  function api (path, init) {
    init = init || {}
    var headers = new Headers(init.headers || {})
    if (token) headers.set('authorization', 'Bearer ' + token)
    init.headers = headers
    init.cache = 'no-store'
    return fetch(path, init)
  }

  function cell (row, text, className, title) {
    var td = document.createElement('td')
    td.textContent = text
    if (className) td.className = className
    if (title) td.title = title
    row.appendChild(td)
    return td
  }

  function timeCell (row, iso, withDate) {
    var td = document.createElement('td')
    var t = document.createElement('time')
    var d = new Date(iso)
    t.dateTime = iso
    t.textContent = withDate ? d.toLocaleString() : d.toLocaleTimeString()
    td.appendChild(t)
    row.appendChild(td)
  }

  function emptyRow (body, columns, text) {
    var row = document.createElement('tr')
    var td = cell(row, text, 'empty')
    td.colSpan = columns
    body.replaceChildren(row)
  }

  function showBridges (bridges) {
    var body = document.querySelector('#bridges tbody')
    if (bridges.length === 0) emptyRow(body, 7, 'No bridge is connected.')
    else {
      body.replaceChildren.apply(body, bridges.map(function (b) {
        var row = document.createElement('tr')
        row.dataset.session = b.session
        var th = document.createElement('th')
        th.scope = 'row'
        th.textContent = b.name
        row.appendChild(th)
        cell(row, b.clientId)
        cell(row, b.version)
        cell(row, b.state, 'state-' + b.state)
        timeCell(row, b.connectedAt, true)
        cell(row, String(b.inFlight), 'num')
        cell(row, b.rttMs === null ? '–' : b.rttMs.toFixed(1), 'num')
        return row
      }))
    }
    updateBridgeChoice(bridges)
  }

  function updateBridgeChoice (bridges) {
    var names = Array.from(new Set(bridges.map(function (b) { return b.name }))).sort()
    var chosen = bridgeSelect.value
    if (chosen !== '' && names.indexOf(chosen) === -1) names.push(chosen)
    var key = names.join('\n')
    if (key === bridgeNames) return
    bridgeNames = key
    var any = document.createElement('option')
    any.value = ''
    any.textContent = 'any'
    bridgeSelect.replaceChildren.apply(bridgeSelect, [any].concat(names.map(function (name) {
      var option = document.createElement('option')
      option.value = name
      option.textContent = bridges.some(function (b) { return b.name === name }) ? name : name + ' (not connected)'
      return option
    })))
    bridgeSelect.value = chosen
  }

  function showCalls (calls) {
    var body = document.querySelector('#calls tbody')
    if (calls.length === 0) return emptyRow(body, 8, 'No call yet.')
    body.replaceChildren.apply(body, calls.map(function (c) {
      var row = document.createElement('tr')
      timeCell(row, c.time, false)
      cell(row, c.api)
      cell(row, c.bridge === null ? '–' : c.bridge)
      cell(row, c.method)
      cell(row, c.url, 'url', c.url)
      var failed = c.code !== null
      cell(row, failed ? c.code : String(c.status), failed ? 'fail' : 'ok')
      cell(row, c.durationMs.toFixed(1), 'num')
      cell(row, c.requestBytes + ' / ' + c.responseBytes, 'num')
      return row
    }))
  }

  function showJobs (jobs) {
    var body = document.querySelector('#jobs tbody')
    if (jobs.length === 0) return emptyRow(body, 7, 'No job defined.')
    body.replaceChildren.apply(body, jobs.map(function (j) {
      var row = document.createElement('tr')
      cell(row, j.name)
      cell(row, j.frequency)
      cell(row, j.bridge === null || j.bridge === undefined ? 'any' : j.bridge)
      cell(row, j.state, j.state === 'failed' ? 'fail' : j.state === 'succeeded' ? 'ok' : '')
      cell(row, String(j.runs), 'num')
      if (j.nextDueAt) timeCell(row, j.nextDueAt, true)
      else cell(row, '–')
      var last = j.lastRun
      cell(row, last ? last.state + (last.durationMs === undefined ? '' : ' in ' + Math.round(last.durationMs) + ' ms') : '–')
      return row
    }))
  }

  async function getJson (path) {
    var res = await api(path)
    if (res.status === 401) throw new Error('this cloud needs its API token: open this page as /?token=YOUR_API_TOKEN')
    if (!res.ok) throw new Error(path + ' answered ' + res.status)
    return res.json()
  }

  async function poll () {
    try {
      var answers = await Promise.all([getJson('/api/bridges'), getJson('/api/calls?limit=50'), getJson('/api/jobs')])
      showBridges(answers[0])
      showCalls(answers[1])
      showJobs(answers[2])
      var n = answers[0].length
      say(n === 1 ? '1 bridge connected' : n + ' bridges connected')
    } catch (err) {
      say('Cannot read the cloud: ' + err.message + ' (retrying)')
    }
    setTimeout(poll, POLL_MS)
  }

  // A live region: only real changes are written, so a screen reader is not told the same every second.
  function say (text) {
    if (statusLine.textContent !== text) statusLine.textContent = text
  }

  function parseHeaders (text) {
    var headers = {}
    var lines = text.split(/\r?\n/)
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i].trim()
      if (line === '') continue
      var colon = line.indexOf(':')
      if (colon < 1) throw new Error('line ' + (i + 1) + ' is not "name: value"')
      var name = line.slice(0, colon).trim().toLowerCase()
      var value = line.slice(colon + 1).trim()
      if (headers[name] === undefined) headers[name] = value
      else headers[name] = [].concat(headers[name], value)
    }
    return headers
  }

  function formatHeaders (headers) {
    return Object.keys(headers).map(function (name) {
      return [].concat(headers[name]).map(function (v) { return name + ': ' + v }).join('\n')
    }).join('\n')
  }

  function showAnswer (summary, ok, headers, body) {
    var status = $('result-status')
    status.textContent = summary
    status.className = ok ? 'ok' : 'fail'
    $('result-headers').textContent = headers
    $('result-body').textContent = body
  }

  async function send (event) {
    event.preventDefault()
    var headersField = $('call-headers')
    var call = { method: $('call-method').value, url: $('call-url').value }
    try {
      call.headers = parseHeaders(headersField.value)
      headersField.removeAttribute('aria-invalid')
    } catch (err) {
      headersField.setAttribute('aria-invalid', 'true')
      return showAnswer('Not sent: headers ' + err.message, false, '', '')
    }
    if ($('call-bridge').value !== '') call.bridge = $('call-bridge').value
    if ($('call-body').value !== '') call.body = $('call-body').value
    if ($('call-timeout').value !== '') call.timeoutMs = Number($('call-timeout').value)
    var button = $('call-send')
    button.disabled = true
    showAnswer('Sending…', true, '', '')
    var started = performance.now()
    try {
      var res = await api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(call) })
      var answer = await res.json()
      var ms = Math.round(performance.now() - started) + ' ms'
      if (answer.error) {
        showAnswer(answer.error.code + ' (HTTP ' + res.status + ', ' + ms + '): ' + answer.error.message, false, '', '')
      } else {
        var via = res.headers.get('x-outbridge-bridge')
        var body = answer.bodyEncoding === 'base64' ? '(base64) ' + answer.body : answer.body
        showAnswer(answer.status + (via ? ' via ' + via : '') + ' in ' + ms, answer.status < 400, formatHeaders(answer.headers), body)
      }
    } catch (err) {
      showAnswer('Failed: ' + err.message, false, '', '')
    } finally {
      button.disabled = false
    }
  }

  $('call-form').addEventListener('submit', send)
  poll()
})()
`
