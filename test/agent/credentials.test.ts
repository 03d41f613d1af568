import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { CredentialStore, type CredentialInput } from '../../agent/credentials.js'
import { credentialsList, credentialsRemove, credentialsSet } from '../../agent/credentials-cli.js'

const NO_ENV: NodeJS.ProcessEnv = {}

async function withDir (fn: (dataDir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'outbridge-credentials-'))
  try {
    await fn(join(root, 'data'))
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

function capture (): { out: PassThrough, text: () => string } {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (chunk: Buffer) => chunks.push(chunk))
  return { out, text: () => Buffer.concat(chunks).toString('utf8') }
}

function envWithKey (key: Buffer): NodeJS.ProcessEnv {
  return { OUTBRIDGE_CREDENTIALS_KEY: key.toString('base64') }
}

async function rejectsWith (promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code)
    assert.equal((err as Error).name, 'CredentialError')
    return true
  })
}

test('set, list, headerFor and remove round-trip, and survive reopening', async () => {
  await withDir(async (dataDir) => {
    const store = await CredentialStore.open(dataDir, { env: NO_ENV })
    await store.set('erp', { type: 'bearer', secret: 'tok-1' })
    await store.set('crm.prod', { type: 'basic', username: 'alice', secret: 'p:w é' })
    await store.set('api_key', { type: 'header', headerName: 'X-Api-Key', secret: 'k-9' })
    assert.deepEqual(store.list(), [
      { name: 'api_key', type: 'header', headerName: 'x-api-key' },
      { name: 'crm.prod', type: 'basic', username: 'alice' },
      { name: 'erp', type: 'bearer' }
    ])
    assert.deepEqual(store.headerFor('erp'), ['authorization', 'Bearer tok-1'])
    assert.deepEqual(store.headerFor('crm.prod'), ['authorization', `Basic ${Buffer.from('alice:p:w é').toString('base64')}`])
    assert.deepEqual(store.headerFor('api_key'), ['x-api-key', 'k-9'])
    assert.equal(store.headerFor('nope'), undefined)

    const reopened = await CredentialStore.open(dataDir, { env: NO_ENV })
    assert.deepEqual(reopened.headerFor('erp'), ['authorization', 'Bearer tok-1'])
    await reopened.set('erp', { type: 'bearer', secret: 'tok-2' })
    assert.equal(await reopened.remove('crm.prod'), true)
    assert.equal(await reopened.remove('crm.prod'), false)
    assert.deepEqual(reopened.list().map((c) => c.name), ['api_key', 'erp'])
    assert.deepEqual(reopened.headerFor('erp'), ['authorization', 'Bearer tok-2'])
  })
})

test('the files on disk hold no plaintext and have private modes', async () => {
  await withDir(async (dataDir) => {
    const store = await CredentialStore.open(dataDir, { env: NO_ENV })
    await store.set('zebra-credential-name', { type: 'basic', username: 'quokka-user', secret: 'platypus-secret' })
    const blob = await readFile(join(dataDir, 'credentials.enc'))
    for (const plain of ['zebra-credential-name', 'quokka-user', 'platypus-secret', 'basic', 'entries']) {
      assert.equal(blob.includes(plain), false, plain)
    }
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700)
    assert.equal((await stat(join(dataDir, 'credentials.key'))).mode & 0o777, 0o600)
    assert.equal((await stat(join(dataDir, 'credentials.enc'))).mode & 0o777, 0o600)
    assert.equal(Buffer.from((await readFile(join(dataDir, 'credentials.key'), 'utf8')).trim(), 'base64').length, 32)
  })
})

test('opening a store creates nothing until the first set', async () => {
  await withDir(async (dataDir) => {
    const store = await CredentialStore.open(dataDir, { env: NO_ENV })
    assert.deepEqual(store.list(), [])
    await assert.rejects(stat(dataDir), { code: 'ENOENT' })
  })
})

test('a wrong key fails with CREDENTIAL_STORE', async () => {
  await withDir(async (dataDir) => {
    const store = await CredentialStore.open(dataDir, { env: envWithKey(randomBytes(32)) })
    await store.set('erp', { type: 'bearer', secret: 'tok' })
    await rejectsWith(CredentialStore.open(dataDir, { env: envWithKey(randomBytes(32)) }), 'CREDENTIAL_STORE')
    await rejectsWith(CredentialStore.open(dataDir, { key: randomBytes(32) }), 'CREDENTIAL_STORE')
    // the store was written with the env key, so no key file exists to fall back on
    await rejectsWith(CredentialStore.open(dataDir, { env: NO_ENV }), 'CREDENTIAL_STORE')
  })
})

