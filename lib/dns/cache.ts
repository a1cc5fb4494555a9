// The IP → name cache that connections are named from. A Map for lookups plus a recency list
// through the entries (collections/order.ts) rather than lru-cache: expiry here runs on packet
// time passed in by the caller (replays run at file time), and both the eviction and the expiry
// counters need the entry's own deadline, which our own entries give without adapting
// lru-cache's clock.
//
// Speed: add() was ~4 µs an answer on the bench capture, nearly all of it the Map delete + set
// that moved the key to the back on every add and lookup, plus a new entry object. Now an entry
// is updated in place and a use moves it to the newest end of the list (a few pointer writes),
// unless it is among the newest quarter already (see touch()): the pointer writes land in its
// list neighbours, other entries, each a likely cache miss.
// Eviction takes the list's oldest entry in O(1): evicting by the Map's own first key (as this
// cache once did) walks over every hole deleted entries leave in V8's table, and cost 30-260 µs
// an answer once the cache was full (collections/order.ts).

import { RecencyList, type Linked } from '../collections/index.js';
import { textNameHash } from './names.js';

export interface NameCacheOptions {
  /** Addresses kept at once; default 100_000 (about 30 MB at ~300 B an entry). */
  maxEntries?: number;
  /** Kept for TTL + this: clients and OS stub caches use answers past their TTL (browsers
   * pin connections for minutes, JVMs cache for 30 s or forever). Default 3_600_000 (1 h). */
  retentionMs?: number;
  /** Older names kept per address; default 8 (CDN addresses serve many names). */
  maxAlternatives?: number;
}

export interface NameLookup {
  /** Name from the most recent answer: chain[0], the name the client asked for. */
  name: string;
  /** That answer's chain, query name first, A/AAAA owner last. */
  chain: string[];
  /** Names from older answers for the same address, most recent first. */
  alternatives: string[];
  /** Packet time (ms) of the most recent answer. */
  answeredAt: number;
  /** Its TTL in seconds. */
  ttl: number;
  /** The DNS server that sent that answer, when the caller said. */
  resolver?: string;
}

class Entry implements Linked {
  older: Linked | undefined = undefined;
  newer: Linked | undefined = undefined;
  /** NameCache.placed when the entry was last put at the newest end. */
  placedAt = 0;
  constructor(
    readonly ip: string,
    public name: string,
    /** textNameHash(name). */
    public nameHash: number,
    public chain: string[],
    public alternatives: string[],
    /** textNameHash of each alternative, in step with them. */
    public altHashes: number[],
    public answeredAt: number,
    public ttl: number,
    /** ms after which the entry is expired: latest TTL + retention over all its answers. */
    public expiresAt: number,
    public resolver: string | undefined,
  ) {}
}

const EMPTY: string[] = [];
const NO_HASHES: number[] = [];

/** One entry as saved across a restart (NameCache.entries / restore). */
export interface SavedName {
  ip: string;
  chain: string[];
  alternatives: string[];
  answeredAt: number;
  ttl: number;
  expiresAt: number;
  resolver?: string;
}

export class NameCache {
  readonly stats = { inserts: 0, evictions: 0, expired: 0 };
  private readonly maxEntries: number;
  private readonly retentionMs: number;
  private readonly maxAlternatives: number;
  private readonly map = new Map<string, Entry>();
  /** Least recently added or looked up first: evicted first (see touch()). */
  private readonly order = new RecencyList<Entry>();
  /** Entries put at the newest end so far (appended or moved), modulo 2^32. */
  private placed = 0;
  /** A use moves an entry only when more than this many were put at the newest end after it. */
  private readonly touchSlack: number;

