// The syslog forwarder: reads alerts from the durable spool, sends them to a relay as RFC 5424
// messages in RFC 6587 octet-counted frames over TCP or TLS (RFC 5425), and acknowledges them
// in the spool once delivered as far as TCP can tell.
//
// Delivery is at least once, and "delivered" has a limit worth knowing. Syslog over TCP has no
// application acknowledgement (RELP has; it is out of scope). A batch is acknowledged in the
// spool after (1) the write callback reported the bytes handed to the kernel and (2) the
// connection stayed whole for `settleMs` afterwards. A relay that died or restarted before
// reading them answers our bytes with a reset within a round trip, which (2) catches, and the
// batch is sent again on the next connection: duplicates are possible, and each alert keeps its
// event.id for the collector to deduplicate on. What (2) cannot see: a relay that read the bytes
// into its own memory queue and then crashed, or a round trip longer than `settleMs`. The first
// is the relay's durability (a disk-assisted queue, docs/forwarding.md); for the second raise
// `settleMs` above the link's round trip.
import tls from 'node:tls';
import { Backoff, type BackoffOptions } from './backoff.js';
import { loadTlsOptions, parseSyslogUrl, Sleeper, SyslogConnection, type SyslogTarget } from './syslog-conn.js';
import { formatRfc5424, frameOctetCounted, type Rfc5424Options } from './syslog-format.js';

/** One spooled alert. */
export interface SpoolRecord {
  seq: number;
  alert: Record<string, unknown>;
  /** Its JSON.stringify text when the spool keeps it (Spool does): the message is made from it. */
  json?: string;
}

/**
 * What the forwarder needs from the spool. `readBatch` returns records after the consumer's
 * position; the forwarder reads again only after acknowledging everything it read, so either
 * spool behaviour (re-delivering from the acknowledged position, or from a read cursor) works.
 */
export interface SpoolLike<C = unknown> {
  consumer?(name: string): C | void | Promise<C | void>;
  readBatch(consumer: C, max: number, maxBytes: number): Promise<SpoolRecord[]>;
  ack(consumer: C, upToSeq: number): Promise<void> | void;
  /** When the spool offers it, an append wakes the forwarder instead of waiting for the poll. */
  onAppend?(fn: () => void): () => void;
}

export interface SyslogLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export interface SyslogForwarderOptions {
  /** tcp://HOST:PORT or tls://HOST:PORT */
  url: string;
  spool: SpoolLike<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the consumer handle is the spool's own type
  /** Spool consumer name (default "syslog"). */
  name?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** TLS server name to verify, when the URL's host is not the name in the certificate. */
  servername?: string;
  hostName: string;
  appName?: string;
  facility?: number;
  severity?: number;
  bom?: boolean;
  backoff?: BackoffOptions;
  /** Alerts per write (default 200) and their bytes (default 1 MiB). */
  batchMax?: number;
  batchMaxBytes?: number;
  /** Quiet time after a write before acknowledging (default 250 ms); see the file comment. */
  settleMs?: number;
  /** Poll interval while the spool is empty (default 500 ms); `nudge()` cuts it short. */
  pollMs?: number;
  connectTimeoutMs?: number;
  writeTimeoutMs?: number;
  logger?: SyslogLogger;
  /** For tests: the jitter source, default Math.random. */
  random?: () => number;
}

export interface SyslogStats {
  /** Alerts written and acknowledged in the spool. */
  sent: number;
  /** Connection attempts that failed plus connections lost with alerts in flight or idle. */
  failures: number;
  /** Alerts written again after a connection was lost before they were acknowledged. */
  retries: number;
  connected: boolean;
}

