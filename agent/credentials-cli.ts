/** `outbridge credentials set|list|remove`: the secret comes from stdin or a hidden prompt, never argv. */
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { CredentialError, MAX_SECRET_BYTES, NAME_PATTERN, invalid, validateShape, type CredentialType } from './credential-format.js'
import { CredentialStore } from './credentials.js'

/** Turns a store failure into a one-line message on `out`: exit 2 for bad input, 1 for the store. */
async function runAction (out: NodeJS.WritableStream, action: () => Promise<number>): Promise<number> {
  try {
    return await action()
  } catch (err) {
    if (!(err instanceof CredentialError)) throw err
    out.write(`${err.message}\n`)
    return err.code === 'INVALID_CREDENTIAL' ? 2 : 1
  }
}

async function readAll (stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    size += bytes.length
    if (size > MAX_SECRET_BYTES) throw invalid(`the secret is longer than ${MAX_SECRET_BYTES} bytes`)
    chunks.push(bytes)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads one line from a terminal without echo: readline in raw mode echoes only to a sink. */
async function promptHidden (stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream, prompt: string): Promise<string> {
  out.write(prompt)
  const sink = new Writable({ write (_chunk, _encoding, callback) { callback() } })
  const rl = createInterface({ input: stdin, output: sink, terminal: true, historySize: 0 })
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve)
      rl.once('SIGINT', () => { reject(invalid('cancelled')) })
      rl.once('close', () => { reject(invalid('no secret given')) })
    })
  } finally {
    rl.close()
    out.write('\n')
  }
}

/**
 * `outbridge credentials set NAME --type T [--username U] [--header-name H]`: reads the secret
 * from `stdin` (one trailing newline stripped; a prompt without echo when stdin is a TTY).
 * @returns 0 saved, 2 bad input, 1 store failure (with a one-line message on `out`)
 */
export async function credentialsSet (
  dataDir: string, name: string, opts: { type: CredentialType, username?: string, headerName?: string },
  stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream, env?: NodeJS.ProcessEnv
): Promise<number> {
  return await runAction(out, async () => {
    validateShape(name, opts)
    const isTty = (stdin as { isTTY?: boolean }).isTTY === true
    const raw = isTty ? await promptHidden(stdin, out, `secret for ${name}: `) : await readAll(stdin)
    const store = await CredentialStore.open(dataDir, { env })
    await store.set(name, { ...opts, secret: raw.replace(/\r?\n$/, '') })
    out.write(`saved credential ${name} (${opts.type})\n`)
    return 0
  })
}

/** `outbridge credentials list`: one `NAME\tTYPE[\tUSERNAME|HEADER]` line each, or `no credentials`. */
export async function credentialsList (dataDir: string, out: NodeJS.WritableStream, env?: NodeJS.ProcessEnv): Promise<number> {
  return await runAction(out, async () => {
    const summaries = (await CredentialStore.open(dataDir, { env })).list()
    if (summaries.length === 0) out.write('no credentials\n')
    for (const { name, type, username, headerName } of summaries) {
      out.write([name, type, username ?? headerName].filter((field) => field !== undefined).join('\t') + '\n')
    }
    return 0
  })
}

/** `outbridge credentials remove NAME`. @returns 0 removed, 1 not found or store failure, 2 bad name */
export async function credentialsRemove (dataDir: string, name: string, out: NodeJS.WritableStream, env?: NodeJS.ProcessEnv): Promise<number> {
  return await runAction(out, async () => {
    if (!NAME_PATTERN.test(name)) throw invalid('credential name must be 1-64 of A-Z a-z 0-9 . _ -')
    const removed = await (await CredentialStore.open(dataDir, { env })).remove(name)
    out.write(removed ? `removed credential ${name}\n` : `no credential named ${name}\n`)
    return removed ? 0 : 1
  })
}
