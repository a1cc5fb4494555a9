// The baseline: when each host and each piece of software first and last contacted each
// external domain group, kept in LevelDB for the detection window (90 days by default).
//
// Write policy. A NEW entry (first contact, or first contact again after the window) is
// written before observe() resolves, because the caller may alert on it: after a crash the
// entry is there and the alert does not fire twice. Repeat contacts only move lastSeen and
// count; those updates are kept in memory and written in one batch every flushIntervalMs
// (and on flush() / close()), so a busy host costs one batch every few seconds instead of
// a write per connection. A crash loses at most that interval of lastSeen updates, which can
// only make an entry expire a few seconds early, 90 days later.
//
// Reads. Known entries live in a bounded LRU (DEFAULT_CACHE_ENTRIES); a miss is one LevelDB
// get. Lookups go cache → unflushed updates → batch in flight → LevelDB, so an entry
// evicted before its update reached the disk is never read back stale. A store with at most
// half that many entries is loaded whole at open; until the LRU first evicts, a key missing
// from memory is known to be absent, and observeSync() answers without waiting (the replay
// pipeline judges that way while a replay reads a file in one synchronous call). Beyond that,
// a Bloom filter of every key in the store (built by a scan of its keys in the background after
// open, and again after each prune; every key written is added) tells a key never written without
// a read: a new destination, the case an alert waits for, is decided from memory however large
// the store. Without it, a scan from the host (thousands of new destinations a second, past the
// LRU) queued a LevelDB read for each until the agent's heap ran out.
import { Level } from 'level';
import { LRUCache } from 'lru-cache';
import {
  META_LEARNING_START, META_SCHEMA, SCHEMA_VERSION, decodeKey, entryKey, kindRange, subjectRange,
  type EntryKind, type KeyRange,
} from './keys.js';
import { BaselineWriteError, createErrorFor, openErrorFor } from './errors.js';
import { makeDirs } from '../fs-dirs.js';
import { ReopeningLevel } from '../level-reopen.js';
import { openRepairing } from '../level-open.js';
import { KeyedMutex } from './keylock.js';
import { BloomFilter } from '../collections/index.js';

export interface BaselineOptions {
  dir: string;
  /** Detection window: an entry not seen for this long is new again (90 days). */
  windowMs: number;
  /** Learn without alerting for this long after the baseline is first created; 0 = off. */
  learningPeriodMs: number;
  now: () => number;
  /** Write-behind period for lastSeen / count updates; default 5000; <= 0: only on flush(). */
  flushIntervalMs?: number;
  /** Known-entry LRU bound (default DEFAULT_CACHE_ENTRIES). */
  cacheEntries?: number;
  /** Called when a background (timer) flush fails; the updates stay queued for the next one. */
  onError?: (err: Error) => void;
  /**
   * A new store's learning period starts at the first observation's time instead of at open
   * (replay: the capture's time, not today's).
   */
  learningFromFirstObservation?: boolean;
  /** Called when the store was damaged (a crash) and LevelDB's repair got it open; says what was wrong. */
  onRepaired?: (what: string) => void;
}

export interface Observation {
  host: string;
  /** Absent when the connection could not be attributed to a process. */
  software?: string;
  group: string;
  /** Milliseconds since the epoch, from the packet. */
  time: number;
}

export interface Verdict {
  novelFor: ('host' | 'software')[];
  learning: boolean;
  hostFirstSeen?: number;
  softwareFirstSeen?: number;
}

export interface BaselineEntry {
  kind: EntryKind;
  subject: string;
  group: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
}

interface Entry {
  firstSeen: number;
  lastSeen: number;
  count: number;
}

type Db = Level<string, unknown>;
type Op = { type: 'put'; key: string; value: Entry | number } | { type: 'del'; key: string };

/** About 200 bytes per entry (key, value, LRU links): 50k entries ≈ 10 MB. */
export const DEFAULT_CACHE_ENTRIES = 50_000;
export const DEFAULT_FLUSH_INTERVAL_MS = 5000;
/** Unflushed updates that trigger an early flush, bounding memory between timer ticks. */
const MAX_DIRTY = 10_000;
/** Expired keys deleted per LevelDB batch during prune(). */
const PRUNE_BATCH = 1000;
/** Bits of the key filter per key it is sized for (~0.25% of absent keys read anyway), and its least size (2 MiB). */
const FILTER_BITS_PER_KEY = 16;
const FILTER_MIN_BITS = 2 ** 24;

