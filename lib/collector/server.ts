// The reference collector's HTTP(S) front: POST /api/alerts (NDJSON, optionally gzip),
// GET /api/alerts (query with a cursor), GET /healthz. Every /api request needs a per-agent
// bearer token. Bodies are limited before and after decompression (a gzip bomb is a 413 too).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { Tokens } from './tokens.js';
import { CollectorStore, type QueryFilter } from './store.js';
import { parseBatch } from './validate.js';

export interface CollectorLogger {
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
}

export interface CollectorOptions {
  listen: { host: string; port: number };
  stateDir: string;
  tokensFile: string;
  alertsFile: string;
  tlsCert?: string;
  tlsKey?: string;
  /**
   * CA bundle (PEM) that agents' client certificates must chain to (mutual TLS). When set, a
   * connection without a certificate signed by it is refused in the TLS handshake, before any
   * HTTP; the bearer token is still required on top (the certificate says "one of our hosts",
   * the token says which agent). Needs tlsCert and tlsKey.
   */
  tlsClientCa?: string;
  /** Largest request body, compressed or not (default 10 MiB). */
  maxBodyBytes?: number;
  now?: () => number;
  logger?: CollectorLogger;
}

export interface Collector {
  port: number;
  readonly store: CollectorStore;
  close(): Promise<void>;
}

/** Past this many discarded bytes of an oversized body we drop the connection instead of draining it. */
const DRAIN_MAX = 64 * 1024 * 1024;
const QUERY_LIMIT_MAX = 1000;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A collector setting that cannot be used (TLS files); the message names the flag and the fix. */
export class CollectorConfigError extends Error {
  override name = 'CollectorConfigError';
}

