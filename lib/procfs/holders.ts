// Finding the process that holds a socket whose inode is known (from netlink or a net table),
// cheapest first: the inode index (one readlink confirms it), the pid that last talked to the
// same peer (HotPids: one fd directory, read likeliest fd first, see PidIndex.search), then the
// young and hot pids. Before that sweep, netlink is asked again whether the socket is still
// open (~10 µs): a client that lives a millisecond has usually closed by then, and a sweep of
// 20 busy programs costs ~2 ms for nothing. Under load most unfound sockets are such.
import type { HotPids } from './hotpids.js';
import type { SockDiag } from './netlink.js';
import type { NetnsIndex } from './netns.js';
import type { ResolverCounters, SocketOwner } from './owner.js';
import type { PidIndex } from './pidindex.js';
import type { FlowKey } from './socketindex.js';

/** Pids first seen this recently are "young": a process indexed at birth, before it connected. */
const YOUNG_MS = 1000;
/** Processes born since the last listing that one sweep searches at most (newest first). */
const UNSEEN_MAX = 8;

export interface HolderSearchDeps {
  index: PidIndex;
  netns: NetnsIndex;
  hot: HotPids;
  diag: SockDiag | undefined;
  counters: ResolverCounters;
  /** Young pids found holding a socket: whoever needs their facts snapshots them now. */
  announce: (pids: number[]) => void;
}

/** A socket to find the holder of, with the flow it was found for (for netlink re-asks). */
export interface Wanted { owner: SocketOwner; transport: 'tcp' | 'udp'; key: FlowKey }

export class HolderSearch {
  constructor(private readonly d: HolderSearchDeps) {}

  /** Sets pid on the owners the index knows; returns the rest. */
  lookupAll<T extends Wanted>(ws: T[]): T[] {
    const rest: T[] = [];
    for (const w of ws) {
      const o = w.owner;
      // A pid seen holding the socket is one that opens sockets, even if it has closed this one
      // since: searching it first next time is what finds its next, shorter-lived one.
      const seen = this.d.index.peek(o.inode);
      if (seen) this.d.hot.mark(seen.pid);
      const h = this.d.index.lookup(o.inode);
      if (h) setHolder(o, h.pid);
      else rest.push(w);
    }
    return rest;
  }

  /**
   * The pid that last held a socket to this peer, searched alone: its guessed fds, then (if
   * netlink still lists the socket) a listing of its fds. 'closed': netlink no longer lists it.
   */
  peer(w: Wanted): 'found' | 'closed' | 'missed' {
    const pid = this.d.hot.peer(w.key.remoteIp, w.key.remotePort);
    if (pid === undefined || !this.d.index.hasPid(pid)) {
      this.d.counters.peerUnknown++;
      return 'missed';
    }
    const wanted = new Map([[w.owner.inode, [w.owner]]]);
    if (this.searchIn(pid, wanted, false) > 0) return 'found';
    // A listing costs ~100 µs under load, a netlink lookup ~17 µs: most guesses that miss are
    // for a socket that has closed since (a client that lives a millisecond).
    if (!this.stillOpen(w)) return 'closed';
    if (this.searchIn(pid, wanted, true) > 0) return 'found';
    this.d.counters.peerMisses++;
    return 'missed';
  }

  /** Whether netlink still lists the socket (host namespace only; true when it cannot tell). */
  stillOpen(w: Wanted): boolean {
    const diag = this.d.diag;
    if (!diag?.usable || !w.owner.hostNetns) return true;
    const s = diag.lookup(w.transport, w.key.localIp, w.key.localPort, w.key.remoteIp, w.key.remotePort);
    return s === undefined || (s !== null && s.inode === w.owner.inode);
  }

  /**
   * Young pids (newest first), then hot pids, searched for these sockets, at most maxPids of
   * them, until every socket is found. Sets pid on the owners found; returns the rest.
   */
  sweep<T extends Wanted>(ws: T[], maxPids: number): T[] {
    const { index, netns, hot, counters } = this.d;
    const young = netns.youngPids(YOUNG_MS, maxPids);
    const pids = new Set(young);
    // A hot pid the index dropped has exited: searching it would only re-add an empty entry.
    for (const pid of hot.list()) if (pids.size < maxPids && index.hasPid(pid)) pids.add(pid);
    const wanted = new Map<number, SocketOwner[]>();
    for (const w of ws) wanted.set(w.owner.inode, [...(wanted.get(w.owner.inode) ?? []), w.owner]);
    const holders: number[] = [];
    if (pids.size > 0) counters.youngRescans++;
    // Each pid's two guessed fds first (~6 µs a pid), then listings (~30 µs + reads a pid).
    for (const listed of [false, true]) {
      for (const pid of pids) {
        if (wanted.size === 0) break;
        if (this.searchIn(pid, wanted, listed) > 0) holders.push(pid);
      }
    }
    // Still missing: a process born since the last listing (netns.unseenPids), searched whole.
    const unseen: number[] = [];
    if (wanted.size > 0) {
      for (const pid of netns.unseenPids(UNSEEN_MAX)) {
        if (wanted.size === 0) break;
        if (pids.has(pid)) continue;
        counters.unseenSearched++;
        if (this.searchIn(pid, wanted, true) > 0) {
          counters.unseenHolders++;
          holders.push(pid);
          unseen.push(pid);
        }
      }
    }
    // A young process found holding a socket may exit within ms (a client that connects once).
    const youngHolders = holders.filter((pid) => young.includes(pid) || unseen.includes(pid));
    if (youngHolders.length > 0) this.d.announce(youngHolders);
    return ws.filter((w) => w.owner.pid === undefined);
  }

  /** Searches one pid (its guessed fds, or `listed`: the rest) for the wanted inodes; found ones are set and removed from `wanted`. */
  private searchIn(pid: number, wanted: Map<number, SocketOwner[]>, listed: boolean): number {
    const inodes = new Set(wanted.keys());
    const found = listed ? this.d.index.searchListed(pid, inodes) : this.d.index.guess(pid, inodes);
    for (const inode of found) {
      for (const o of wanted.get(inode) ?? []) setHolder(o, pid);
      wanted.delete(inode);
    }
    if (found.length > 0) this.d.hot.mark(pid);
    return found.length;
  }
}

function setHolder(o: SocketOwner, pid: number): void {
  o.pid = pid;
  o.method = 'procfs-socket';
}
