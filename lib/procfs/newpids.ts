// Pids born since the last listing: their fds are indexed as soon as they are seen, and those
// that hold sockets are announced (onNewSocketHolders) so their facts can be snapshotted while
// the process still exists: a short-lived client has usually exited by the time resolve()
// returns (measured: 0-7 of 50 curl runs still readable).
import type { NetnsIndex } from './netns.js';
import type { ResolverCounters } from './owner.js';
import type { PidIndex } from './pidindex.js';

type Listing = NonNullable<Awaited<ReturnType<NetnsIndex['refresh']>>>;

export interface NewPidsOptions {
  index: PidIndex;
  netns: NetnsIndex;
  counters: ResolverCounters;
  onNewSocketHolders?: (pids: number[]) => void;
}

export class NewPids {
  constructor(private readonly o: NewPidsOptions) {}

  /**
   * Indexes the fds of pids born since the last listing BEFORE the net tables are read. Reading
   * /proc/net/tcp walks the kernel's whole established hash (2.5-7 ms measured on a 136-pid
   * VM), longer than a curl to a fast server lives after its SYN; scanning a new pid's fds
   * first (~0.3 ms) catches the socket while its process still holds it, and the table read
   * then only has to confirm the 4-tuple → inode.
   */
  async prescan(): Promise<void> {
    await this.scanUnindexed((r) => r.fresh, true);
  }

  /** Calls onNewSocketHolders with those of these (just scanned) pids that hold sockets. */
  announce(scanned: number[]): void {
    const holders = scanned.filter((pid) => this.o.index.socketCount(pid) > 0);
    if (holders.length === 0 || !this.o.onNewSocketHolders) return;
    try { this.o.onNewSocketHolders(holders); } catch { this.o.counters.hookErrors++; }
  }

  /**
   * Keeps the inode → pid index warm between batches: lists pids (rate-limited), groups the new
   * ones by namespace and scans their fds (announcing new socket holders). Not measured to help
   * a connection that lives a few ms (a 100 ms timer rarely lands inside it: the prescan is what
   * catches those); it spares a batch the scan of pids born since the last one.
   */
  async warm(): Promise<void> {
    await this.scanUnindexed((r) => [...r.live], false);
  }

  /** Lists pids (rate-limited), drops the dead, and scans and announces the `pick`ed ones not indexed yet. */
  private async scanUnindexed(pick: (r: Listing) => number[], counted: boolean): Promise<void> {
    const { index, netns, counters } = this.o;
    const r = await netns.refresh(false);
    if (!r) return;
    index.dropDead(r.live);
    // The first listing's pids are the whole host: indexed lazily, on the first miss.
    if (r.first) return;
    const fresh = pick(r).filter((pid) => !index.hasPid(pid));
    if (fresh.length === 0) return;
    if (counted) counters.partialScans++;
    await index.scan(fresh);
    this.announce(fresh);
  }
}
