import assert from 'node:assert/strict'
import { get } from 'node:http'
import { after, before, test } from 'node:test'
import { startSampleTarget } from '../../agent/sample-target.js'
import type { SampleTarget } from '../../agent/sample-target.js'
import { stopChild } from '../../bench/processes.js'
import { sshMissing, startSshTunnel } from '../../bench/ssh-tunnel.js'

let target: SampleTarget
before(async () => { target = await startSampleTarget() })
after(async () => { await target.close() })

function fetchText (url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (text: string) => { body += text })
      res.once('end', () => resolve(body))
    }).once('error', reject)
  })
}

test('a private sshd and ssh -R forward a loopback port to the target', { skip: sshMissing() }, async () => {
  const tunnel = await startSshTunnel(target.port)
  try {
    assert.equal(await fetchText(`http://127.0.0.1:${tunnel.port}/hello`), 'hello from the private network\n')
  } finally {
    await stopChild(tunnel.client)
    await stopChild(tunnel.server)
    tunnel.cleanup()
  }
})
