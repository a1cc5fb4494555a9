// collector: the reference receiver for agents' forwarded alerts (HTTP(S), per-agent tokens,
// dedup by event.id, deployment-wide novelty, query API).
export { startCollector, type Collector, type CollectorOptions, type CollectorLogger } from './server.js';
export { CollectorStore, type QueryFilter, type IngestResult } from './store.js';
export { Tokens, TokenFileError, parseTokens } from './tokens.js';
export { parseBatch, validateLine, field } from './validate.js';
