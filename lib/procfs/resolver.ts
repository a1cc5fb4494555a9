// Flow → socket → process. One resolve() call serves a batch of flows: each /proc/net file is
// read at most once per call, and pids are found through the incremental PidIndex, never by a
// full /proc walk per connection.
import { normaliseIp, unmapIPv4 } from './address.js';
import { parseProcNet, type ProcNetParseStats } from './netparse.js';
import { PidIndex } from './pidindex.js';
import type { ProcFs } from './procfs.js';
import { SocketTable, Tier, type FlowKey } from './socketindex.js';

export interface FlowEnds { transport: 'tcp' | 'udp'; localIp: string; localPort: number; remoteIp: string; remotePort: number }
export interface SocketOwner { inode: number; uid: number; pid?: number; state: number }

export interface SocketResolverOptions {
  proc: ProcFs;
  /** Least time between two full fd rescans. Default 250 ms: a burst of new connections costs one rescan. */
  minFullScanIntervalMs?: number;
  now?: () => number;
  /** Bound of the inode index (see PidIndex). */
  maxInodes?: number;
}

type NetFile = 'tcp' | 'tcp6' | 'udp' | 'udp6';

export class SocketResolver {
  private readonly proc: ProcFs;
  private readonly minFullScanIntervalMs: number;
  private readonly now: () => number;
  private readonly index: PidIndex;
  private lastFullScan = Number.NEGATIVE_INFINITY;
  private readonly counters = { lookups: 0, socketMisses: 0, pidMisses: 0, fullScans: 0, partialScans: 0, badFlows: 0, netReads: 0 };
  private readonly parseStats: ProcNetParseStats = { lines: 0, badLines: 0 };

  constructor(opts: SocketResolverOptions) {
    this.proc = opts.proc;
    this.minFullScanIntervalMs = opts.minFullScanIntervalMs ?? 250;
    this.now = opts.now ?? Date.now;
    this.index = new PidIndex(opts.proc, opts.maxInodes);
  }

  get stats(): Record<string, number> {
    return { ...this.counters, badNetLines: this.parseStats.badLines, indexedInodes: this.index.size, ...this.index.stats };
  }

  async resolve(flows: FlowEnds[]): Promise<(SocketOwner | undefined)[]> {
    this.counters.lookups += flows.length;
    const tables = new Map<NetFile, Promise<SocketTable>>();
    const table = (name: NetFile): Promise<SocketTable> => {
      let t = tables.get(name);
      if (!t) {
        this.counters.netReads++;
        const family = name.endsWith('6') ? 6 : 4;
        t = this.proc.readText(`net/${name}`).then((text) => new SocketTable(parseProcNet(text ?? '', family, { stats: this.parseStats })));
        tables.set(name, t);
      }
      return t;
    };
    const owners: (SocketOwner | undefined)[] = [];
    for (const flow of flows) owners.push(await this.findSocket(flow, table));
    await this.attachPids(owners);
    return owners;
  }

  private async findSocket(flow: FlowEnds, table: (n: NetFile) => Promise<SocketTable>): Promise<SocketOwner | undefined> {
    const key = normaliseFlow(flow);
    if (!key) {
      this.counters.badFlows++;
      return undefined;
    }
    const udp = flow.transport === 'udp';
    // IPv4 flows may sit on dual-stack sockets listed in the "6" file as ::ffff:a.b.c.d;
    // that file is read only when the IPv4 file has no exact match.
    const files: NetFile[] = key.v4 ? [flow.transport, `${flow.transport}6`] : [`${flow.transport}6`];
    let best: { entry?: { inode: number; uid: number; state: number }; tier: Tier } = { tier: Tier.None };
    for (const name of files) {
      const found = (await table(name)).find(key, udp);
      if (found.tier < best.tier) best = found;
      if (best.tier === Tier.Exact) break;
    }
    if (!best.entry) {
      this.counters.socketMisses++;
      return undefined;
    }
    return { inode: best.entry.inode, uid: best.entry.uid, state: best.entry.state };
  }

  private async attachPids(owners: (SocketOwner | undefined)[]): Promise<void> {
    // inode 0: TIME_WAIT and similar sockets no process holds any more.
    const wanted = owners.filter((o): o is SocketOwner => o !== undefined && o.inode !== 0);
    let unresolved = await this.lookupAll(wanted);
    if (unresolved.length === 0) return;
    const live = await this.proc.listPids();
    const liveSet = new Set(live);
    this.index.dropDead(liveSet);
    const fresh = live.filter((pid) => !this.index.hasPid(pid));
    if (fresh.length > 0) {
      this.counters.partialScans++;
      await this.index.scan(fresh);
      unresolved = await this.lookupAll(unresolved);
    }
    // A full rescan is pointless when the partial scan just covered every pid.
    const now = this.now();
    if (unresolved.length > 0 && fresh.length < live.length && now - this.lastFullScan >= this.minFullScanIntervalMs) {
      this.lastFullScan = now;
      this.counters.fullScans++;
      await this.index.scan(live);
      unresolved = await this.lookupAll(unresolved);
    }
    this.counters.pidMisses += unresolved.length;
  }

  /** Sets pid on the owners the index knows; returns the rest. */
  private async lookupAll(owners: SocketOwner[]): Promise<SocketOwner[]> {
    const holders = await Promise.all(owners.map((o) => this.index.lookup(o.inode)));
    const rest: SocketOwner[] = [];
    owners.forEach((o, i) => {
      const h = holders[i];
      if (h) o.pid = h.pid;
      else rest.push(o);
    });
    return rest;
  }
}

function normaliseFlow(flow: FlowEnds): (FlowKey & { v4: boolean }) | undefined {
  const local = normaliseIp(flow.localIp);
  const remote = normaliseIp(flow.remoteIp);
  if (!local || !remote) return undefined;
  // A flow written with mapped addresses is still an IPv4 flow on the wire.
  const localIp = unmapIPv4(local);
  const remoteIp = unmapIPv4(remote);
  const v4 = !localIp.includes(':');
  if (v4 !== !remoteIp.includes(':')) return undefined;
  return { localIp, localPort: flow.localPort, remoteIp, remotePort: flow.remotePort, v4 };
}