test('a tampered or foreign file fails with CREDENTIAL_STORE', async () => {
  await withDir(async (dataDir) => {
    await (await CredentialStore.open(dataDir, { env: NO_ENV })).set('erp', { type: 'bearer', secret: 'tok' })
    const path = join(dataDir, 'credentials.enc')
    const original = await readFile(path)
    const tamper = async (offset: number): Promise<void> => {
      const copy = Buffer.from(original)
      copy[offset] = (copy[offset] as number) ^ 1
      await writeFile(path, copy)
      await rejectsWith(CredentialStore.open(dataDir, { env: NO_ENV }), 'CREDENTIAL_STORE')
    }
    await tamper(original.length - 1) // ciphertext
    await tamper(6) // version byte
    await tamper(0) // magic
    await tamper(10) // IV
    await writeFile(path, 'not a store')
    await rejectsWith(CredentialStore.open(dataDir, { env: NO_ENV }), 'CREDENTIAL_STORE')
    await writeFile(path, original)
    assert.equal((await CredentialStore.open(dataDir, { env: NO_ENV })).list().length, 1)
  })
})

test('a key from the environment is used instead of a key file', async () => {
  await withDir(async (dataDir) => {
    const env = envWithKey(randomBytes(32))
    await (await CredentialStore.open(dataDir, { env })).set('erp', { type: 'bearer', secret: 'tok' })
    await assert.rejects(stat(join(dataDir, 'credentials.key')), { code: 'ENOENT' })
    assert.deepEqual((await CredentialStore.open(dataDir, { env })).headerFor('erp'), ['authorization', 'Bearer tok'])
    for (const bad of ['short', randomBytes(16).toString('base64'), '!!!!']) {
      await rejectsWith(CredentialStore.open(dataDir, { env: { OUTBRIDGE_CREDENTIALS_KEY: bad } }), 'CREDENTIAL_STORE')
    }
  })
})

test('refuses invalid credentials with INVALID_CREDENTIAL and never echoes the secret', async () => {
  await withDir(async (dataDir) => {
    const store = await CredentialStore.open(dataDir, { env: NO_ENV })
    const secret = 'SENSITIVE'
    const cases: Array<[string, CredentialInput]> = [
      ['', { type: 'bearer', secret }],
      ['has space', { type: 'bearer', secret }],
      ['x'.repeat(65), { type: 'bearer', secret }],
      ['ok', { type: 'other' as 'bearer', secret }],
      ['ok', { type: 'bearer', secret: '' }],
      ['ok', { type: 'bearer', secret: `${secret}\n` }],
      ['ok', { type: 'bearer', secret: `${secret}\r` }],
      ['ok', { type: 'bearer', secret: `${secret}\0` }],
      ['ok', { type: 'bearer', secret, username: 'u' }],
      ['ok', { type: 'basic', secret }],
      ['ok', { type: 'basic', secret, username: 'a:b' }],
      ['ok', { type: 'basic', secret, username: 'a\tb' }],
      ['ok', { type: 'header', secret }],
      ['ok', { type: 'header', secret, headerName: 'x y' }],
      ['ok', { type: 'header', secret, headerName: 'Host' }],
      ['ok', { type: 'header', secret, headerName: 'transfer-encoding' }],
      ['ok', { type: 'header', secret, headerName: 'Connection' }]
    ]
    for (const [name, input] of cases) {
      await assert.rejects(store.set(name, input), (err: unknown) => {
        assert.equal((err as { code?: unknown }).code, 'INVALID_CREDENTIAL', JSON.stringify([name, input]))
        assert.equal((err as Error).message.includes(secret), false)
        return true
      })
    }
    assert.deepEqual(store.list(), [])
  })
})

test('reload picks up a credential set by another process', async () => {
  await withDir(async (dataDir) => {
    const agentStore = await CredentialStore.open(dataDir, { env: NO_ENV })
    await (await CredentialStore.open(dataDir, { env: NO_ENV })).set('late', { type: 'bearer', secret: 'tok' })
    assert.equal(agentStore.headerFor('late'), undefined)
    await agentStore.reload()
    assert.deepEqual(agentStore.headerFor('late'), ['authorization', 'Bearer tok'])
  })
})

