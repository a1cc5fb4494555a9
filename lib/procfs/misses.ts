// The expensive end of holder finding, for open sockets the cheap searches (index, peer, young
// and hot pids; holders.ts) did not find: a forced pid listing, a scan of the namespace's pids
// not indexed yet, then a full fd scan of the namespace (every fd of every pid: 1,000 idle
// processes × 20 fds ≈ 20k readlinks, ~130 ms measured here). Whatever is left is answered from
// the exited-holder cache or counted as a miss.
//
// A full scan runs at most every minFullScanIntervalMs per namespace, and at most every ten
// times what the last one cost (so ≤ ~10% of a core): at 2,000 connections/s the misses of a
// loaded moment otherwise fed full scans every 250 ms, half a core, which kept the agent behind.
// Both scans go newest pid first (newestFirst: by number, after the ids wrapped too) and stop
// once every socket asked for is found: a busy program is usually younger than the host's idle
// daemons, and its connection may live 100 ms where a scan of 1,100 pids took longer (measured:
// nothing found until the warm-up ended).
import type { HolderSearch, Wanted } from './holders.js';
import { UNKNOWN_NETNS, type NetnsIndex } from './netns.js';
import type { ResolverCounters } from './owner.js';
import type { PidIndex } from './pidindex.js';

export interface MissScannerOptions {
  index: PidIndex;
  netns: NetnsIndex;
  holders: HolderSearch;
  counters: ResolverCounters;
  now: () => number;
  minFullScanIntervalMs: number;
}

/** Namespaces whose last full scan is remembered; past it the record is cleared (a rescan comes early once). */
const MAX_SPACES = 4096;
/** A full scan waits at least this many times its predecessor's cost. */
const COST_FACTOR = 10;

export class MissScanner {
  private readonly last = new Map<number, { at: number; costMs: number }>();

  constructor(private readonly o: MissScannerOptions) {}

  async settle(ws: Wanted[]): Promise<void> {
    const { index, netns, holders, counters } = this.o;
    // Nothing finds the holder of a socket netlink says is closed by now (under load most misses
    // are such, and scanning for them starved the rest): no listing, no scan for those.
    const closed = new Set(ws.filter((w) => !holders.stillOpen(w)));
    counters.closedBeforeScan += closed.size;
    let unresolved = ws;
    if (closed.size < ws.length) {
      const listing = await netns.refresh(true);
      if (listing) index.dropDead(listing.live);
      const spaces = new Set(ws.map((w) => w.owner.netns ?? UNKNOWN_NETNS));
      const pids = [...spaces].flatMap((ns) => netns.pidsOf(ns));
      const fresh = pids.filter((pid) => !index.hasPid(pid));
      if (fresh.length > 0) {
        counters.partialScans++;
        await index.scan(newestFirst(fresh, netns.lastPid()), () => (unresolved = holders.lookupAll(unresolved)).every((w) => closed.has(w)));
      }
      for (const ns of spaces) {
        const open = unresolved.filter((w) => !closed.has(w));
        if (open.length === 0) break;
        await this.fullScan(ns, open, fresh.length);
        unresolved = holders.lookupAll(open).concat(unresolved.filter((w) => closed.has(w)));
      }
    }
    this.settleMisses(unresolved);
  }

  /** Owners no live holder was found for: the exited-holder cache, else a counted miss. */
  private settleMisses(ws: Wanted[]): void {
    for (const { owner } of ws) {
      if (owner.pid !== undefined) continue;
      const h = this.o.index.recentlyExited(owner.inode);
      if (h) {
        owner.pid = h.pid;
        owner.method = 'cached-socket';
        this.o.counters.cachedSocketHits++;
      } else this.o.counters.pidMisses++;
    }
  }

  /** Rescans every pid of one namespace when due; pointless when the partial scan covered them all. */
  private async fullScan(ns: number, ws: Wanted[], freshCount: number): Promise<void> {
    const pids = this.o.netns.pidsOf(ns);
    if (freshCount >= pids.length || !ws.some((w) => (w.owner.netns ?? UNKNOWN_NETNS) === ns)) return;
    const now = this.o.now();
    const last = this.last.get(ns);
    if (last && now - last.at < this.o.minFullScanIntervalMs) return;
    if (last && now - last.at < COST_FACTOR * last.costMs) {
      this.o.counters.fullScansDeferred++;
      return;
    }
    if (this.last.size >= MAX_SPACES) this.last.clear();
    this.last.set(ns, { at: now, costMs: last?.costMs ?? 0 });
    this.o.counters.fullScans++;
    let mine = ws.filter((w) => (w.owner.netns ?? UNKNOWN_NETNS) === ns);
    const costMs = await this.o.index.scan(newestFirst(pids, this.o.netns.lastPid()), () => (mine = this.o.holders.lookupAll(mine)).length === 0);
    this.last.set(ns, { at: now, costMs });
  }
}

/** Above every pid (PID_MAX_LIMIT, 2^22): a pid at most the last one given out ranks above all the others. */
const PID_LIMIT = 4_194_304;
/** Linux's RESERVED_PIDS: after a wrap, ids start again from here; the ones below are from boot. */
const RESERVED_PIDS = 300;

/**
 * The most recently started first, by number: the kernel gives out ids in increasing order up to
 * pid_max, then starts again from RESERVED_PIDS. So with `lastPid` (ns_last_pid now) the ids from
 * RESERVED_PIDS up to it, highest first, are the newest, and those above it were given out
 * before the wrap, highest first again, then those below RESERVED_PIDS. Without it
 * (unreadable), highest first.
 */
export function newestFirst(pids: readonly number[], lastPid: number | undefined): number[] {
  if (lastPid === undefined) return [...pids].sort((a, b) => b - a);
  const rank = (p: number): number => (p >= RESERVED_PIDS && p <= lastPid ? p + PID_LIMIT : p);
  return [...pids].sort((a, b) => rank(b) - rank(a));
}
