// proxy-from-env ships no type declarations.
declare module 'proxy-from-env' {
  /** The proxy URL for `url` from HTTP(S)_PROXY / NO_PROXY (process.env), or '' for none. */
  export function getProxyForUrl (url: string): string
}