test('credentialsSet reads the secret from a stream, stripping one trailing newline', async () => {
  await withDir(async (dataDir) => {
    const { out, text } = capture()
    assert.equal(await credentialsSet(dataDir, 'erp', { type: 'bearer' }, Readable.from(['to', 'k \r\n']), out, NO_ENV), 0)
    assert.equal(await credentialsSet(dataDir, 'crm', { type: 'basic', username: 'bob' }, Readable.from(['pw']), out, NO_ENV), 0)
    const store = await CredentialStore.open(dataDir, { env: NO_ENV })
    assert.deepEqual(store.headerFor('erp'), ['authorization', 'Bearer tok '])
    assert.deepEqual(store.headerFor('crm'), ['authorization', `Basic ${Buffer.from('bob:pw').toString('base64')}`])
    assert.equal(text().includes('tok'), false)
  })
})

test('credentialsSet exits 2 with one line on bad input', async () => {
  await withDir(async (dataDir) => {
    for (const [name, opts, input] of [
      ['bad name', { type: 'bearer' }, 'tok\n'],
      ['ok', { type: 'basic' }, 'tok\n'],
      ['ok', { type: 'bearer' }, 'two\nlines\n'],
      ['ok', { type: 'bearer' }, '\n'],
      ['ok', { type: 'bearer' }, 'x'.repeat(70_000)]
    ] as const) {
      const { out, text } = capture()
      assert.equal(await credentialsSet(dataDir, name, opts, Readable.from([input]), out, NO_ENV), 2)
      assert.match(text(), /^[^\n]+\n$/)
    }
  })
})

test('credentialsSet prompts without echo when stdin is a terminal', async () => {
  await withDir(async (dataDir) => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode (mode: boolean) { stdin.isRaw = mode; return stdin } })
    const { out, text } = capture()
    const done = credentialsSet(dataDir, 'erp', { type: 'bearer' }, stdin, out, NO_ENV)
    stdin.write('s3cret-typed\r')
    assert.equal(await done, 0)
    assert.match(text(), /secret for erp: /)
    assert.equal(text().includes('s3cret-typed'), false)
    assert.equal(stdin.isRaw, false)
    assert.deepEqual((await CredentialStore.open(dataDir, { env: NO_ENV })).headerFor('erp'), ['authorization', 'Bearer s3cret-typed'])
  })
})

test('credentialsList and credentialsRemove print names and exit codes', async () => {
  await withDir(async (dataDir) => {
    const empty = capture()
    assert.equal(await credentialsList(dataDir, empty.out, NO_ENV), 0)
    assert.equal(empty.text(), 'no credentials\n')
    const store = await CredentialStore.open(dataDir, { env: NO_ENV })
    await store.set('b', { type: 'basic', username: 'bob', secret: 'pw-b' })
    await store.set('a', { type: 'bearer', secret: 'tok-a' })
    await store.set('c', { type: 'header', headerName: 'X-Key', secret: 'key-c' })
    const listed = capture()
    assert.equal(await credentialsList(dataDir, listed.out, NO_ENV), 0)
    assert.equal(listed.text(), 'a\tbearer\nb\tbasic\tbob\nc\theader\tx-key\n')

    const removal = capture()
    assert.equal(await credentialsRemove(dataDir, 'b', removal.out, NO_ENV), 0)
    assert.equal(await credentialsRemove(dataDir, 'b', removal.out, NO_ENV), 1)
    assert.equal(await credentialsRemove(dataDir, 'bad name', removal.out, NO_ENV), 2)
    assert.equal(removal.text().split('\n').length, 4)
    assert.deepEqual((await CredentialStore.open(dataDir, { env: NO_ENV })).list().map((c) => c.name), ['a', 'c'])
  })
})

test('the CLI actions report a store they cannot open with exit 1', async () => {
  await withDir(async (dataDir) => {
    await (await CredentialStore.open(dataDir, { env: NO_ENV })).set('a', { type: 'bearer', secret: 'tok' })
    const { out, text } = capture()
    const wrongKey = envWithKey(randomBytes(32))
    assert.equal(await credentialsList(dataDir, out, wrongKey), 1)
    assert.equal(await credentialsRemove(dataDir, 'a', out, wrongKey), 1)
    assert.equal(await credentialsSet(dataDir, 'b', { type: 'bearer' }, Readable.from(['tok']), out, wrongKey), 1)
    assert.equal(text().split('\n').length, 4)
  })
})