export class Baseline {
  /** For metrics: LRU evictions, LevelDB reads, new entries written, flushes and failures. */
  readonly counters = { cacheEvictions: 0, reads: 0, newEntries: 0, flushes: 0, flushErrors: 0, badValues: 0, writeBatches: 0, absentByFilter: 0, filterBuilds: 0, filterBuildErrors: 0 };
  private readonly cache: LRUCache<string, Entry>;
  private dirty = new Map<string, Entry>();
  private readonly flushing = new Map<string, Entry>();
  private readonly locks = new KeyedMutex();
  private readonly inflight = new Set<Promise<unknown>>();
  private writeChain: Promise<void> = Promise.resolve();
  /** The batch waiting for the one in flight; later writes join it. */
  private queuedWrite: { ops: Op[]; done: Promise<void> } | undefined;
  private flushChain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * Every entry of the store is in the cache (it was small enough to load at open and nothing
   * has been evicted since): a key missing from memory is absent, no read needed.
   */
  private complete = false;
  /** Every key in the store may be in it (see the top); undefined until the first scan of the keys is done. */
  private filter: BloomFilter | undefined;
  /** The filter a scan of the keys is filling (it replaces `filter` when done): keys written meanwhile go into both. */
  private building: BloomFilter | undefined;

  private constructor(private readonly store: ReopeningLevel<unknown>, private readonly opts: BaselineOptions, private learningStart: number | undefined,
    preloaded: [string, Entry][] | undefined) {
    this.cache = new LRUCache<string, Entry>({
      max: opts.cacheEntries ?? DEFAULT_CACHE_ENTRIES,
      dispose: (_v, _k, reason) => {
        if (reason !== 'evict') return;
        this.counters.cacheEvictions++;
        this.complete = false;
      },
    });
    if (preloaded !== undefined) {
      this.filter = new BloomFilter(Math.max(FILTER_MIN_BITS, preloaded.length * FILTER_BITS_PER_KEY));
      for (const [key, e] of preloaded) {
        this.cache.set(key, e);
        this.filter.add(key);
      }
      this.complete = true;
    } else {
      this.rebuildFilter();
    }
    const every = opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (every > 0) {
      this.timer = setInterval(() => this.backgroundFlush(), every);
      this.timer.unref();
    }
  }

  /** Opens (creating if needed) the store; BaselineOpenError says what is wrong and the fix. */
  static async open(opts: BaselineOptions): Promise<Baseline> {
    if (!(opts.windowMs > 0)) throw new RangeError(`baseline windowMs must be > 0, got ${opts.windowMs}`);
    if (!(opts.learningPeriodMs >= 0)) throw new RangeError(`baseline learningPeriodMs must be >= 0, got ${opts.learningPeriodMs}`);
    let db: Db;
    try {
      // Not fs.mkdir({ recursive: true }): Node 20's never settles for a path under /proc
      // (a --state-dir typo there left the agent hung at start, silent); see fs-dirs.ts.
      makeDirs(opts.dir);
    } catch (err) {
      throw createErrorFor(opts.dir, err);
    }
    try {
      const opened = await openRepairing(opts.dir, () => new Level<string, unknown>(opts.dir, { valueEncoding: 'json' }));
      db = opened.db;
      if (opened.repaired !== undefined) opts.onRepaired?.(opened.repaired);
    } catch (err) {
      throw openErrorFor(opts.dir, err);
    }
    try {
      const stored = await db.get(META_LEARNING_START);
      let start = typeof stored === 'number' && Number.isFinite(stored) ? stored : undefined;
      if (start === undefined) {
        const ops: Op[] = [{ type: 'put', key: META_SCHEMA, value: SCHEMA_VERSION }];
        if (opts.learningFromFirstObservation !== true) {
          start = opts.now();
          ops.push({ type: 'put', key: META_LEARNING_START, value: start });
        }
        await db.batch(ops);
      }
      const store = new ReopeningLevel(db, (): Db => new Level<string, unknown>(opts.dir, { valueEncoding: 'json' }));
      return new Baseline(store, opts, start, await preload(db, (opts.cacheEntries ?? DEFAULT_CACHE_ENTRIES) >> 1));
    } catch (err) {
      await db.close().catch(() => undefined);
      throw openErrorFor(opts.dir, err);
    }
  }

  /** Times the store was opened again after a failed write (see level-reopen.ts). */
  get reopens(): number {
    return this.store.reopens;
  }

  /**
   * End of the learning period, ms; NaN while a store opened with learningFromFirstObservation
   * has seen nothing yet.
   */
  get learningUntil(): number {
    return this.learningStart === undefined ? Number.NaN : this.learningStart + this.opts.learningPeriodMs;
  }