export class SyslogForwarder {
  readonly stats: SyslogStats = { sent: 0, failures: 0, retries: 0, connected: false };
  private readonly target: SyslogTarget;
  private readonly tlsOpts: tls.ConnectionOptions | undefined;
  private readonly format: Rfc5424Options;
  private readonly o: Required<Pick<SyslogForwarderOptions,
    'name' | 'batchMax' | 'batchMaxBytes' | 'settleMs' | 'pollMs' | 'connectTimeoutMs' | 'writeTimeoutMs'>>;
  private readonly backoff: Backoff;
  /** The idle wait: ended by new data, a broken connection or stop. */
  private readonly sleeper = new Sleeper();
  /** The backoff wait: ended only by stop, so appends cannot hurry a fleet's reconnects. */
  private readonly backoffSleeper = new Sleeper();
  private conn: SyslogConnection | undefined;
  private abortConnect: (() => void) | undefined;
  /** Read from the spool, not yet acknowledged: sent again after a reconnect. */
  private pending: SpoolRecord[] = [];
  private pendingWritten = false;
  private lastAcked = -Infinity;
  private unsubscribe: (() => void) | undefined;
  private wasLost = false;
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: SyslogForwarderOptions) {
    this.target = parseSyslogUrl(opts.url);
    this.tlsOpts = this.target.tls ? loadTlsOptions(opts) : undefined;
    this.format = {
      hostName: opts.hostName, appName: opts.appName, facility: opts.facility, severity: opts.severity,
      bom: opts.bom, procId: String(process.pid),
    };
    formatRfc5424({}, this.format); // header fields are configuration: bad ones fail here
    this.o = {
      name: opts.name ?? 'syslog',
      batchMax: opts.batchMax ?? 200, batchMaxBytes: opts.batchMaxBytes ?? 1 << 20, settleMs: opts.settleMs ?? 250,
      pollMs: opts.pollMs ?? 500, connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      writeTimeoutMs: opts.writeTimeoutMs ?? 30_000,
    };
    this.backoff = new Backoff(opts.backoff ?? { baseMs: 500, capMs: 60_000 }, opts.random);
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.unsubscribe = this.opts.spool.onAppend?.(() => this.sleeper.wake());
    this.loop = this.run().catch((err: Error) => {
      this.opts.logger?.warn('syslog forwarder stopped on an error', { error: err.message });
    });
  }

  /** New alerts are in the spool: skip the rest of the poll wait. */
  nudge(): void {
    this.sleeper.wake();
  }

  /** Stops after the batch in flight (bounded by the write timeout); unacknowledged alerts stay spooled. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper.wake();
    this.backoffSleeper.wake();
    this.abortConnect?.();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.loop;
    this.loop = undefined;
    await this.conn?.close(1000);
    this.dropConnection();
  }

  private async run(): Promise<void> {
    // A spool's consumer() may return a handle, or register the name and return nothing.
    const handle: unknown = await this.opts.spool.consumer?.(this.o.name);
    const consumer = handle === undefined ? this.o.name : handle;
    while (!this.stopping) {
      if (!this.conn || this.conn.brokenReason) {
        if (this.conn) this.lost(this.conn.brokenReason);
        await this.connect();
        continue;
      }
      try {
        if (this.pending.length === 0 && !(await this.refill(consumer))) {
          await this.sleeper.sleep(this.o.pollMs);
          continue;
        }
        if (await this.sendPending(this.conn)) await this.acknowledge(consumer);
      } catch (err) {
        // The spool failed (read or ack), not the relay: say so and try again after a poll.
        this.opts.logger?.warn('syslog forwarder: spool error', { error: (err as Error).message });
        await this.sleeper.sleep(this.o.pollMs);
      }
    }
  }

  private async refill(consumer: unknown): Promise<boolean> {
    const batch = await this.opts.spool.readBatch(consumer, this.o.batchMax, this.o.batchMaxBytes);
    this.pending = batch.filter((r) => r.seq > this.lastAcked);
    this.pendingWritten = false;
    return this.pending.length > 0;
  }

  private async acknowledge(consumer: unknown): Promise<void> {
    const upTo = this.pending[this.pending.length - 1].seq;
    await this.opts.spool.ack(consumer, upTo);
    this.lastAcked = upTo;
    this.stats.sent += this.pending.length;
    this.pending = [];
    this.pendingWritten = false;
  }

  /** Writes the pending batch and waits out the settle time; false if the connection broke. */
  private async sendPending(conn: SyslogConnection): Promise<boolean> {
    if (this.pendingWritten) this.stats.retries += this.pending.length;
    this.pendingWritten = true;
    const frames = this.pending.map((r) => frameOctetCounted(formatRfc5424(r.alert, this.format, r.json)));
    try {
      await conn.write(Buffer.concat(frames), this.o.writeTimeoutMs);
    } catch (err) {
      conn.fail(err as Error); // the loop sees the broken connection and reconnects
      return false;
    }
    return conn.settle(this.o.settleMs);
  }

  private async connect(): Promise<void> {
    if (this.backoff.attempts > 0 || this.wasLost) {
      // After a failure or a lost connection: a jittered wait, widening while it keeps failing.
      this.wasLost = false;
      await this.backoffSleeper.sleep(this.backoff.next());
      if (this.stopping) return;
    }
    const { conn, abort } = SyslogConnection.open(this.target, this.tlsOpts, this.o.connectTimeoutMs);
    this.abortConnect = abort;
    try {
      this.conn = await conn;
      this.stats.connected = true;
      this.conn.onBreak(() => {
        this.stats.connected = false;
        this.sleeper.wake();
      });
      if (this.backoff.attempts > 0) this.opts.logger?.info('syslog relay connected', { url: this.opts.url });
      this.backoff.reset();
    } catch (err) {
      if (this.stopping) return;
      this.stats.failures += 1;
      if (this.backoff.attempts <= 1 || this.backoff.attempts % 10 === 0) {
        this.opts.logger?.warn('syslog relay unreachable', { url: this.opts.url, error: (err as Error).message, attempt: this.backoff.attempts });
      }
    } finally {
      this.abortConnect = undefined;
    }
  }

  private lost(reason: Error | undefined): void {
    this.stats.failures += 1;
    this.wasLost = true;
    this.opts.logger?.warn('syslog relay connection lost', { url: this.opts.url, error: reason?.message, unacked: this.pending.length });
    this.dropConnection();
  }

  private dropConnection(): void {
    this.conn?.socket.destroy();
    this.conn = undefined;
    this.stats.connected = false;
  }
}
