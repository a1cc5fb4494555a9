// Answers accepted only when somebody asked: a DNS answer names addresses in the cache only
// if a query with the same transaction id and name went from the same client address and port
// to the same server, within the window before it. That is the check a stub resolver makes
// itself (RFC 5452 §4.1: id, name, addresses and ports), so an off-path spoofer, an answer
// to another socket's query, or a stray unsolicited answer (Suricata's
// dns-udp-unsolicited-response, Zeek's "flip" trace dns53.pcap) cannot plant a name.
//
// Cost: the key "id|client|server" is one string and one Map entry per pending query; a query
// does get + set of that key and an answer one get (V8 keeps a string's hash once computed).
// Expiry walks the Map from its oldest insertion and runs at most once per SWEEP_DIVISOR-th of
// the window of packet time, so a packet that expires nothing pays one comparison for it.
// Answers check the age themselves: a late answer is refused even before a sweep.

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
  /** Bound on pending queries (kept answered ones included). 65536 entries ≈ 10 MB. */
  maxPending?: number;
}

/** One query; queries that share a key (same id, client, server) form a short chain. */
interface Pending {
  name: string;
  at: number;
  /** Answered already: kept until the window ends so a second answer counts as a duplicate. */
  answered: boolean;
  next: Pending | undefined;
}

/** Different names under one key (an id reused by a busy forwarder socket) kept at most. */
const MAX_CHAIN = 8;
const SWEEP_DIVISOR = 16;

export class QueryTracker {
  readonly stats = new QueryTrackerStats();
  readonly windowMs: number;
  readonly maxPending: number;
  private readonly pending = new Map<string, Pending>();
  /** Queries held (chain nodes), for the bound. */
  private held = 0;
  private lastSweep = -Infinity;
  private readonly sweepEvery: number;

  constructor(opts: QueryTrackerOptions = {}) {
    this.windowMs = opts.windowMs ?? 5000;
    this.maxPending = opts.maxPending ?? 65536;
    if (!(this.windowMs > 0)) throw new Error(`QueryTracker: windowMs must be > 0 (got ${this.windowMs})`);
    if (!(this.maxPending >= 1)) throw new Error(`QueryTracker: maxPending must be >= 1 (got ${this.maxPending})`);
    this.sweepEvery = this.windowMs / SWEEP_DIVISOR;
  }

  /** Queries held now (pending and answered-within-window). */
  get size(): number {
    return this.held;
  }

  /** A query from `client` ("ip|port") to `server` ("ip|port") seen at `now` (ms). */
  query(q: { id: number; name: string }, client: string, server: string, now: number): void {
    this.stats.queries++;
    this.maybeSweep(now);
    const key = `${q.id}|${client}|${server}`;
    const name = q.name.toLowerCase();
    const head = this.pending.get(key);
    if (head === undefined) {
      if (this.held >= this.maxPending) this.evictOldest();
      this.pending.set(key, { name, at: now, answered: false, next: undefined });
      this.held++;
      return;
    }
    let length = 0;
    for (let p: Pending | undefined = head; p !== undefined; p = p.next) {
      length++;
      if (p.name !== name) continue;
      if (!p.answered) this.stats.retransmits++;
      p.answered = false;
      p.at = now;
      this.touch(key, head);
      return;
    }
    let next: Pending | undefined = head;
    if (length >= MAX_CHAIN) {
      this.dropLast(head);
    } else if (this.held >= this.maxPending && this.evictOldest() === key) {
      next = undefined; // our own key was the oldest
    }
    this.held++;
    this.touch(key, { name, at: now, answered: false, next });
  }

  /**
   * True when the answer `r` from `server` to `client` at `now` answers a pending query (which
   * is then consumed). `r.queryName` "" (no question, as parseDnsResponse reports it) matches
   * on the id alone.
   */
  match(r: { id: number; queryName: string }, client: string, server: string, now: number): boolean {
    this.maybeSweep(now);
    const key = `${r.id}|${client}|${server}`;
    const head = this.pending.get(key);
    const name = r.queryName === '' ? '' : r.queryName.toLowerCase();
    let found: Pending | undefined;
    for (let p = head; p !== undefined; p = p.next) {
      if (name !== '' && p.name !== name) continue;
      found ??= p;
      // Without a question, prefer a query still waiting over one already answered.
      if (!p.answered || name !== '') break;
    }
    if (found === undefined || head === undefined) return this.refuse();
    if (found.answered) {
      this.stats.duplicates++;
      return this.refuse();
    }
    if (now - found.at > this.windowMs) {
      this.stats.expired++;
      this.unlink(key, head, found);
      return this.refuse();
    }
    found.answered = true;
    this.stats.matched++;
    return true;
  }

  /** Drops everything expired at `now` (also done as packets arrive). */
  sweep(now: number): void {
    this.lastSweep = now;
    const oldest = now - this.windowMs;
    for (const [key, head] of this.pending) {
      let kept: Pending | undefined;
      let tail: Pending | undefined;
      let dropped = false;
      for (let p: Pending | undefined = head; p !== undefined; p = p.next) {
        if (p.at >= oldest) {
          if (tail === undefined) kept = p;
          else tail.next = p;
          tail = p;
          continue;
        }
        dropped = true;
        this.held--;
        if (!p.answered) this.stats.expired++;
      }
      // Keys sit in the order they were last touched: the first one with nothing expired
      // ends the walk (a fresher chain moved to the back is met again at most once).
      if (!dropped) return;
      if (tail !== undefined) tail.next = undefined;
      this.pending.delete(key);
      if (kept !== undefined) this.pending.set(key, kept);
    }
  }

  private maybeSweep(now: number): void {
    // A clock that steps back (another interface's timestamps) restarts the schedule.
    if (now - this.lastSweep >= this.sweepEvery || now < this.lastSweep) this.sweep(now);
  }

  private refuse(): false {
    this.stats.unmatched++;
    return false;
  }

  /** Sets `key` to `head`, moved to the back of the Map's order (most recently touched). */
  private touch(key: string, head: Pending): void {
    this.pending.delete(key);
    this.pending.set(key, head);
  }

  /** Evicts the least recently touched key with all its queries; returns the key. */
  private evictOldest(): string | undefined {
    for (const [key, head] of this.pending) {
      this.pending.delete(key);
      for (let p: Pending | undefined = head; p !== undefined; p = p.next) {
        this.held--;
        this.stats.evictions++;
      }
      return key;
    }
    return undefined;
  }

  /** Drops the last (oldest) node of a full chain (MAX_CHAIN >= 2, so head survives). */
  private dropLast(head: Pending): void {
    let p = head;
    while (p.next !== undefined && p.next.next !== undefined) p = p.next;
    if (p.next === undefined) return;
    p.next = undefined;
    this.held--;
    this.stats.evictions++;
  }

  private unlink(key: string, head: Pending, node: Pending): void {
    this.held--;
    if (node === head) {
      if (head.next === undefined) this.pending.delete(key);
      else this.pending.set(key, head.next);
      return;
    }
    for (let p = head; p.next !== undefined; p = p.next) {
      if (p.next === node) {
        p.next = node.next;
        return;
      }
    }
  }
}
