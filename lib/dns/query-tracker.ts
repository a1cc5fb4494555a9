// Answers accepted only when somebody asked: a DNS answer names addresses in the cache only
// if a query with the same transaction id and name went from the same client address and port
// to the same server, within the window before it. That is the check a stub resolver makes
// itself (RFC 5452 §3: question, id, addresses and ports), so an off-path spoofer, an answer
// to another socket's query, or a stray unsolicited answer (Suricata's
// dns-udp-unsolicited-response, Zeek's "flip" trace dns53.pcap) cannot plant a name.
//
// Cost: nothing is allocated per query or answer. The packet path fills a reused QueryKey
// from the packet's bytes (query-key.ts): the client and server addresses as 32-bit words
// (one each for IPv4, four for IPv6), both ports and the id, no text; the question is a 32-bit
// hash of its name's bytes (NameTable.hash; textNameHash for text), not a string. Pending
// queries are rows of typed arrays, one per slot of a FIFO ring, chained per bucket of a hash
// table over slots; every hit compares the whole key and the name hash. (The "ip|port" text
// query() / match() take keeps its text in `s`. IPv6 keys were text too: a query and its answer
// over IPv6 cost ~600 ns in keys and lookups against ~170 over IPv4, now ~255. An IPv6 key's
// other six words are rows of an array made at the first IPv6 query, so a host without IPv6
// DNS does not pay its 24 bytes a slot.) Measured on the bench capture, side by side: a
// 7-character key string cost ~230 ns a Map get or set, and the node objects, name strings and
// keys were ~550 bytes of garbage per query and answer, 13 MB of it promoted out of the young
// generation.
// Expiry and eviction take the oldest query from the front of the ring, so a packet that
// expires nothing pays one comparison for it. (A first version walked a Map from its oldest
// insertion instead; V8 skips deleted slots on every walk, and under eviction pressure a pair
// cost ~25 times more.)
// Answers check the age themselves: a late answer is refused.
// Comparing the question by hash does not weaken the check: what an off-path spoofer cannot
// know is the id and the client port, and a question crafted to hash like the asked one gains
// nothing that a CNAME in an answer to the asked name would not give.

import { textNameHash } from './names.js';
import { textQueryKey, QueryKey } from './query-key.js';

/** Counters; `unmatched` includes `duplicates` (answers to a query already answered). */
export class QueryTrackerStats {
  queries = 0;
  matched = 0;
  unmatched = 0;
  duplicates = 0;
  /** Queries never answered within the window (counted when swept or met late). */
  expired = 0;
  /** Pending queries dropped by the maxPending bound (oldest first). */
  evictions = 0;
  /** The same query (key and name) again while pending: a client retry, not a new slot. */
  retransmits = 0;
}

export interface QueryTrackerOptions {
  /** How long an answer may follow its query. 5 s is glibc's default resolver timeout
   * (resolv.conf(5) `timeout:5`); an answer later than that has no waiting socket. */
  windowMs?: number;
  /** Bound on pending queries (kept answered ones included). About 60 bytes a query (its row and two buckets): ~4 MB at 65536; 24 more once IPv6 queries come (~5.5 MB). */
  maxPending?: number;
}

/** Different names kept at most under one key (an id reused by a busy forwarder socket). */
const MAX_CHAIN = 8;

const FREE = 0;
const PENDING = 1;
const ANSWERED = 2;

export class QueryTracker {
  readonly stats = new QueryTrackerStats();
  readonly windowMs: number;
  readonly maxPending: number;
  /** Queries held (pending and answered within the window). */
  private held = 0;
  // The ring: slot i is a query while it is queued and not FREE. Oldest at `first`.
  private first = 0;
  private queued = 0;
  private readonly state: Uint8Array;
  private readonly kh: Int32Array;
  private readonly ka: Uint32Array;
  private readonly kb: Uint32Array;
  private readonly kp: Uint32Array;
  private readonly kid: Int32Array;
  private readonly ks: string[];
  /** The other six words of IPv6 keys (those whose ks is IPV6_KEY; other slots' rows are leftovers): kx[6 s, 6 s + 6), c0, c1, c2, s0, s1, s2. Made at the first IPv6 query. */
  private kx: Uint32Array | undefined;
  /** Name hash; 0 = no question (or the root). */
  private readonly nh: Int32Array;
  /** Time of the query (of its last retransmission), ms. */
  private readonly at: Float64Array;
  /** Time it was (re)queued: the ring is ordered by it. */
  private readonly queuedAt: Float64Array;
  /** Next slot in the same bucket, -1 at the end. */
  private readonly next: Int32Array;
  /** Bucket → its newest slot, -1 when empty. */
  private readonly heads: Int32Array;
  private readonly mask: number;
  private readonly textKey = new QueryKey();

