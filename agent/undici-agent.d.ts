/**
 * Types for the one undici module the executor loads. undici's index also loads fetch, its
 * WebSocket, caching and mocking, about 9 MiB of resident memory a bridge never uses, so the
 * executor imports the Agent class from its own file (undici has no `exports` map).
 */
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici'
  const AgentClass: typeof Agent
  export default AgentClass
}
