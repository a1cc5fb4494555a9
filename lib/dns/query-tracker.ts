// Answers accepted only when somebody asked: a DNS answer names addresses in the cache only
// if a query with the same transaction id and name went from the same client address and port
// to the same server, within the window before it. That is the check a stub resolver makes
// itself (RFC 5452 §3: question, id, addresses and ports), so an off-path spoofer, an answer
// to another socket's query, or a stray unsolicited answer (Suricata's
// dns-udp-unsolicited-response, Zeek's "flip" trace dns53.pcap) cannot plant a name.
//
// Cost: no string is made for the key. The packet path fills a reused QueryKey from the
// packet's bytes (queryKey): for IPv4 the client and server addresses as 32-bit numbers, both
// ports and the id; the Map is keyed by a small integer mixed from them, and each pending query
// keeps the whole key, compared on every hit (queries whose keys mix alike share a chain). IPv6
// keys, and the "ip|port" text query() / match() take, keep their text in `s` and mix it too.
// Measured: a 7-character key string cost ~230 ns a Map get or set (made, then hashed), the
// integer ~15 ns; on the bench capture query tracking went from ~0.27 s to ~0.1 s of 2.2 s.
// Expiry and eviction take the oldest query from a FIFO ring of the pending queries, so a
// packet that expires nothing pays one comparison for it. A first version walked the Map from
// its oldest insertion instead; V8 skips deleted slots on every walk, and under eviction
// pressure a pair cost ~25 times more.
// Answers check the age themselves: a late answer is refused.

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
  /** Bound on pending queries (kept answered ones included). About 200 bytes a query (node, key, name, Map slot): ~13 MB at 65536. */
  maxPending?: number;
}

/**
 * Who asked whom, with which id: the client and server sockets and the transaction id. IPv4
 * from a packet: `a` / `b` the client / server address as 32-bit numbers, `p` both ports
 * (client << 16 | server), `s` ''. Otherwise `s` is the text of it all and a = b = p = 0.
 * `h` mixes them into the Map's integer key.
 */
export class QueryKey {
  h = 0;
  a = 0;
  b = 0;
  p = 0;
  id = 0;
  s = '';
}

/** One query; queries whose keys mix to the same integer form a short chain. */
interface Pending {
  h: number;
  a: number;
  b: number;
  p: number;
  id: number;
  s: string;
  name: string;
  /** Time of the query (of its last retransmission). */
  at: number;
  /** Time it was (re)queued in the ring; the ring is walked by this. */
  queuedAt: number;
  /** Answered already: kept until the window ends so a second answer counts as a duplicate. */
  answered: boolean;
  /** Taken out of the Map (answered late, evicted); its ring slot is skipped. */
  removed: boolean;
  next: Pending | undefined;
}

import type { PacketInfo } from '../decode/index.js';

/**
 * The tracker key of a DNS message in `pkt` with transaction `id`: its client and server
 * sockets in that order, whichever way the packet goes (`fromClient`: a query; else an
 * answer). Made from the bytes into `out` (the packet path passes one reused key), no text
 * for IPv4.
 */
export function queryKey(pkt: PacketInfo, id: number, fromClient: boolean, out: QueryKey = new QueryKey()): QueryKey {
  const buf = pkt.buf;
  const c = fromClient ? pkt.srcOffset : pkt.dstOffset;
  const s = fromClient ? pkt.dstOffset : pkt.srcOffset;
  const cPort = fromClient ? pkt.srcPort : pkt.dstPort;
  const sPort = fromClient ? pkt.dstPort : pkt.srcPort;
  out.id = id;
  if (pkt.ipVersion !== 6) {
    out.a = ((buf[c] << 24) | (buf[c + 1] << 16) | (buf[c + 2] << 8) | buf[c + 3]) >>> 0;
    out.b = ((buf[s] << 24) | (buf[s + 1] << 16) | (buf[s + 2] << 8) | buf[s + 3]) >>> 0;
    out.p = ((cPort << 16) | sPort) >>> 0;
    out.s = '';
  } else {
    out.a = 0;
    out.b = 0;
    out.p = 0;
    out.s = String.fromCharCode(cPort, sPort) + buf.toString('latin1', c, c + 16) + buf.toString('latin1', s, s + 16);
  }
  out.h = mix(out);
  return out;
}

/** The key of a query from `client` ("ip|port") to `server` ("ip|port"). */
export function textQueryKey(id: number, client: string, server: string, out: QueryKey = new QueryKey()): QueryKey {
  out.id = id;
  out.a = 0;
  out.b = 0;
  out.p = 0;
  out.s = `${client}|${server}`;
  out.h = mix(out);
  return out;
}

/** The Map key: a small integer (a Map hashes it without allocating). */
function mix(k: QueryKey): number {
  let h = Math.imul(k.a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ k.b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ k.p, 0x27d4eb2f);
  h ^= k.id;
  const t = k.s;
  for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  return h & 0x3fffffff;
}

function sameKey(n: Pending, k: QueryKey): boolean {
  return n.a === k.a && n.b === k.b && n.p === k.p && n.id === k.id && n.s === k.s;
}

/** Queries under one Map key kept at most: different names under one key (an id reused by a busy forwarder socket), or keys that mix alike. */
const MAX_CHAIN = 8;