  /** Records the observation and says for which keys it is new within the window. */
  observe(o: Observation): Promise<Verdict> {
    if (this.closed) return Promise.reject(new Error('baseline is closed'));
    const p = this.observeNow(o);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  private async observeNow(o: Observation): Promise<Verdict> {
    const hasSoftware = o.software !== undefined && o.software !== '';
    const startOp = this.startLearning(o.time);
    if (startOp !== undefined) void this.write([startOp]).catch(() => undefined); // retried at the next open
    const [host, software] = await Promise.all([
      this.observeKey(entryKey('host', o.host, o.group), o.time),
      hasSoftware ? this.observeKey(entryKey('software', o.software!, o.group), o.time) : undefined,
    ]);
    return this.verdictOf(o.time, host, software);
  }

  /**
   * The verdict decided at once, when memory holds all it needs: no earlier observation of
   * either key is still in flight, and each entry is in memory or the whole store is (see
   * `complete`). A new entry is in memory at once, so the next observation of it is not new
   * either; `durable` resolves when it is on disk (alert only after that: if the write fails
   * it rejects, the entry is forgotten and the next contact is new again). Undefined: the
   * answer needs a read, use observe().
   */
  observeSync(o: Observation): { verdict: Verdict; durable?: Promise<void> } | undefined {
    if (this.closed) return undefined;
    const hostKey = entryKey('host', o.host, o.group);
    const swKey = o.software !== undefined && o.software !== '' ? entryKey('software', o.software, o.group) : undefined;
    const host = this.memoryLookup(hostKey);
    const software = swKey === undefined ? undefined : this.memoryLookup(swKey);
    if (host === false || software === false) return undefined;
    const ops: Op[] = [];
    const startOp = this.startLearning(o.time);
    if (startOp !== undefined) ops.push(startOp);
    const fresh: [string, Entry][] = [];
    const h = this.record(hostKey, host, o.time, fresh);
    const sw = swKey === undefined ? undefined : this.record(swKey, software, o.time, fresh);
    const verdict = this.verdictOf(o.time, h, sw);
    for (const [key, e] of fresh) ops.push({ type: 'put', key, value: { ...e } });
    if (ops.length === 0) return { verdict };
    const durable = this.write(ops).then(() => {
      this.counters.newEntries += fresh.length;
    }, (err: unknown) => {
      for (const [key, e] of fresh) if (this.cache.get(key) === e) this.cache.delete(key);
      throw err;
    });
    this.inflight.add(durable);
    void durable.finally(() => this.inflight.delete(durable)).catch(() => undefined);
    return { verdict, durable };
  }

  /** The entry from memory; undefined = known absent (the store is complete, or the key filter says so); false = unknown. */
  private memoryLookup(key: string): Entry | undefined | false {
    if (this.locks.has(key)) return false;
    const mem = this.memoryEntry(key);
    if (mem !== undefined) return mem;
    return this.knownAbsent(key) ? undefined : false;
  }

  /** A key not in memory that is not in the store either, known without a read. */
  private knownAbsent(key: string): boolean {
    if (this.complete) return true;
    if (this.filter === undefined || this.filter.mayHave(key)) return false;
    this.counters.absentByFilter++;
    return true;
  }

  /** A key being written to the store (a new entry). */
  private keyStored(key: string): void {
    this.filter?.add(key);
    this.building?.add(key);
    const f = this.filter;
    // Past 8 bits a key (~2.5% false "maybe", against ~0.25% as sized): a larger one is built.
    if (f !== undefined && this.building === undefined && f.added * 8 > f.bits) this.rebuildFilter();
  }

  /**
   * Scans the store's keys into a new filter in the background (at open, after a prune, when the
   * filter is full), sized for `keys` (default: what the current one holds); until it is done
   * the current one (or none: reads) serves, correct all along since every key written goes into
   * it too. A scan that fails leaves the current one (counted); one that finds more keys than
   * its filter was sized for starts again, sized for them.
   */
  private rebuildFilter(keys = this.filter?.added ?? 0): void {
    if (this.building !== undefined || this.closed) return;
    const sizedFor = Math.max(keys, FILTER_MIN_BITS / (2 * FILTER_BITS_PER_KEY));
    const next = new BloomFilter(sizedFor * 2 * FILTER_BITS_PER_KEY);
    this.building = next;
    const done = (async (): Promise<void> => {
      let found = 0;
      try {
        for (const kind of ['host', 'software'] as const) {
          for await (const key of this.store.db.keys(kindRange(kind))) {
            // Closing (an admin command's short-lived open, or the agent's stop): not worth finishing.
            if (this.closed) return;
            next.add(key);
            found++;
          }
        }
      } catch {
        this.counters.filterBuildErrors++;
        return;
      } finally {
        this.building = undefined;
      }
      if (found * FILTER_BITS_PER_KEY > next.bits) {
        this.rebuildFilter(found * 2);
        return;
      }
      this.filter = next;
      this.counters.filterBuilds++;
    })();
    this.inflight.add(done);
    void done.finally(() => this.inflight.delete(done));
  }

  private verdictOf(time: number, host: { novel: boolean; firstSeen: number }, software?: { novel: boolean; firstSeen: number }): Verdict {
    const novelFor: Verdict['novelFor'] = [];
    if (host.novel) novelFor.push('host');
    if (software?.novel) novelFor.push('software');
    const learning = this.opts.learningPeriodMs > 0 && time < this.learningUntil;
    const v: Verdict = { novelFor, learning, hostFirstSeen: host.firstSeen };
    if (software) v.softwareFirstSeen = software.firstSeen;
    return v;
  }

  /** Sets the learning start of a store opened with learningFromFirstObservation; the op persists it. */
  private startLearning(time: number): Op | undefined {
    if (this.learningStart !== undefined) return undefined;
    this.learningStart = time;
    return { type: 'put', key: META_LEARNING_START, value: time };
  }

  /**
   * Applies one contact at `time` to the entry `cur` (undefined: none). A new entry (none, or
   * last seen before the window) goes into the cache and onto `fresh`, to be written by the
   * caller; a known one moves lastSeen and count, written behind.
   */
  private record(key: string, cur: Entry | undefined, time: number, fresh: [string, Entry][]): { novel: boolean; firstSeen: number } {
    if (cur === undefined || cur.lastSeen < time - this.opts.windowMs) {
      const e: Entry = { firstSeen: time, lastSeen: time, count: 1 };
      this.cache.set(key, e);
      this.keyStored(key);
      this.dirty.delete(key);
      fresh.push([key, e]);
      return { novel: true, firstSeen: time };
    }
    if (time > cur.lastSeen) cur.lastSeen = time;
    if (time < cur.firstSeen) cur.firstSeen = time; // out-of-order captures in a replay
    cur.count++;
    this.dirty.set(key, cur);
    if (this.dirty.size >= MAX_DIRTY) this.backgroundFlush();
    return { novel: false, firstSeen: cur.firstSeen };
  }

  private observeKey(key: string, time: number): Promise<{ novel: boolean; firstSeen: number }> {
    return this.locks.run(key, async () => {
      const fresh: [string, Entry][] = [];
      const r = this.record(key, await this.lookup(key), time, fresh);
      if (fresh.length === 0) return r;
      const [, e] = fresh[0];
      try {
        await this.write([{ type: 'put', key, value: { ...e } }]);
      } catch (err) {
        // Not on disk: forget it, so the next contact is judged new again.
        if (this.cache.get(key) === e) this.cache.delete(key);
        throw err;
      }
      this.counters.newEntries++;
      return r;
    });
  }

  private memoryEntry(key: string): Entry | undefined {
    return this.cache.get(key) ?? this.dirty.get(key) ?? this.flushing.get(key);
  }

  private async lookup(key: string): Promise<Entry | undefined> {
    const mem = this.memoryEntry(key);
    if (mem !== undefined) {
      this.cache.set(key, mem);
      return mem;
    }
    if (this.knownAbsent(key)) return undefined;
    this.counters.reads++;
    const entry = this.toEntry(await this.store.db.get(key));
    if (entry !== undefined) this.cache.set(key, entry);
    return entry;
  }

  private toEntry(v: unknown): Entry | undefined {
    if (v === undefined) return undefined;
    const e = v as Partial<Entry> | null;
    if (e === null || typeof e.firstSeen !== 'number' || typeof e.lastSeen !== 'number' || typeof e.count !== 'number') {
      this.counters.badValues++; // an unreadable value is treated as absent and rewritten
      return undefined;
    }
    return { firstSeen: e.firstSeen, lastSeen: e.lastSeen, count: e.count };
  }

  /**
   * All writes go through one chain: LevelDB sees them in the order they were decided. Writes
   * asked for while another is in flight are coalesced into the next batch (one LevelDB write
   * for a burst of new entries instead of one each; a batch applies its operations in order).
   */
  private write(ops: Op[]): Promise<void> {
    const queued = this.queuedWrite;
    if (queued !== undefined) {
      for (const op of ops) queued.ops.push(op);
      return queued.done;
    }
    const next = { ops: [...ops], done: Promise.resolve() };
    next.done = this.writeChain.then(() => {
      if (this.queuedWrite === next) this.queuedWrite = undefined;
      this.counters.writeBatches++;
      return this.store.write((db) => db.batch(next.ops));
    });
    this.queuedWrite = next;
    this.writeChain = next.done.catch(() => undefined);
    return next.done;
  }

  /** Writes the queued lastSeen / count updates. */
  flush(): Promise<void> {
    const p = this.flushChain.then(() => this.flushOnce());
    this.flushChain = p.catch(() => undefined);
    return p;
  }

  private async flushOnce(): Promise<void> {
    if (this.dirty.size === 0) return this.writeChain;
    const batch = this.dirty;
    this.dirty = new Map();
    const ops: Op[] = [];
    for (const [key, e] of batch) {
      this.flushing.set(key, e);
      ops.push({ type: 'put', key, value: { ...e } });
    }
    try {
      await this.write(ops);
      this.counters.flushes++;
    } catch (err) {
      this.counters.flushErrors++;
      for (const [key, e] of batch) if (!this.dirty.has(key)) this.dirty.set(key, e);
      throw err;
    } finally {
      this.flushing.clear();
    }
  }

  private backgroundFlush(): void {
    this.flush().catch((err: Error) => this.opts.onError?.(err));
  }

  /** Deletes entries last seen before now - windowMs; returns how many. */
  async prune(now: number): Promise<number> {
    await this.flush();
    const cutoff = now - this.opts.windowMs;
    let deleted = 0;
    for (const kind of ['host', 'software'] as const) {
      let candidates: string[] = [];
      for await (const [key, value] of this.store.db.iterator(kindRange(kind))) {
        const e = this.toEntry(value);
        if (e === undefined || e.lastSeen < cutoff) candidates.push(key);
        if (candidates.length >= PRUNE_BATCH) {
          deleted += await this.deleteExpired(candidates, cutoff);
          candidates = [];
        }
      }
      deleted += await this.deleteExpired(candidates, cutoff);
    }
    // The filter still says "maybe" for the deleted keys: a new one without them.
    if (deleted > 0) this.rebuildFilter();
    return deleted;
  }

  /**
   * Rechecks each candidate against memory and queues the deletes in the same tick, so an
   * observe() that has just renewed a key either shows up here (skipped) or queues its put
   * after our delete (the write chain keeps the order).
   */
  private deleteExpired(keys: string[], cutoff: number): Promise<number> {
    const ops: Op[] = [];
    for (const key of keys) {
      const mem = this.memoryEntry(key);
      if (mem !== undefined && mem.lastSeen >= cutoff) continue;
      this.cache.delete(key);
      this.dirty.delete(key);
      ops.push({ type: 'del', key });
    }
    if (ops.length === 0) return Promise.resolve(0);
    return this.write(ops).then(() => ops.length);
  }

  /** Entries on disk after a flush, in key order, optionally filtered. */
  async *entries(filter: { kind?: EntryKind; subject?: string; group?: string } = {}): AsyncIterable<BaselineEntry> {
    await this.flush();
    const kinds: EntryKind[] = filter.kind ? [filter.kind] : ['host', 'software'];
    for (const kind of kinds) {
      const range: KeyRange = filter.subject !== undefined ? subjectRange(kind, filter.subject) : kindRange(kind);
      for await (const [key, value] of this.store.db.iterator(range)) {
        const k = decodeKey(key);
        const e = this.toEntry(value);
        if (k === undefined || e === undefined) continue;
        if (filter.group !== undefined && k.group !== filter.group) continue;
        yield { ...k, ...e };
      }
    }
  }

  /** Waits for observations in flight, writes queued updates, closes LevelDB. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inflight]);
    this.store.retryNow(); // the last chance to write: a store whose write failed is reopened now
    try {
      await this.flush();
      await this.writeChain;
    } catch (err) {
      throw new BaselineWriteError(this.opts.dir, err);
    } finally {
      await this.store.close();
    }
  }
}

/**
 * Every entry of the store, when there are at most `max` (read at open so that lookups of a
 * small store need no reads); undefined for a larger store.
 */
async function preload(db: Db, max: number): Promise<[string, Entry][] | undefined> {
  const out: [string, Entry][] = [];
  for (const kind of ['host', 'software'] as const) {
    for await (const [key, value] of db.iterator({ ...kindRange(kind), limit: max - out.length + 1 })) {
      const e = value as Partial<Entry> | null;
      if (e === null || typeof e.firstSeen !== 'number' || typeof e.lastSeen !== 'number' || typeof e.count !== 'number') continue;
      out.push([key, { firstSeen: e.firstSeen, lastSeen: e.lastSeen, count: e.count }]);
      if (out.length > max) return undefined;
    }
  }
  return out;
}
