// Flow → socket (inode, uid, state) in whichever network namespace has it. The agent's own
// namespace first (netlink sock_diag when it answers, else its /proc/net tables): most flows are
// its own, and it wins ties with a container. Other namespaces are read through a member's
// /proc/MEMBER/net/* (setns would need CAP_SYS_ADMIN): only those that own the flow's local
// address, or all of them for a loopback or unclaimed address, at a bounded rate.
import { diagMatch } from './hostdiag.js';
import type { SockDiag } from './netlink.js';
import { UNKNOWN_NETNS, type NetnsIndex } from './netns.js';
import { isLoopbackText } from '../decode/index.js';
import { searchNs, type Match } from './netns-match.js';
import type { NetFile, NetTables } from './netns-tables.js';
import type { ResolverCounters, SocketOwner } from './owner.js';
import { Tier, type FlowKey } from './socketindex.js';

export interface SocketSearchOptions {
  tables: NetTables;
  netns: NetnsIndex;
  diag: SockDiag | undefined;
  counters: ResolverCounters;
  now: () => number;
  /** Namespaces read per batch at most; the rest are counted in netnsSkipped. */
  maxNamespaces: number;
  /** Least time between two broad sweeps that re-read every namespace's tables, ms. */
  broadSweepIntervalMs: number;
}

export class SocketSearch {
  private lastBroadSweep = Number.NEGATIVE_INFINITY;
  private batch = 0;
  private sweepBatch = -1;

  constructor(private readonly o: SocketSearchOptions) {}

  /** Starts a resolve() batch (one broad sweep per batch at most). */
  nextBatch(): void {
    this.batch++;
  }

  /** A new owner from a match, holder unknown. */
  ownerOf(best: Match): SocketOwner {
    const e = best.entry!;
    const owner: SocketOwner = { inode: e.inode, uid: e.uid, state: e.state, hostNetns: best.ns === this.o.netns.host };
    if (best.ns !== UNKNOWN_NETNS) owner.netns = best.ns;
    return owner;
  }

  /**
   * `host`: the host namespace's answer already taken by netlink (null: netlink did not answer,
   * so the host's table is read without asking again). `touched`: namespaces read this batch.
   */
  async find(transport: 'tcp' | 'udp', key: FlowKey & { v4: boolean }, touched: Set<number>, host?: Match | null): Promise<SocketOwner | undefined> {
    const { netns, tables, counters } = this.o;
    const udp = transport === 'udp';
    // IPv4 flows may sit on dual-stack sockets listed in the "6" file as ::ffff:a.b.c.d;
    // that file is read only when the IPv4 file has no exact match.
    const files: NetFile[] = key.v4 ? [transport, `${transport}6`] : [`${transport}6`];
    let best = host ?? (host === null ? searchNs(tables, netns.host, key, files, udp) : this.searchHost(transport, key, files));
    if (best.tier !== Tier.Exact) best = await this.searchOthers(key, files, udp, touched, best);
    if (!best.entry) {
      counters.socketMisses++;
      return undefined;
    }
    if (best.ns !== netns.host) counters.otherNetnsHits++;
    return best.owner ?? this.ownerOf(best);
  }

  /** The agent's own namespace: sock_diag when it answers, else its /proc/net tables. */
  private searchHost(transport: 'tcp' | 'udp', key: FlowKey, files: NetFile[]): Match {
    const { diag, netns, tables, counters } = this.o;
    const m = diag ? diagMatch(diag, netns, transport, key, counters) : undefined;
    return m ?? searchNs(tables, netns.host, key, files, transport === 'udp');
  }

  private async searchOthers(key: FlowKey, files: NetFile[], udp: boolean, touched: Set<number>, best: Match): Promise<Match> {
    const { netns, tables, counters } = this.o;
    const loopback = isLoopbackText(key.localIp);
    // Only the host has sockets on its own (non-loopback) addresses: no other table can match.
    if (!loopback && netns.ownedByHost(key.localIp)) return best;
    await netns.refresh(false);
    // A non-loopback local address is looked for only in the namespaces that own it; when none
    // claims it (addresses set after the namespace was first seen), in all of them.
    const owners = loopback ? [] : netns.ownersOf(key.localIp);
    const sweep = owners.length > 0 || this.broadSweepDue();
    for (const ns of owners.length > 0 ? owners : netns.others()) {
      if (!touched.has(ns) && touched.size >= this.o.maxNamespaces) {
        counters.netnsSkipped++;
        continue;
      }
      touched.add(ns);
      const found = searchNs(tables, ns, key, files, udp, sweep);
      if (found.tier < best.tier) best = found;
      if (best.tier === Tier.Exact) break;
    }
    return best;
  }

  /**
   * With 100 pods a sweep is 100 table walks (~1.5 ms each measured: the TCP hash is shared by
   * all namespaces and walked whole for each): re-read at most every broadSweepIntervalMs, and
   * then for the whole batch; in between, the tables already cached are used.
   */
  private broadSweepDue(): boolean {
    if (this.sweepBatch === this.batch) return true;
    const now = this.o.now();
    if (now - this.lastBroadSweep < this.o.broadSweepIntervalMs) return false;
    this.sweepBatch = this.batch;
    this.lastBroadSweep = now;
    this.o.counters.broadSweeps++;
    return true;
  }
}
