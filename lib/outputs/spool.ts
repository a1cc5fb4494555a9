// The durable spool between the alert stage and the forwarders: a LevelDB log of alerts under
// monotonically increasing sequence keys, with one persisted cursor per consumer (forwarder).
// An append resolves only after a sync write, so an alert the agent has handed over survives
// kill -9 and a host crash. Entries are deleted once every consumer registered in this run
// has acked them; cursors of consumers not registered any more are ignored, so removing a
// forwarder from the configuration does not pin the spool forever.
// Bounds (entries, bytes, age) drop the oldest entries and report them through onDrop: a
// collector that is down for a week must not fill the agent's disk.
import { Level } from 'level';
import { openRepairing } from '../level-open.js';
import { ReopeningLevel } from '../level-reopen.js';
import { SpoolIndex } from './spool-index.js';

export interface SpoolOptions {
  dir: string;
  /** Most entries kept (default 100,000: weeks of alerts on a busy host). */
  maxEntries?: number;
  /** Most bytes of alert JSON kept (default 256 MiB). */
  maxBytes?: number;
  /** Oldest entry kept (default 7 days); older ones are dropped on the next append or read. */
  maxAgeMs?: number;
  now?: () => number;
  onDrop?: (n: number, why: 'full' | 'age') => void;
  /** Called when the store was damaged (a crash) and LevelDB's repair got it open; says what was wrong. */
  onRepaired?: (what: string) => void;
}

export interface SpoolEntry {
  seq: number;
  alert: Record<string, unknown>;
  /** The alert as it was spooled: its JSON text (what a forwarder of JSON lines sends as it is). */
  json: string;
}

export interface SpoolStats {
  appended: number;
  acked: number;
  deleted: number;
  droppedFull: number;
  droppedAge: number;
  badEntries: number;
}

const ENTRY = 'e!';
const ENTRY_END = 'e"';
const CURSOR = 'c!';
const NEXT_SEQ = 'm!next';

/** Sequence numbers as fixed-width hex so that LevelDB's byte order is numeric order. */
function entryKey(seq: number): string {
  return ENTRY + seq.toString(16).padStart(14, '0');
}

export class Spool {
  readonly stats: SpoolStats = { appended: 0, acked: 0, deleted: 0, droppedFull: 0, droppedAge: 0, badEntries: 0 };
  private readonly index = new SpoolIndex();
  private readonly cursors = new Map<string, number>();
  private readonly registered = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private nextSeq = 1;
  /** All writes go through this chain so the in-memory index and the store agree. */
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private pending: { value: string; t: number; resolve: () => void; reject: (err: Error) => void }[] = [];

  private constructor(
    private readonly store: ReopeningLevel<string>,
    private readonly opts: Required<Omit<SpoolOptions, 'onDrop' | 'onRepaired'>> & Pick<SpoolOptions, 'onDrop'>,
  ) {}

  static async open(options: SpoolOptions): Promise<Spool> {
    const opts = {
      maxEntries: 100_000, maxBytes: 256 * 1024 * 1024, maxAgeMs: 7 * 86_400_000, now: Date.now, ...options,
    };
    const make = (): Level<string, string> => new Level<string, string>(opts.dir, { valueEncoding: 'utf8' });
    const { db, repaired } = await openRepairing(opts.dir, make);
    if (repaired !== undefined) opts.onRepaired?.(repaired);
    const spool = new Spool(new ReopeningLevel(db, make), opts);
    await spool.load();
    return spool;
  }

  private async load(): Promise<void> {
    const next = await this.store.db.get(NEXT_SEQ);
    if (next !== undefined) this.nextSeq = Number(next);
    for await (const [key, value] of this.store.db.iterator({ gte: ENTRY, lt: ENTRY_END })) {
      const seq = parseInt(key.slice(ENTRY.length), 16);
      this.index.push(seq, value.length, Number(value.slice(0, value.indexOf('\t'))));
      if (seq >= this.nextSeq) this.nextSeq = seq + 1;
    }
    for await (const [key, value] of this.store.db.iterator({ gte: CURSOR, lt: 'c"' })) {
      this.cursors.set(key.slice(CURSOR.length), Number(value));
    }
  }

  /**
   * Registers a consumer for this run. A consumer never seen before starts at the oldest entry
   * still stored, so a forwarder added to a running deployment gets the backlog too.
   */
  consumer(name: string): void {
    this.registered.add(name);
    if (!this.cursors.has(name)) this.cursors.set(name, this.index.empty ? this.nextSeq - 1 : this.index.firstSeq - 1);
  }

  /**
   * Unregisters a consumer for the rest of this run (its forwarder was removed by a reload):
   * it no longer holds entries back. Its cursor stays on disk, so the same name registered
   * again later resumes where it stopped rather than at the oldest entry.
   */
  release(name: string): void {
    this.registered.delete(name);
  }

  /** Consumers registered in this run. */
  consumers(): string[] {
    return [...this.registered];
  }

