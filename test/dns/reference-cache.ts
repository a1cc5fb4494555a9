// The name cache as it was before in-place updates (a new entry object and a Map delete + set
// per add and lookup, exact LRU), kept as the reference cache.test.ts checks NameCache against.
interface NameCacheOptions {
  /** Addresses kept at once; default 100_000 (about 30 MB at ~300 B an entry). */
  maxEntries?: number;
  /** Kept for TTL + this: clients and OS stub caches use answers past their TTL (browsers
   * pin connections for minutes, JVMs cache for 30 s or forever). Default 3_600_000 (1 h). */
  retentionMs?: number;
  /** Older names kept per address; default 8 (CDN addresses serve many names). */
  maxAlternatives?: number;
}

interface NameLookup {
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
}

interface Entry extends NameLookup {
  /** ms after which the entry is expired: latest TTL + retention over all its answers. */
  expiresAt: number;
}

const EMPTY: string[] = [];

export class ReferenceNameCache {
  readonly stats = { inserts: 0, evictions: 0, expired: 0 };
  private readonly maxEntries: number;
  private readonly retentionMs: number;
  private readonly maxAlternatives: number;
  /** Map order is recency order: the first key is the least recently used. */
  private readonly map = new Map<string, Entry>();

  constructor(opts: NameCacheOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 100_000);
    this.retentionMs = Math.max(0, opts.retentionMs ?? 3_600_000);
    this.maxAlternatives = Math.max(0, opts.maxAlternatives ?? 8);
  }

  get size(): number {
    return this.map.size;
  }

  /**
   * Records that `ip` was answered for `chain` (chain[0] = the asked name) at `now` (ms).
   * Entries are replaced, never mutated, so a NameLookup a caller holds stays as it was.
   */
  add(ip: string, chain: string[], ttlSec: number, now: number): void {
    if (chain.length === 0) return;
    const name = chain[0];
    const ttl = Math.max(0, ttlSec);
    let expiresAt = now + ttl * 1000 + this.retentionMs;
    let alternatives = EMPTY;
    const old = this.map.get(ip);
    if (old !== undefined) {
      this.map.delete(ip);
      if (old.expiresAt <= now) {
        this.stats.expired++;
      } else {
        // Keep the older deadline if it is later: every name lives at least TTL + retention.
        expiresAt = Math.max(expiresAt, old.expiresAt);
        alternatives = this.mergeAlternatives(name, old);
      }
    }
    this.map.set(ip, { name, chain, alternatives, answeredAt: now, ttl, expiresAt });
    this.stats.inserts++;
    this.evict(now);
  }

  /** The names for `ip` at `now`, or undefined. The result must not be mutated. */
  lookup(ip: string, now: number): NameLookup | undefined {
    const e = this.map.get(ip);
    if (e === undefined) return undefined;
    this.map.delete(ip);
    if (e.expiresAt <= now) {
      this.stats.expired++;
      return undefined;
    }
    this.map.set(ip, e);
    return e;
  }

  /** Drops expired entries (for a periodic sweep off the packet path); returns how many. */
  prune(now: number): number {
    let n = 0;
    for (const [ip, e] of this.map) {
      if (e.expiresAt <= now) {
        this.map.delete(ip);
        n++;
      }
    }
    this.stats.expired += n;
    return n;
  }

  private mergeAlternatives(name: string, old: Entry): string[] {
    if (this.maxAlternatives === 0) return EMPTY;
    const out: string[] = [];
    if (old.name !== name) out.push(old.name);
    for (const alt of old.alternatives) {
      if (out.length >= this.maxAlternatives) break;
      if (alt !== name && !out.includes(alt)) out.push(alt);
    }
    return out.length === 0 ? EMPTY : out;
  }

  private evict(now: number): void {
    while (this.map.size > this.maxEntries) {
      // eslint-disable-next-line no-restricted-syntax -- the reference stays as simple as it was; tests keep it small
      const [ip, e] = this.map.entries().next().value as [string, Entry];
      this.map.delete(ip);
      if (e.expiresAt <= now) this.stats.expired++;
      else this.stats.evictions++;
    }
  }
}
