// Forwards spooled alerts to the collector as NDJSON batches over HTTP(S), at least once:
// the spool cursor moves only after a 2xx, so a crash between POST and ack resends the batch
// and the collector drops the copies by event.id.
// Retried (forever, with capped full-jitter backoff): network errors, 408, 429, 5xx, and
// anything else that is not a 4xx. Never retried: other 4xx (bad token, too large, invalid) —
// the same batch would fail the same way, and retrying it would block every later alert, so
// we count it, log it and move on.
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { Backoff, parseRetryAfter, type BackoffOptions } from './backoff.js';
import { ConfigFileError, Poster } from './http-forwarder-post.js';
import type { Spool, SpoolEntry } from './spool.js';

const gzip = promisify(zlib.gzip);

export interface ForwarderLogger {
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
}

export interface HttpForwarderOptions {
  url: string;
  spool: Spool;
  /** Spool consumer name (default "http"); one per forwarder. */
  name?: string;
  /** File holding the bearer token (read before each batch, so a rotated token is picked up). */
  tokenFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  batchMaxCount?: number;
  batchMaxBytes?: number;
  batchMaxWaitMs?: number;
  gzip?: boolean;
  backoff?: BackoffOptions;
  requestTimeoutMs?: number;
  /** How long stop() keeps sending what is left (default 5 s). */
  stopTimeoutMs?: number;
  now?: () => number;
  random?: () => number;
  logger?: ForwarderLogger;
}

export interface ForwarderStats {
  sent: number;
  batches: number;
  failures: number;
  retries: number;
  rejected4xx: number;
  lastError?: string;
}

type Outcome = { done: true } | { done: false; delayMs: number };

export class HttpForwarder {
  readonly stats: ForwarderStats = { sent: 0, batches: 0, failures: 0, retries: 0, rejected4xx: 0 };
  private readonly o: Required<Omit<HttpForwarderOptions, 'tokenFile' | 'caFile' | 'certFile' | 'keyFile' | 'logger'>>
    & Pick<HttpForwarderOptions, 'tokenFile' | 'logger'>;
  private readonly poster: Poster;
  private readonly backoff: Backoff;
  private running?: Promise<void>;
  private stopping = false;
  private wake?: () => void;
  private unsubscribe?: () => void;
  private abort = new AbortController();
  private failing = false;
  /** An append ends an idle or batch wait, never a backoff. */
  private wakeOnAppend = false;

  constructor(opts: HttpForwarderOptions) {
    this.o = {
      name: 'http', batchMaxCount: 500, batchMaxBytes: 1024 * 1024, batchMaxWaitMs: 1000, gzip: true,
      backoff: { baseMs: 500, capMs: 60_000 }, requestTimeoutMs: 30_000, stopTimeoutMs: 5000,
      now: Date.now, random: Math.random, ...opts,
    };
    this.poster = new Poster(opts.url, opts);
    // The token is read again for every request (a rotated token needs no restart), but a path
    // that is wrong from the start fails the start, naming the flag.
    if (opts.tokenFile !== undefined) checkTokenFile(opts.tokenFile);
    this.backoff = new Backoff(this.o.backoff, this.o.random);
  }

  start(): void {
    if (this.running) return;
    this.o.spool.consumer(this.o.name);
    this.unsubscribe = this.o.spool.onAppend(() => {
      if (this.wakeOnAppend) this.wake?.();
    });
    this.running = this.loop();
  }