export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  const tokens = new Tokens(opts.tokensFile);
  const tls = opts.tlsCert !== undefined || opts.tlsKey !== undefined;
  if (tls && (opts.tlsCert === undefined || opts.tlsKey === undefined)) {
    throw new CollectorConfigError('collector TLS needs both --tls-cert and --tls-key');
  }
  if (opts.tlsClientCa !== undefined && !tls) {
    throw new CollectorConfigError('--tls-client-ca needs --tls-cert and --tls-key (client certificates are only asked for over TLS)');
  }
  const tlsOptions = tls ? serverTls(opts) : undefined;
  const store = await CollectorStore.open(opts.stateDir, opts.alertsFile, (what) => {
    opts.logger?.warn('collector store was damaged (a crash?) and LevelDB repaired it; alerts in files it could not read are lost', { dir: opts.stateDir, damage: what });
  });
  const ctx = { tokens, store, maxBody: opts.maxBodyBytes ?? 10 * 1024 * 1024, now: opts.now ?? Date.now, logger: opts.logger };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(ctx, req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) opts.logger?.warn('collector request failed', { error: String(err) });
      send(res, status, { error: (err as Error).message });
    });
  };
  let server: http.Server | https.Server;
  try {
    server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  } catch (err) {
    // Unreadable PEM content, or a key that is not the certificate's: OpenSSL's words, our flags.
    await store.close();
    const files = [`--tls-cert ${opts.tlsCert}`, `--tls-key ${opts.tlsKey}`, ...(opts.tlsClientCa ? [`--tls-client-ca ${opts.tlsClientCa}`] : [])].join(', ');
    throw new CollectorConfigError(`cannot use the collector's TLS files (${files}): ${(err as Error).message} `
      + '(fix: a PEM certificate, its PEM private key, and for --tls-client-ca a PEM CA certificate)', { cause: err });
  }
  if (tlsOptions?.requestCert) {
    // A refused handshake never reaches the handler; say who was turned away and why.
    server.on('tlsClientError', (err: Error, socket: { remoteAddress?: string }) => {
      opts.logger?.warn('collector refused a TLS client', { remoteAddress: socket.remoteAddress, error: err.message });
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.listen.port;
  opts.logger?.info('collector listening', { host: opts.listen.host, port, tls, clientCertificates: tlsOptions?.requestCert === true });
  return {
    port,
    store,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}

type Ctx = { tokens: Tokens; store: CollectorStore; maxBody: number; now: () => number; logger?: CollectorLogger };

async function handle(ctx: Ctx, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://collector');
  if (url.pathname === '/healthz' && req.method === 'GET') return send(res, 200, { status: 'ok' });
  if (url.pathname !== '/api/alerts') throw new HttpError(404, 'not found');
  const agent = ctx.tokens.check(req.headers.authorization);
  if (agent === undefined) {
    req.resume();
    res.setHeader('www-authenticate', 'Bearer');
    throw new HttpError(401, 'missing or unknown bearer token');
  }
  if (req.method === 'POST') {
    const text = await readBody(req, ctx.maxBody);
    const batch = parseBatch(text);
    if ('error' in batch) throw new HttpError(400, batch.error);
    const result = await ctx.store.ingest(batch.alerts, ctx.now());
    return send(res, 200, result);
  }
  if (req.method === 'GET') return send(res, 200, await ctx.store.query(queryFilter(url.searchParams)));
  res.setHeader('allow', 'GET, POST');
  throw new HttpError(405, 'method not allowed');
}

function queryFilter(q: URLSearchParams): QueryFilter {
  const f: QueryFilter = { limit: 100 };
  const since = q.get('since');
  if (since !== null) {
    f.since = Date.parse(since);
    if (Number.isNaN(f.since)) throw new HttpError(400, 'since must be an ISO 8601 date');
  }
  for (const k of ['host', 'software', 'group', 'novelty'] as const) {
    const v = q.get(k);
    if (v !== null && v !== '') f[k] = v;
  }
  const limit = q.get('limit');
  if (limit !== null) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1) throw new HttpError(400, 'limit must be a positive integer');
    f.limit = Math.min(Number(limit), QUERY_LIMIT_MAX);
  }
  const cursor = q.get('cursor');
  if (cursor !== null && cursor !== '') {
    if (!/^\d+$/.test(cursor)) throw new HttpError(400, 'cursor must be the "next" value of a previous answer');
    f.cursor = Number(cursor);
  }
  return f;
}

/** Reads the body within the limit (413 otherwise, after draining so the client sees the answer). */
async function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const chunks: Buffer[] = [];
  let size = 0;
  let over = declared > max;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) over = true;
    if (over) {
      chunks.length = 0;
      if (size > DRAIN_MAX) req.destroy();
      continue;
    }
    chunks.push(chunk);
  }
  if (over) throw new HttpError(413, `request body larger than ${max} bytes`);
  let body = Buffer.concat(chunks);
  const enc = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (enc === 'gzip') {
    try {
      body = zlib.gunzipSync(body, { maxOutputLength: max });
    } catch (err) {
      if (err instanceof RangeError) throw new HttpError(413, `decompressed body larger than ${max} bytes`);
      throw new HttpError(400, `bad gzip body: ${(err as Error).message}`);
    }
  } else if (enc !== 'identity') {
    throw new HttpError(415, `unsupported content-encoding ${enc} (gzip or identity)`);
  }
  return body.toString('utf8');
}

/** Certificate, key and (mutual TLS) the client CA, read at start so a bad path fails there. */
function serverTls(opts: CollectorOptions): https.ServerOptions {
  const base: https.ServerOptions = { cert: readPem(opts.tlsCert as string, '--tls-cert'), key: readPem(opts.tlsKey as string, '--tls-key') };
  if (opts.tlsClientCa === undefined) return base;
  // rejectUnauthorized: the handshake fails for no certificate or one that does not chain to
  // this CA (Node checks validity dates too); requestCert alone would only ask.
  return { ...base, ca: readPem(opts.tlsClientCa, '--tls-client-ca'), requestCert: true, rejectUnauthorized: true };
}

function readPem(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CollectorConfigError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (fix: point ${flag} at a readable PEM file)`, { cause: err });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
}
