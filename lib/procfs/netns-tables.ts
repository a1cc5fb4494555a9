// Parsed /proc/net/{tcp,tcp6,udp,udp6} of each network namespace, kept for a short time so a
// node with 100 pods does not read 100 files per connection. Within one resolve() batch each
// (namespace, file) is read at most once; a table taken from the cache that lacks the socket
// is re-read once (a new connection is never in a table read before it started).
import { OrderedMap } from '../collections/index.js';
import type { NetnsIndex } from './netns.js';
import { SyncProc } from './netns-sync.js';
import { parseProcNet, type ProcNetParseStats } from './netparse.js';
import type { ProcFs } from './procfs.js';
import { SocketTable } from './socketindex.js';

export type NetFile = 'tcp' | 'tcp6' | 'udp' | 'udp6';

export interface NetTablesOptions {
  proc: ProcFs;
  netns: NetnsIndex;
  now: () => number;
  /** How long a parsed table is reused across batches, ms (default 100). */
  ttlMs?: number;
  /** Bound of cached tables (default 1024: 256 namespaces × 4 files), oldest evicted first. */
  maxTables?: number;
}

interface Cached { table: SocketTable; at: number; batch: number }

export class NetTables {
  readonly stats = { netReads: 0, cacheHits: 0, rereads: 0, evictions: 0, memberFailures: 0 };
  readonly parseStats: ProcNetParseStats = { lines: 0, badLines: 0 };
  private readonly sync: SyncProc;
  private readonly cache = new OrderedMap<string, Cached>();
  private readonly ttlMs: number;
  private readonly maxTables: number;
  private batch = 0;

  constructor(private readonly opts: NetTablesOptions) {
    this.sync = new SyncProc(opts.proc);
    this.ttlMs = opts.ttlMs ?? 100;
    this.maxTables = opts.maxTables ?? 1024;
  }

  /** Starts a resolve() batch: tables read before it count as cached. */
  nextBatch(): void {
    this.batch++;
  }

  /**
   * The table of one namespace file. 'ttl': a table younger than ttlMs is reused; 'fresh': read
   * once in this batch (a cached one read earlier missed the socket); 'any': any cached table,
   * however old (a broad search over every namespace that is not due for a sweep). Returns
   * `readNow` so the caller knows a re-read is useless.
   */
  get(ns: number, file: NetFile, mode: 'ttl' | 'fresh' | 'any'): { table: SocketTable; readNow: boolean } {
    const key = `${ns}|${file}`;
    const hit = this.cache.get(key);
    const fresh = mode === 'fresh';
    if (hit && (hit.batch === this.batch || mode === 'any' || (mode === 'ttl' && this.opts.now() - hit.at < this.ttlMs))) {
      this.stats.cacheHits++;
      return { table: hit.table, readNow: hit.batch === this.batch };
    }
    if (hit && fresh) this.stats.rereads++;
    // A missing file (no IPv6, a namespace that just died) is an empty table, cached like any other.
    const text = this.read(ns, file) ?? '';
    const family = file.endsWith('6') ? 6 : 4;
    const table = new SocketTable(parseProcNet(text, family, { stats: this.parseStats }));
    this.cache.set(key, { table, at: this.opts.now(), batch: this.batch }, true);
    this.stats.evictions += this.cache.trim(this.maxTables);
    return { table, readNow: true };
  }

  /** One read of the file; a member that died is replaced by the next (at most 3 tries). */
  private read(ns: number, file: NetFile): string | undefined {
    this.stats.netReads++;
    for (let attempt = 0; attempt < 3; attempt++) {
      const prefix = this.opts.netns.prefix(ns);
      if (prefix === undefined) return undefined;
      const text = this.sync.readText(`${prefix}net/${file}`);
      if (text !== undefined || prefix === '') return text;
      this.stats.memberFailures++;
      this.opts.netns.memberFailed(ns);
    }
    return undefined;
  }
}