  constructor(opts: QueryTrackerOptions = {}) {
    this.windowMs = opts.windowMs ?? 5000;
    this.maxPending = opts.maxPending ?? 65536;
    if (!(this.windowMs > 0)) throw new Error(`QueryTracker: windowMs must be > 0 (got ${this.windowMs})`);
    if (!(this.maxPending >= 1) || !Number.isInteger(this.maxPending)) {
      throw new Error(`QueryTracker: maxPending must be an integer >= 1 (got ${this.maxPending})`);
    }
    const n = this.maxPending;
    this.state = new Uint8Array(n);
    this.kh = new Int32Array(n);
    this.ka = new Uint32Array(n);
    this.kb = new Uint32Array(n);
    this.kp = new Uint32Array(n);
    this.kid = new Int32Array(n);
    this.ks = new Array<string>(n).fill('');
    this.nh = new Int32Array(n);
    this.at = new Float64Array(n);
    this.queuedAt = new Float64Array(n);
    this.next = new Int32Array(n);
    let buckets = 16;
    while (buckets < n * 2) buckets *= 2;
    this.heads = new Int32Array(buckets).fill(-1);
    this.mask = buckets - 1;
  }

  /** Queries held now (pending and answered-within-window). */
  get size(): number {
    return this.held;
  }

  /** A query from `client` ("ip|port") to `server` ("ip|port") seen at `now` (ms). */
  query(q: { id: number; name: string }, client: string, server: string, now: number): void {
    this.queryKeyed(textQueryKey(q.id, client, server, this.textKey), textNameHash(q.name), now);
  }

  /**
   * A query under `key` (queryKey() or textQueryKey(); copied, so it may be reused) for the
   * name whose hash is `name` (nameHash / textNameHash; 0 for the root).
   */
  queryKeyed(key: QueryKey, name: number, now: number): void {
    this.stats.queries++;
    this.sweep(now);
    let names = 0;
    let oldest = -1;
    for (let s = this.heads[key.h & this.mask]; s >= 0; s = this.next[s]) {
      if (!this.sameKey(s, key)) continue;
      if (this.nh[s] === name) {
        // The same question again: a retry (or, once answered, a new ask) re-arms the window.
        if (this.state[s] === PENDING) this.stats.retransmits++;
        this.state[s] = PENDING;
        this.at[s] = now;
        return;
      }
      names++;
      oldest = s;
    }
    if (names >= MAX_CHAIN) this.remove(oldest, true);
    if (this.queued === this.maxPending) {
      // Full: the oldest queued query makes room.
      const s = this.shift();
      if (this.state[s] !== FREE) this.remove(s, true);
    }
    const s = this.slotAtBack();
    this.kh[s] = key.h;
    this.ka[s] = key.a;
    this.kb[s] = key.b;
    this.kp[s] = key.p;
    this.kid[s] = key.id;
    this.ks[s] = key.s;
    if (key.v6 !== 0) {
      const x = (this.kx ??= new Uint32Array(this.maxPending * 6));
      const i = s * 6;
      x[i] = key.c0;
      x[i + 1] = key.c1;
      x[i + 2] = key.c2;
      x[i + 3] = key.s0;
      x[i + 4] = key.s1;
      x[i + 5] = key.s2;
    }
    this.nh[s] = name;
    this.at[s] = now;
    this.queuedAt[s] = now;
    this.state[s] = PENDING;
    const b = key.h & this.mask;
    this.next[s] = this.heads[b];
    this.heads[b] = s;
    this.held++;
  }

  /**
   * True when the answer `r` from `server` to `client` at `now` answers a pending query (which
   * is then consumed). `r.queryName` "" (no question, as parseDnsResponse reports it) matches
   * on the id alone.
   */
  match(r: { id: number; queryName: string }, client: string, server: string, now: number): boolean {
    return this.matchKeyed(textQueryKey(r.id, client, server, this.textKey), textNameHash(r.queryName), now);
  }