  /** Stops the loop, then sends what it can within stopTimeoutMs (no waiting on a failing collector). */
  async stop(): Promise<void> {
    if (!this.running || this.stopping) return;
    this.stopping = true;
    const deadline = this.o.now() + this.o.stopTimeoutMs;
    const timer = setTimeout(() => this.abort.abort(new Error('forwarder stopping')), this.o.stopTimeoutMs);
    this.wake?.();
    try {
      await this.running;
      while (this.o.spool.depth(this.o.name) > 0 && this.o.now() < deadline) {
        if (!(await this.sendOnce()).done) break;
      }
    } catch { /* a closed spool or an aborted request: nothing more to flush */ } finally {
      clearTimeout(timer);
      this.unsubscribe?.();
      this.poster.close();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.o.spool.depth(this.o.name) === 0) {
        await this.sleep(60_000, true);
        continue;
      }
      await this.waitForBatch();
      if (this.stopping) return;
      const outcome = await this.sendOnce().catch((err: unknown): Outcome => {
        this.noteFailure(`spool: ${String(err)}`);
        return { done: false, delayMs: this.backoff.next() };
      });
      if (!outcome.done) {
        await this.sleep(outcome.delayMs, false);
        if (!this.stopping) this.stats.retries++;
      }
    }
  }

  /** Waits until a full batch (by count or bytes) is pending, or batchMaxWaitMs has passed. */
  private async waitForBatch(): Promise<void> {
    if (this.failing) return; // a retry goes out as soon as its backoff ends
    const start = this.o.now();
    const { spool, name } = this.o;
    while (!this.stopping && spool.depth(name) < this.o.batchMaxCount && spool.pendingBytes(name) < this.o.batchMaxBytes) {
      const left = this.o.batchMaxWaitMs - (this.o.now() - start);
      if (left <= 0) return;
      await this.sleep(left, true);
    }
  }

  private async sendOnce(): Promise<Outcome> {
    const batch = await this.o.spool.readBatch(this.o.name, this.o.batchMaxCount, this.o.batchMaxBytes);
    if (batch.length === 0) return { done: true };
    let res;
    try {
      res = await this.poster.post(await this.body(batch), await this.headers(), this.o.requestTimeoutMs, this.abort.signal);
    } catch (err) {
      this.noteFailure((err as Error).message ?? String(err));
      return { done: false, delayMs: this.backoff.next() };
    }
    const last = batch[batch.length - 1].seq;
    if (res.status >= 200 && res.status < 300) {
      await this.o.spool.ack(this.o.name, last);
      this.stats.sent += batch.length;
      this.stats.batches++;
      this.recovered();
      return { done: true };
    }
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
      this.stats.rejected4xx += batch.length;
      this.stats.lastError = `HTTP ${res.status}: ${res.body.slice(0, 200)}`;
      this.o.logger?.warn('collector rejected a batch; not retrying it', { status: res.status, alerts: batch.length, body: res.body.slice(0, 500) });
      await this.o.spool.ack(this.o.name, last);
      this.recovered();
      return { done: true };
    }
    this.noteFailure(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    const delayMs = parseRetryAfter(res.retryAfter, this.o.now()) ?? this.backoff.next();
    return { done: false, delayMs };
  }

  private async body(batch: SpoolEntry[]): Promise<Buffer> {
    const text = Buffer.from(batch.map((e) => e.json).join('\n') + '\n', 'utf8');
    return this.o.gzip ? gzip(text) : text;
  }

  private async headers(): Promise<Record<string, string>> {
    const h: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (this.o.gzip) h['content-encoding'] = 'gzip';
    if (this.o.tokenFile !== undefined) {
      const token = (await fs.readFile(this.o.tokenFile, 'utf8')).trim();
      h.authorization = `Bearer ${token}`;
    }
    return h;
  }

  private noteFailure(message: string): void {
    this.stats.failures++;
    this.stats.lastError = message;
    // One line when the collector goes away, then one every 10 failures (the cap keeps that to
    // about one line per 10 minutes), so an outage is visible without flooding the log.
    if (!this.failing || this.stats.failures % 10 === 0) {
      this.o.logger?.warn('alert forwarding failed; will retry', { url: this.o.url, error: message, pending: this.o.spool.depth(this.o.name) });
    }
    this.failing = true;
  }

  private recovered(): void {
    if (this.failing) this.o.logger?.info('alert forwarding recovered', { url: this.o.url, attempts: this.backoff.attempts });
    this.failing = false;
    this.backoff.reset();
  }

  private sleep(ms: number, wakeOnAppend: boolean): Promise<void> {
    this.wakeOnAppend = wakeOnAppend;
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function checkTokenFile(file: string): void {
  let text: string;
  try {
    text = fsSync.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`cannot read --collector-token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)} `
      + '(fix: point it at a readable file holding the bearer token the collector gave this agent)');
  }
  if (text.trim() === '') throw new ConfigFileError(`--collector-token-file ${file} is empty (fix: write the bearer token into it)`);
}