  /** Called (synchronously) after each append; returns the function that unsubscribes. */
  onAppend(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Resolves once the alert is on disk (sync write). Appends that arrive while a write is in
   * progress are committed together in the next one (group commit): one fsync for a burst
   * instead of one per alert.
   */
  append(alert: Record<string, unknown>): Promise<void> {
    return this.appendJson(JSON.stringify(alert));
  }

  /**
   * append() of an alert the caller has serialised already (the alerts file's line): an alert
   * is serialised once, not once per output. `json` must be JSON.stringify's text of an object.
   */
  appendJson(json: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('spool is closed'));
    const t = this.opts.now();
    const value = `${t}\t${json}`;
    return new Promise((resolve, reject) => {
      this.pending.push({ value, t, resolve, reject });
      if (this.pending.length === 1) this.serial(() => this.commitPending()).catch(() => undefined);
    });
  }

  private async commitPending(): Promise<void> {
    const items = this.pending;
    this.pending = [];
    const first = this.nextSeq;
    const ops = items.map((it, i) => ({ type: 'put' as const, key: entryKey(first + i), value: it.value }));
    ops.push({ type: 'put', key: NEXT_SEQ, value: String(first + items.length) });
    try {
      await this.store.write((db) => db.batch(ops, { sync: true }));
    } catch (err) {
      for (const it of items) it.reject(err as Error);
      return;
    }
    this.nextSeq = first + items.length;
    items.forEach((it, i) => this.index.push(first + i, it.value.length, it.t));
    this.stats.appended += items.length;
    // The alerts are durable now; bounds are enforced before resolving so that a caller sees
    // depth and drops already settled. (A failed delete leaves rows that the next open() indexes again.)
    await this.enforceBounds().catch(() => undefined);
    for (const it of items) it.resolve();
    for (const fn of this.listeners) fn();
  }

  /** Entries after the consumer's cursor: at most `max`, and at most `maxBytes` unless one entry alone is larger. */
  async readBatch(consumer: string, max: number, maxBytes: number): Promise<SpoolEntry[]> {
    await this.serial(() => this.enforceAge());
    const after = this.cursorOf(consumer);
    const out: SpoolEntry[] = [];
    let bytes = 0;
    for await (const [key, value] of this.store.db.iterator({ gt: entryKey(after), lt: ENTRY_END, limit: max })) {
      const tab = value.indexOf('\t');
      if (out.length > 0 && bytes + value.length - tab > maxBytes) break;
      bytes += value.length - tab;
      const seq = parseInt(key.slice(ENTRY.length), 16);
      try {
        const json = value.slice(tab + 1);
        out.push({ seq, alert: JSON.parse(json) as Record<string, unknown>, json });
      } catch {
        this.stats.badEntries++; // only a damaged store gets here; skip it rather than wedge the forwarder
      }
    }
    return out;
  }

  /** Moves the consumer's cursor and deletes what every registered consumer has now acked. */
  ack(consumer: string, upToSeq: number): Promise<void> {
    return this.serial(async () => {
      const prev = this.cursorOf(consumer);
      if (upToSeq <= prev) return;
      this.cursors.set(consumer, upToSeq);
      this.stats.acked += this.index.countBetween(prev, upToSeq);
      let low = Infinity;
      for (const name of this.registered) low = Math.min(low, this.cursorOf(name));
      const gone = low === Infinity ? [] : this.index.shiftUpTo(low);
      await this.store.write((db) => db.batch([
        { type: 'put', key: CURSOR + consumer, value: String(upToSeq) },
        ...gone.map((seq) => ({ type: 'del' as const, key: entryKey(seq) })),
      ], { sync: true }));
      this.stats.deleted += gone.length;
    });
  }

  /** Entries stored, or entries the consumer has not acked yet. */
  depth(consumer?: string): number {
    if (consumer === undefined) return this.index.length;
    return this.index.countAfter(this.cursorOf(consumer));
  }

  /** Bytes of alert JSON the consumer has not acked yet (for batching decisions). */
  pendingBytes(consumer: string): number {
    return this.index.bytesAfter(this.cursorOf(consumer));
  }

  /** Age of the oldest stored entry, 0 when empty. */
  oldestAgeMs(): number {
    return this.index.empty ? 0 : Math.max(0, this.opts.now() - this.index.firstTime);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // refuses new appends; the ones already queued are committed first
    await this.chain.catch(() => undefined);
    this.listeners.clear();
    await this.store.close();
  }

  private cursorOf(consumer: string): number {
    const c = this.cursors.get(consumer);
    if (c === undefined) throw new Error(`spool consumer "${consumer}" is not registered (call spool.consumer(name) first)`);
    return c;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    // Work queued before close() still runs: close() waits for the chain.
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async enforceBounds(): Promise<void> {
    const seqs: number[] = [];
    while (this.index.length > this.opts.maxEntries || (this.index.bytes > this.opts.maxBytes && this.index.length > 1)) {
      seqs.push(this.index.shiftOne());
    }
    if (seqs.length > 0) await this.drop(seqs, 'full');
    await this.enforceAge();
  }

  private async enforceAge(): Promise<void> {
    const limit = this.opts.now() - this.opts.maxAgeMs;
    const seqs: number[] = [];
    while (!this.index.empty && this.index.firstTime < limit) seqs.push(this.index.shiftOne());
    if (seqs.length > 0) await this.drop(seqs, 'age');
  }

  private async drop(seqs: number[], why: 'full' | 'age'): Promise<void> {
    await this.store.write((db) => db.batch(seqs.map((seq) => ({ type: 'del' as const, key: entryKey(seq) }))));
    if (why === 'full') this.stats.droppedFull += seqs.length;
    else this.stats.droppedAge += seqs.length;
    this.opts.onDrop?.(seqs.length, why);
  }
}