  /** match() under a key made as for queryKeyed(); `name` 0 matches on the key alone. */
  matchKeyed(key: QueryKey, name: number, now: number): boolean {
    this.sweep(now);
    let found = -1;
    for (let s = this.heads[key.h & this.mask]; s >= 0; s = this.next[s]) {
      if ((name !== 0 && this.nh[s] !== name) || !this.sameKey(s, key)) continue;
      // Without a question, prefer a query still waiting over one already answered.
      if (found < 0 || (this.state[found] === ANSWERED && this.state[s] === PENDING)) found = s;
      if (name !== 0 || this.state[s] === PENDING) break;
    }
    if (found < 0) return this.refuse();
    if (this.state[found] === ANSWERED) {
      this.stats.duplicates++;
      return this.refuse();
    }
    if (now - this.at[found] > this.windowMs) {
      this.stats.expired++;
      this.remove(found, false);
      return this.refuse();
    }
    this.state[found] = ANSWERED;
    this.stats.matched++;
    return true;
  }

  /** Drops queries older than the window at `now` (called by query() and match() too). */
  sweep(now: number): void {
    const oldest = now - this.windowMs;
    while (this.queued > 0) {
      const s = this.first;
      const st = this.state[s];
      if (st !== FREE && this.queuedAt[s] >= oldest) return;
      this.shift();
      if (st === FREE) continue;
      if (this.at[s] >= oldest) {
        // Retransmitted since it was queued: back of the queue with its new time.
        this.requeue(s);
        continue;
      }
      if (st === PENDING) this.stats.expired++;
      this.remove(s, false);
    }
  }

  private sameKey(s: number, k: QueryKey): boolean {
    return this.kh[s] === k.h && this.ka[s] === k.a && this.kb[s] === k.b && this.kp[s] === k.p
      && this.kid[s] === k.id && this.ks[s] === k.s && (k.v6 === 0 || this.sameWords(s, k));
  }

  /** The IPv6 key in slot `s` has k's other six words. */
  private sameWords(s: number, k: QueryKey): boolean {
    const x = this.kx as Uint32Array;
    const i = s * 6;
    return x[i] === k.c0 && x[i + 1] === k.c1 && x[i + 2] === k.c2 && x[i + 3] === k.s0 && x[i + 4] === k.s1 && x[i + 5] === k.s2;
  }

  private refuse(): false {
    this.stats.unmatched++;
    return false;
  }

  /** Takes the next free slot at the back of the ring (the caller made room). */
  private slotAtBack(): number {
    const s = (this.first + this.queued) % this.maxPending;
    this.queued++;
    return s;
  }

  /** Takes the front slot off the ring; its row stays until the slot is reused. */
  private shift(): number {
    const s = this.first;
    this.first = (this.first + 1) % this.maxPending;
    this.queued--;
    return s;
  }

  /** Moves the query in slot `s` (just shifted off the front) to the back, queued at its last time. */
  private requeue(s: number): void {
    const t = this.slotAtBack();
    if (t !== s) {
      this.kh[t] = this.kh[s];
      this.ka[t] = this.ka[s];
      this.kb[t] = this.kb[s];
      this.kp[t] = this.kp[s];
      this.kid[t] = this.kid[s];
      this.ks[t] = this.ks[s];
      this.kx?.copyWithin(t * 6, s * 6, s * 6 + 6);
      this.nh[t] = this.nh[s];
      this.at[t] = this.at[s];
      this.state[t] = this.state[s];
      this.state[s] = FREE;
      this.ks[s] = '';
      this.relink(s, t);
    }
    this.queuedAt[t] = this.at[t];
  }

  /** Drops the query in slot `s` from its bucket (its ring slot is skipped later). */
  private remove(s: number, evicted: boolean): void {
    this.state[s] = FREE;
    this.ks[s] = '';
    this.held--;
    if (evicted) this.stats.evictions++;
    this.relink(s, -1);
  }

  /** Replaces slot `s` in its bucket's chain by `t`, or unlinks it (t = -1). */
  private relink(s: number, t: number): void {
    const b = this.kh[t < 0 ? s : t] & this.mask;
    const after = this.next[s];
    if (t >= 0) this.next[t] = after;
    const to = t >= 0 ? t : after;
    if (this.heads[b] === s) {
      this.heads[b] = to;
      return;
    }
    for (let p = this.heads[b]; p >= 0; p = this.next[p]) {
      if (this.next[p] === s) {
        this.next[p] = to;
        return;
      }
    }
  }
}