export class QueryTracker {
  readonly stats = new QueryTrackerStats();
  readonly windowMs: number;
  readonly maxPending: number;
  private readonly pending = new Map<number, Pending>();
  private readonly textKey = new QueryKey();
  /** Queries in the Map (chain nodes). */
  private held = 0;
  /** FIFO of queries, oldest at `first`; removed ones stay until they reach the front. */
  private readonly ring: (Pending | undefined)[];
  private first = 0;
  private queued = 0;

  constructor(opts: QueryTrackerOptions = {}) {
    this.windowMs = opts.windowMs ?? 5000;
    this.maxPending = opts.maxPending ?? 65536;
    if (!(this.windowMs > 0)) throw new Error(`QueryTracker: windowMs must be > 0 (got ${this.windowMs})`);
    if (!(this.maxPending >= 1) || !Number.isInteger(this.maxPending)) {
      throw new Error(`QueryTracker: maxPending must be an integer >= 1 (got ${this.maxPending})`);
    }
    this.ring = new Array<Pending | undefined>(this.maxPending).fill(undefined);
  }

  /** Queries held now (pending and answered-within-window). */
  get size(): number {
    return this.held;
  }

  /** A query from `client` ("ip|port") to `server` ("ip|port") seen at `now` (ms). */
  query(q: { id: number; name: string }, client: string, server: string, now: number): void {
    this.queryKeyed(textQueryKey(q.id, client, server, this.textKey), q.name, now);
  }

  /** A query for `qname` under `key` (queryKey() or textQueryKey(); copied, so it may be reused). */
  queryKeyed(key: QueryKey, qname: string, now: number): void {
    this.stats.queries++;
    this.sweep(now);
    const name = qname.toLowerCase();
    let head = this.pending.get(key.h);
    let length = 0;
    for (let p = head; p !== undefined; p = p.next) {
      length++;
      if (p.name !== name || !sameKey(p, key)) continue;
      // The same question again: a retry (or, once answered, a new ask) re-arms the window.
      if (!p.answered) this.stats.retransmits++;
      p.answered = false;
      p.at = now;
      return;
    }
    if (length >= MAX_CHAIN && head !== undefined) this.remove(lastOf(head), true);
    if (this.queued === this.ring.length) {
      // Full: the oldest queued query makes room (it may be of this key).
      const oldest = this.shift();
      if (!oldest.removed) this.remove(oldest, true);
      head = this.pending.get(key.h);
    }
    const node: Pending = { h: key.h, a: key.a, b: key.b, p: key.p, id: key.id, s: key.s, name, at: now, queuedAt: now, answered: false, removed: false, next: head };
    this.pending.set(key.h, node);
    this.held++;
    this.push(node);
  }

  /**
   * True when the answer `r` from `server` to `client` at `now` answers a pending query (which
   * is then consumed). `r.queryName` "" (no question, as parseDnsResponse reports it) matches
   * on the id alone.
   */
  match(r: { id: number; queryName: string }, client: string, server: string, now: number): boolean {
    return this.matchKeyed(textQueryKey(r.id, client, server, this.textKey), r.queryName, now);
  }

  /** match() under a key made as for queryKeyed(). */
  matchKeyed(key: QueryKey, queryName: string, now: number): boolean {
    this.sweep(now);
    const name = queryName === '' ? '' : queryName.toLowerCase();
    let found: Pending | undefined;
    for (let p = this.pending.get(key.h); p !== undefined; p = p.next) {
      if ((name !== '' && p.name !== name) || !sameKey(p, key)) continue;
      found ??= p;
      // Without a question, prefer a query still waiting over one already answered.
      if (!p.answered || name !== '') break;
    }
    if (found === undefined) return this.refuse();
    if (found.answered) {
      this.stats.duplicates++;
      return this.refuse();
    }
    if (now - found.at > this.windowMs) {
      this.stats.expired++;
      this.remove(found, false);
      return this.refuse();
    }
    found.answered = true;
    this.stats.matched++;
    return true;
  }

  /** Drops queries older than the window at `now` (called by query() and match() too). */
  sweep(now: number): void {
    const oldest = now - this.windowMs;
    while (this.queued > 0) {
      const front = this.ring[this.first] as Pending;
      if (!front.removed && front.queuedAt >= oldest) return;
      this.shift();
      if (front.removed) continue;
      if (front.at >= oldest) {
        // Retransmitted since it was queued: back of the queue with its new time.
        front.queuedAt = front.at;
        this.push(front);
        continue;
      }
      if (!front.answered) this.stats.expired++;
      this.remove(front, false);
    }
  }

  private refuse(): false {
    this.stats.unmatched++;
    return false;
  }

  private push(node: Pending): void {
    this.ring[(this.first + this.queued) % this.ring.length] = node;
    this.queued++;
  }

  private shift(): Pending {
    const node = this.ring[this.first] as Pending;
    this.ring[this.first] = undefined;
    this.first = (this.first + 1) % this.ring.length;
    this.queued--;
    return node;
  }

  /** Takes `node` out of its key's chain (its ring slot is skipped later). */
  private remove(node: Pending, evicted: boolean): void {
    node.removed = true;
    this.held--;
    if (evicted) this.stats.evictions++;
    const head = this.pending.get(node.h);
    if (head === node) {
      if (node.next === undefined) this.pending.delete(node.h);
      else this.pending.set(node.h, node.next);
      return;
    }
    for (let p = head; p !== undefined; p = p.next) {
      if (p.next === node) {
        p.next = node.next;
        return;
      }
    }
  }
}

function lastOf(head: Pending): Pending {
  let p = head;
  while (p.next !== undefined) p = p.next;
  return p;
}