  constructor(opts: NameCacheOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 100_000);
    this.retentionMs = Math.max(0, opts.retentionMs ?? 3_600_000);
    this.maxAlternatives = Math.max(0, opts.maxAlternatives ?? 8);
    this.touchSlack = this.maxEntries >> 2;
  }

  get size(): number {
    return this.map.size;
  }

  /**
   * Records that `ip` was answered for `chain` (chain[0] = the asked name) at `now` (ms), by
   * the DNS server `resolver` when given (evidence for the alert). `nameHash`, when the caller
   * has it: textNameHash(chain[0]) (the parser's hash of the question; computed here when 0).
   * Updates the entry in place. lookup() returns a copy whose chain is never mutated and whose
   * alternatives array is its own, so a NameLookup a caller holds (the pipeline keeps its
   * arrays across an await) stays as it was.
   */
  add(ip: string, chain: string[], ttlSec: number, now: number, resolver?: string, nameHash = 0): void {
    if (chain.length === 0) return;
    const name = chain[0];
    const hash = nameHash !== 0 ? nameHash : textNameHash(name);
    const ttl = ttlSec > 0 ? ttlSec : 0;
    const expiresAt = now + ttl * 1000 + this.retentionMs;
    this.stats.inserts++;
    const old = this.map.get(ip);
    if (old === undefined) {
      const e = new Entry(ip, name, hash, chain, EMPTY, NO_HASHES, now, ttl, expiresAt, resolver);
      this.map.set(ip, e);
      this.append(e);
      this.evict(now);
      return;
    }
    // Names are told apart by their hashes first: a string compare reads the old name, most
    // often out of the CPU's caches by now, and names differ in 3 answers of 4 on the bench.
    const sameName = old.nameHash === hash && old.name === name;
    if (old.expiresAt <= now) {
      this.stats.expired++;
      old.alternatives = EMPTY;
      old.altHashes = NO_HASHES;
      old.expiresAt = expiresAt;
    } else {
      // Keep the older deadline if it is later: every name lives at least TTL + retention.
      if (expiresAt > old.expiresAt) old.expiresAt = expiresAt;
      if (!sameName) this.mergeAlternatives(name, hash, old);
    }
    // The same chain answered again (the common case) keeps the array already held, so
    // the new one and its strings die young instead of replacing old-generation ones.
    if (!sameName || !sameChain(old.chain, chain)) old.chain = chain;
    old.name = name;
    old.nameHash = hash;
    old.resolver = resolver;
    old.answeredAt = now;
    old.ttl = ttl;
    this.touch(old);
  }

  /** A copy of the names for `ip` at `now`, or undefined. Its arrays must not be mutated. */
  lookup(ip: string, now: number): NameLookup | undefined {
    const e = this.map.get(ip);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.drop(e);
      this.stats.expired++;
      return undefined;
    }
    this.touch(e);
    // A copy: the entry's list changes in place. Copied here rather than on the next change,
    // so a copy nobody keeps dies young, instead of each change putting a new array into the
    // long-lived entry (13 MB promoted to the old generation on the bench capture).
    const alternatives = e.alternatives.length === 0 ? EMPTY : e.alternatives.slice();
    const out: NameLookup = { name: e.name, chain: e.chain, alternatives, answeredAt: e.answeredAt, ttl: e.ttl };
    if (e.resolver !== undefined) out.resolver = e.resolver;
    return out;
  }

  /** The entries not expired at `now`, least recently used first as eviction takes them (touch()): what restore() takes. */
  entries(now: number): SavedName[] {
    const out: SavedName[] = [];
    for (const e of this.order.values()) {
      if (e.expiresAt <= now) continue;
      const saved: SavedName = { ip: e.ip, chain: e.chain, alternatives: e.alternatives, answeredAt: e.answeredAt, ttl: e.ttl, expiresAt: e.expiresAt };
      if (e.resolver !== undefined) saved.resolver = e.resolver;
      out.push(saved);
    }
    return out;
  }

  /**
   * Takes back saved entries (an agent's earlier run), in order, skipping those expired at `now`,
   * malformed ones and addresses answered since; returns how many were taken. The bound holds.
   */
  restore(saved: readonly unknown[], now: number): number {
    let n = 0;
    for (const item of saved) {
      const s = item as Partial<SavedName> | null;
      if (s === null || typeof s !== 'object' || typeof s.ip !== 'string' || !isNames(s.chain) || s.chain.length === 0
        || !isNames(s.alternatives) || !Number.isFinite(s.answeredAt) || !Number.isFinite(s.ttl) || !Number.isFinite(s.expiresAt)) continue;
      if ((s.expiresAt as number) <= now || this.map.has(s.ip)) continue;
      const alternatives = s.alternatives.slice(0, this.maxAlternatives);
      const e = new Entry(s.ip, s.chain[0], textNameHash(s.chain[0]), s.chain, alternatives, alternatives.map(textNameHash), s.answeredAt as number,
        s.ttl as number, s.expiresAt as number, typeof s.resolver === 'string' ? s.resolver : undefined);
      this.map.set(e.ip, e);
      this.append(e);
      n++;
    }
    this.evict(now);
    return n;
  }

  /** Drops expired entries (for a periodic sweep off the packet path); returns how many. */
  prune(now: number): number {
    let n = 0;
    for (const e of this.order.values()) {
      if (e.expiresAt <= now) {
        this.drop(e);
        n++;
      }
    }
    this.stats.expired += n;
    return n;
  }

  /**
   * Older names for an address now answered with `name` (!== old.name), most recent first:
   * old.name, then the previous alternatives without `name`, at most maxAlternatives. The list
   * holds neither the current name nor duplicates. Changed in place (no allocation on the
   * common path: on the bench capture 3 adds in 4 give an address a new name); lookup() hands
   * out copies. `name` is looked for by its hash (`hash`) among the alternatives' hashes, and
   * only a hash that matches has its string compared: a search by string read every
   * alternative's string, each a cache miss (~8% of the bench replay's time).
   */
  private mergeAlternatives(name: string, hash: number, old: Entry): void {
    const max = this.maxAlternatives;
    if (max === 0) return;
    const prev = old.alternatives;
    if (prev === EMPTY) {
      old.alternatives = [old.name];
      old.altHashes = [old.nameHash];
      return;
    }
    const hashes = old.altHashes;
    // Shift right by one over the slot `name` held (or over the whole list), then put
    // old.name first.
    let at = -1;
    for (let i = 0; i < hashes.length; i++) {
      if (hashes[i] === hash && prev[i] === name) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      at = prev.length < max ? prev.length : max - 1;
    }
    for (let i = at; i > 0; i--) {
      prev[i] = prev[i - 1];
      hashes[i] = hashes[i - 1];
    }
    prev[0] = old.name;
    hashes[0] = old.nameHash;
  }

  private append(e: Entry): void {
    this.order.append(e);
    this.stamp(e);
  }

  /** Counts `e` as just put at the newest end. */
  private stamp(e: Entry): void {
    e.placedAt = this.placed = (this.placed + 1) | 0;
  }

  /**
   * A use of `e`: moved to the newest end, unless at most touchSlack entries were put there
   * after it. Each one put there is at most one more entry newer than `e`, so `e` is among the
   * newest quarter of the cache already, and eviction (oldest first) reaches it after at least
   * three quarters of the cache: the victims are exact LRU's but within that newest quarter
   * (below 4 entries, exact LRU). The move's pointer writes land in `e`'s list neighbours, other
   * entries, each a likely cache miss: on the bench capture, where a few thousand addresses are
   * answered 270,000 times, nearly every use is such a skip.
   */
  private touch(e: Entry): void {
    if ((((this.placed - e.placedAt) | 0) >>> 0) <= this.touchSlack) return;
    this.order.moveToNewest(e);
    this.stamp(e);
  }

  private drop(e: Entry): void {
    this.map.delete(e.ip);
    this.order.remove(e);
  }

  private evict(now: number): void {
    while (this.map.size > this.maxEntries) {
      const e = this.order.oldest() as Entry;
      this.drop(e);
      if (e.expiresAt <= now) this.stats.expired++;
      else this.stats.evictions++;
    }
  }
}

function isNames(x: unknown): x is string[] {
  return Array.isArray(x) && x.length <= 64 && x.every((n) => typeof n === 'string' && n.length <= 255);
}

function sameChain(a: string[], b: string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
