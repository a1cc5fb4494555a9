// Flow → socket → process, across network namespaces. One resolve() call serves a batch of
// flows: each namespace's /proc/net file is read at most once per call (and reused for 100 ms
// across calls), through one member process of that namespace; pids are found through the
// incremental PidIndex, restricted to the namespace's pids, never by a full /proc walk per
// connection. The first attempt is synchronous: a short-lived connection (curl to a fast
// server closes within ~1-3 ms of its SYN) is gone after a few thread-pool round trips.
// In the agent's own namespace the socket is asked for by its 4-tuple through netlink
// sock_diag when the addon is there (µs instead of a table walk; see netlink.ts); other
// namespaces would need setns (CAP_SYS_ADMIN), so they are read through /proc/MEMBER/net/*.
import { HotPids } from './hotpids.js';
import { diagMatch, ownNetns } from './hostdiag.js';
import { SockDiag } from './netlink.js';
import { ProbeCache } from './probes.js';
import { NetnsIndex, UNKNOWN_NETNS } from './netns.js';
import { NetTables, type NetFile } from './netns-tables.js';
import { PidIndex } from './pidindex.js';
import type { ProcFs } from './procfs.js';
import { Tier, type FlowKey } from './socketindex.js';
import { isLoopback, normaliseFlow, searchNs, type Match } from './netns-match.js';

export interface FlowEnds { transport: 'tcp' | 'udp'; localIp: string; localPort: number; remoteIp: string; remotePort: number }

export interface SocketOwner {
  inode: number;
  uid: number;
  pid?: number;
  state: number;
  /** Inode of the network namespace whose table listed the socket; absent when its link was unreadable. */
  netns?: number;
  /** The socket is in the agent's own (host) namespace. */
  hostNetns: boolean;
  /** 'procfs-socket': the holder's fd was seen now; 'cached-socket': the holder exited since it was indexed. Absent without pid. */
  method?: 'procfs-socket' | 'cached-socket';
}

export interface SocketResolverOptions {
  proc: ProcFs;
  /** Least time between two full fd rescans of one namespace. Default 250 ms: a burst of new connections costs one rescan. */
  minFullScanIntervalMs?: number;
  now?: () => number;
  /** Bound of the inode index (see PidIndex). */
  maxInodes?: number;
  /** How long a namespace's parsed table is reused across batches, ms (default 100). */
  tableTtlMs?: number;
  /** Namespaces read per resolve() batch at most (default 256); the rest are counted in netnsSkipped. */
  maxNamespacesPerBatch?: number;
  /**
   * A flow whose local address no namespace claims (loopback, transit) is looked for in every
   * namespace; with 100 pods that is 100 table walks (~1.5 ms each measured: the TCP hash is
   * shared by all namespaces and walked whole for each). Such sweeps re-read tables at most
   * this often, ms (default 1000); in between they use the tables already cached.
   */
  broadSweepIntervalMs?: number;
  /** Least time between two pid listings for namespace discovery, ms (default 50). */
  netnsRefreshMs?: number;
  /** Least time between two full regroups of pids by namespace, ms (default 5000). */
  netnsRegroupMs?: number;
  /** Sockets of exited processes stay attributable for this long, ms (default 0: off; see PidIndex). */
  exitedGraceMs?: number;
  /**
   * Called synchronously, before the net tables are read, with the pids born since the last
   * listing that hold sockets. A short-lived process has usually exited by the time resolve()
   * returns (measured: 0-7 of 50 curl runs still readable), so whoever needs its facts (exe,
   * cmdline) must snapshot them here. Exceptions are swallowed.
   */
  onNewSocketHolders?: (pids: number[]) => void;
  /**
   * Netlink sock_diag for the agent's own namespace: an instance, false for /proc/net only, or
   * undefined to open one when the proc root shows the agent's own namespace (a fake tree or
   * another host's /proc does not: its sockets are not the kernel's here).
   */
  sockDiag?: SockDiag | false;
  /** Pids rescanned first because they recently held an attributed socket (default 64; 0: off; see HotPids). */
  hotPids?: number;
  /** Where the one line about netlink being unavailable goes (default: a process warning). */
  log?: (msg: string) => void;
}


const YOUNG_MS = 1000;
const YOUNG_MAX = 64;
/** probe() runs on the packet path: at most this many per 100 ms (~30 µs each: 15% of a core at most), the rest wait for resolve(). */
const PROBE_BUDGET = 500;
/** Pids (young, then hot) a probe rescans at most: ~20 fds each, a few µs per fd. */
const PROBE_RESCAN_MAX = 24;
const PROBE_HOT_GAP_MS = 2;

export class SocketResolver {
  private readonly minFullScanIntervalMs: number;
  private readonly maxNs: number;
  private readonly now: () => number;
  private readonly index: PidIndex;
  private readonly netns: NetnsIndex;
  private readonly tables: NetTables;
  private readonly lastFullScan = new Map<number, number>();
  private readonly broadSweepIntervalMs: number;
  private lastBroadSweep = Number.NEGATIVE_INFINITY;
  private batch = 0;
  private sweepBatch = -1;
  private readonly onNewSocketHolders?: (pids: number[]) => void;
  private readonly diag: SockDiag | undefined;
  private readonly hot: HotPids;
  private readonly probes: ProbeCache;
  private probeWindow = { start: Number.NEGATIVE_INFINITY, used: 0 };
  private lastProbeHot = Number.NEGATIVE_INFINITY;
  private readonly counters = {
    lookups: 0, socketMisses: 0, pidMisses: 0, fullScans: 0, partialScans: 0, badFlows: 0, netnsSkipped: 0, otherNetnsHits: 0,
    cachedSocketHits: 0, youngRescans: 0, hookErrors: 0, broadSweeps: 0, diagHits: 0, diagMisses: 0, diagListeners: 0,
    probes: 0, probesOverBudget: 0, probeHolders: 0, probeHotRescans: 0, closedBeforeScan: 0, probeNoSocket: 0, probePeerHits: 0,
  };

  constructor(opts: SocketResolverOptions) {
    this.minFullScanIntervalMs = opts.minFullScanIntervalMs ?? 250;
    this.maxNs = opts.maxNamespacesPerBatch ?? 256;
    this.onNewSocketHolders = opts.onNewSocketHolders;
    this.broadSweepIntervalMs = opts.broadSweepIntervalMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.index = new PidIndex(opts.proc, { maxInodes: opts.maxInodes, exitedGraceMs: opts.exitedGraceMs, now: this.now });
    this.netns = new NetnsIndex({ proc: opts.proc, now: this.now, minRefreshMs: opts.netnsRefreshMs, regroupMs: opts.netnsRegroupMs });
    this.tables = new NetTables({ proc: opts.proc, netns: this.netns, now: this.now, ttlMs: opts.tableTtlMs, maxTables: this.maxNs * 4 });
    this.hot = new HotPids({ now: this.now, max: opts.hotPids });
    this.probes = new ProbeCache({ now: this.now });
    const log = opts.log ?? ((msg: string) => process.emitWarning(msg, 'EgresswatchNetlink'));
    if (opts.sockDiag !== undefined) this.diag = opts.sockDiag || undefined;
    else if (this.netns.host !== UNKNOWN_NETNS && ownNetns(opts.proc)) this.diag = SockDiag.open({ log });
  }

  /** Whether the agent's own namespace is searched through netlink sock_diag (false: /proc/net only). */
  get usesNetlink(): boolean {
    return this.diag?.usable ?? false;
  }

  /** Closes the netlink socket, if any. */
  close(): void {
    this.diag?.close();
  }

  get stats(): Record<string, number> {
    const { namespaces, listings, regroups, unknownPids, memberChanges } = this.netns.stats;
    return {
      ...this.counters, ...this.tables.stats, badNetLines: this.tables.parseStats.badLines, indexedInodes: this.index.size,
      ...this.index.stats, namespaces, netnsListings: listings, netnsRegroups: regroups, netnsUnknownPids: unknownPids, memberChanges,
      hotPids: this.hot.size, diagErrors: this.diag?.stats.errors ?? 0, probesUsed: this.probes.stats.used, probeEvictions: this.probes.stats.evictions,
    };
  }

  /**
   * Looks at a new connection's socket synchronously, when its first packet is seen (netlink
   * only: a table walk would cost ms on the packet path): the 4-tuple's inode, and its holder
   * from the index or a rescan of young and hot pids. resolve() later uses what was seen, since
   * a client that closes within a millisecond is gone by then. Bounded by PROBE_BUDGET.
   */
  probe(flow: FlowEnds): void {
    const diag = this.diag;
    if (!diag?.usable) return;
    const now = this.now();
    if (now - this.probeWindow.start >= 100) this.probeWindow = { start: now, used: 0 };
    if (this.probeWindow.used >= PROBE_BUDGET) {
      this.counters.probesOverBudget++;
      return;
    }
    this.probeWindow.used++;
    const key = normaliseFlow(flow);
    if (!key) return;
    this.counters.probes++;
    const m = diagMatch(diag, this.netns, flow.transport, key, this.counters);
    if (m?.tier !== Tier.Exact || !m.entry || m.entry.inode === 0) {
      this.counters.probeNoSocket++;
      return;
    }
    const owner = this.ownerOf(m);
    const peer = this.hot.peer(key.remoteIp, key.remotePort);
    if (this.lookupAll([owner]).length > 0 && peer !== undefined && this.index.hasPid(peer)) {
      this.index.scanSync([peer]);
      if (this.lookupAll([owner]).length === 0) this.counters.probePeerHits++;
    }
    if (owner.pid === undefined) {
      const young = this.netns.youngPids(YOUNG_MS, PROBE_RESCAN_MAX);
      // Hot pids at most every PROBE_HOT_GAP_MS: at 2,000 connections/s a rescan of 20 busy
      // programs per probe would cost more than a core; the batch rescans them once per turn.
      let hot: number[] = [];
      if (now - this.lastProbeHot >= PROBE_HOT_GAP_MS) {
        this.lastProbeHot = now;
        this.counters.probeHotRescans++;
        hot = this.hot.list().filter((pid) => this.index.hasPid(pid));
      }
      this.index.scanSync([...new Set([...young, ...hot])].slice(0, PROBE_RESCAN_MAX));
      this.lookupAll([owner]);
      this.announceYoung([owner], young);
    }
    if (owner.pid !== undefined) {
      this.counters.probeHolders++;
      this.hot.markPeer(key.remoteIp, key.remotePort, owner.pid);
    }
    this.probes.put(ProbeCache.key(flow.transport, key.localIp, key.localPort, key.remoteIp, key.remotePort), owner);
  }

  async resolve(flows: FlowEnds[]): Promise<(SocketOwner | undefined)[]> {
    this.counters.lookups += flows.length;
    this.tables.nextBatch();
    this.batch++;
    const host = this.hostFirst(flows);
    await this.prescan();
    const touched = new Set<number>();
    const owners: (SocketOwner | undefined)[] = [];
    for (const [i, flow] of flows.entries()) owners.push(await this.findSocket(flow, touched, host?.[i]));
    await this.attachPids(owners, flows);
    for (const [i, o] of owners.entries()) {
      const key = o?.pid !== undefined ? normaliseFlow(flows[i]!) : undefined;
      if (key) this.hot.markPeer(key.remoteIp, key.remotePort, o!.pid!);
    }
    return owners;
  }

  /**
   * With netlink, every flow is first asked for in the host namespace (µs each) and the likely
   * holders rescanned, before the pid listing and fd scans that take ms: the socket of a client
   * that closes within a millisecond of its SYN is still open only this early.
   */
  private hostFirst(flows: FlowEnds[]): (Match | null | undefined)[] | undefined {
    const diag = this.diag;
    if (!diag?.usable) return undefined;
    // null: netlink did not answer, so findSocket reads the host's table without asking again.
    const matches: (Match | null | undefined)[] = flows.map((f) => {
      const key = normaliseFlow(f);
      if (!key) return undefined;
      const probed = this.probes.size > 0 ? this.probes.take(ProbeCache.key(f.transport, key.localIp, key.localPort, key.remoteIp, key.remotePort)) : undefined;
      if (probed) return { entry: { ...key, inode: probed.inode, uid: probed.uid, state: probed.state }, tier: Tier.Exact, ns: this.netns.host, owner: probed };
      return diagMatch(diag, this.netns, f.transport, key, this.counters) ?? null;
    });
    const open: SocketOwner[] = [];
    for (const m of matches) {
      if (m?.owner?.pid !== undefined) continue;
      if (m?.tier !== Tier.Exact || !m.entry || m.entry.inode === 0) continue;
      m.owner ??= this.ownerOf(m);
      open.push(m.owner);
    }
    if (open.length > 0) this.rescanLikely(this.lookupAll(open));
    return matches;
  }

  private ownerOf(best: Match): SocketOwner {
    const e = best.entry!;
    const owner: SocketOwner = { inode: e.inode, uid: e.uid, state: e.state, hostNetns: best.ns === this.netns.host };
    if (best.ns !== UNKNOWN_NETNS) owner.netns = best.ns;
    return owner;
  }

  /**
   * Indexes the fds of pids born since the last listing BEFORE the net tables are read. Reading
   * /proc/net/tcp walks the kernel's whole established hash (2.5-7 ms measured on a 136-pid
   * VM), longer than a curl to a fast server lives after its SYN; scanning a new pid's fds
   * first (~0.3 ms) catches the socket while its process still holds it, and the table read
   * then only has to confirm the 4-tuple → inode.
   */
  private async prescan(): Promise<void> {
    const r = await this.netns.refresh(false);
    if (!r) return;
    this.index.dropDead(r.live);
    // The first listing's pids are the whole host: indexed lazily, on the first miss.
    if (r.first) return;
    const fresh = r.fresh.filter((pid) => !this.index.hasPid(pid));
    if (fresh.length === 0) return;
    this.counters.partialScans++;
    await this.index.scan(fresh);
    this.announce(fresh);
  }

  private announce(scanned: number[]): void {
    const holders = scanned.filter((pid) => this.index.socketCount(pid) > 0);
    if (holders.length === 0 || !this.onNewSocketHolders) return;
    try { this.onNewSocketHolders(holders); } catch { this.counters.hookErrors++; }
  }

  /**
   * Keeps the inode → pid index warm between batches: lists pids (rate-limited), groups the new
   * ones by namespace and scans their fds (announcing new socket holders). Not measured to help
   * a connection that lives a few ms (a 100 ms timer rarely lands inside it: the prescan is what
   * catches those); it spares a batch the scan of pids born since the last one.
   */
  async warm(): Promise<void> {
    const r = await this.netns.refresh(false);
    if (!r) return;
    this.index.dropDead(r.live);
    if (r.first) return;
    const fresh = [...r.live].filter((pid) => !this.index.hasPid(pid));
    if (fresh.length === 0) return;
    await this.index.scan(fresh);
    this.announce(fresh);
  }

  /** Runs warm() every intervalMs (unref'd timer, one run at a time); returns the stop function. */
  startWarming(intervalMs: number): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void this.warm().catch(() => undefined).finally(() => { running = false; });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async findSocket(flow: FlowEnds, touched: Set<number>, host?: Match | null): Promise<SocketOwner | undefined> {
    const key = normaliseFlow(flow);
    if (!key) {
      this.counters.badFlows++;
      return undefined;
    }
    const udp = flow.transport === 'udp';
    // IPv4 flows may sit on dual-stack sockets listed in the "6" file as ::ffff:a.b.c.d;
    // that file is read only when the IPv4 file has no exact match.
    const files: NetFile[] = key.v4 ? [flow.transport, `${flow.transport}6`] : [`${flow.transport}6`];
    // The host first: most flows are its own, and it wins ties with a container.
    let best = host ?? (host === null ? searchNs(this.tables, this.netns.host, key, files, udp) : this.searchHost(flow.transport, key, files));
    if (best.tier !== Tier.Exact) best = await this.searchOthers(key, files, udp, touched, best);
    if (!best.entry) {
      this.counters.socketMisses++;
      return undefined;
    }
    if (best.ns !== this.netns.host) this.counters.otherNetnsHits++;
    return best.owner ?? this.ownerOf(best);
  }

  /** The agent's own namespace: sock_diag when it answers, else its /proc/net tables. */
  private searchHost(transport: 'tcp' | 'udp', key: FlowKey, files: NetFile[]): Match {
    const m = this.diag ? diagMatch(this.diag, this.netns, transport, key, this.counters) : undefined;
    return m ?? searchNs(this.tables, this.netns.host, key, files, transport === 'udp');
  }

  private async searchOthers(key: FlowKey, files: NetFile[], udp: boolean, touched: Set<number>, best: Match): Promise<Match> {
    const loopback = isLoopback(key.localIp);
    // Only the host has sockets on its own (non-loopback) addresses: no other table can match.
    if (!loopback && this.netns.ownedByHost(key.localIp)) return best;
    await this.netns.refresh(false);
    // A non-loopback local address is looked for only in the namespaces that own it; when none
    // claims it (addresses set after the namespace was first seen), in all of them.
    const owners = loopback ? [] : this.netns.ownersOf(key.localIp);
    let sweep = true;
    if (owners.length === 0) {
      const now = this.now();
      sweep = this.sweepBatch === this.batch || now - this.lastBroadSweep >= this.broadSweepIntervalMs;
      if (sweep && this.sweepBatch !== this.batch) {
        this.sweepBatch = this.batch;
        this.lastBroadSweep = now;
        this.counters.broadSweeps++;
      }
    }
    for (const ns of owners.length > 0 ? owners : this.netns.others()) {
      if (!touched.has(ns) && touched.size >= this.maxNs) {
        this.counters.netnsSkipped++;
        continue;
      }
      touched.add(ns);
      const found = searchNs(this.tables, ns, key, files, udp, sweep);
      if (found.tier < best.tier) best = found;
      if (best.tier === Tier.Exact) break;
    }
    return best;
  }

  private async attachPids(owners: (SocketOwner | undefined)[], flows: FlowEnds[]): Promise<void> {
    // inode 0: TIME_WAIT and similar sockets no process holds any more.
    const wanted = owners.filter((o): o is SocketOwner => o !== undefined && o.inode !== 0 && o.pid === undefined);
    let unresolved = this.lookupAll(wanted);
    if (unresolved.length === 0) return;
    // Before anything that yields: the holder is most likely a young or recently active pid.
    unresolved = this.rescanLikely(unresolved);
    if (unresolved.length === 0) return;
    // A full scan reads every fd of the namespace (1,000 pids × 20 fds ≈ 20k readlinks), a
    // listing every pid: neither for sockets netlink says are closed by now, which no scan can
    // find any more (under load most misses are such, and scanning for them starved the rest).
    const closed = this.closedNow(unresolved, owners, flows);
    if (closed.size === unresolved.length) {
      this.settleMisses(unresolved);
      return;
    }
    const listing = await this.netns.refresh(true);
    if (listing) this.index.dropDead(listing.live);
    const spaces = new Set(unresolved.map((o) => o.netns ?? UNKNOWN_NETNS));
    const pids = [...spaces].flatMap((ns) => this.netns.pidsOf(ns));
    const fresh = pids.filter((pid) => !this.index.hasPid(pid));
    if (fresh.length > 0) {
      this.counters.partialScans++;
      await this.index.scan(fresh);
      unresolved = this.lookupAll(unresolved);
    }
    for (const ns of spaces) {
      if (unresolved.length === 0) break;
      const open = unresolved.filter((o) => !closed.has(o));
      unresolved = [...(await this.fullScan(ns, open, fresh.length)), ...unresolved.filter((o) => closed.has(o))];
    }
    this.settleMisses(unresolved);
  }

  /** Owners no live holder was found for: the exited-holder cache, else a counted miss. */
  private settleMisses(unresolved: SocketOwner[]): void {
    for (const o of unresolved) {
      const h = this.index.recentlyExited(o.inode);
      if (h) {
        o.pid = h.pid;
        o.method = 'cached-socket';
        this.counters.cachedSocketHits++;
      } else this.counters.pidMisses++;
    }
  }

  private closedNow(unresolved: SocketOwner[], owners: (SocketOwner | undefined)[], flows: FlowEnds[]): Set<SocketOwner> {
    const closed = new Set<SocketOwner>();
    if (!this.diag?.usable) return closed;
    for (const o of unresolved) {
      const f = o.hostNetns ? flows[owners.indexOf(o)] : undefined;
      const key = f && normaliseFlow(f);
      if (!f || !key) continue;
      const d = this.diag.lookup(f.transport, key.localIp, key.localPort, key.remoteIp, key.remotePort);
      if (d === null || (d && d.inode !== o.inode)) closed.add(o);
    }
    this.counters.closedBeforeScan += closed.size;
    return closed;
  }

  /**
   * A process indexed at birth, before it connected, or one that opened sockets before (see
   * HotPids), holds the new socket: pids first seen in the last second (at most 64) and hot
   * pids (at most 64) are rescanned synchronously before the listing and the full scan.
   */
  private rescanLikely(unresolved: SocketOwner[]): SocketOwner[] {
    // A hot pid the index dropped has exited: rescanning it would only re-add an empty entry.
    const hot = this.hot.list().filter((pid) => this.index.hasPid(pid));
    const pids = new Set([...this.netns.youngPids(YOUNG_MS, YOUNG_MAX), ...hot]);
    if (pids.size === 0) return unresolved;
    this.counters.youngRescans++;
    this.index.scanSync([...pids]);
    const rest = this.lookupAll(unresolved);
    this.announceYoung(unresolved, [...pids]);
    return rest;
  }

  /**
   * A young process found holding a socket by a rescan may exit within ms (a client that
   * connects once) and may never have been announced with a socket: its facts are snapshotted now.
   */
  private announceYoung(owners: SocketOwner[], scanned: number[]): void {
    const young = new Set(this.netns.youngPids(YOUNG_MS, YOUNG_MAX));
    const holders = [...new Set(owners.map((o) => o.pid).filter((pid): pid is number => pid !== undefined && young.has(pid) && scanned.includes(pid)))];
    if (holders.length > 0) this.announce(holders);
  }

  /** Rescans every pid of one namespace, at most once per interval; pointless when the partial scan covered them all. */
  private async fullScan(ns: number, unresolved: SocketOwner[], freshCount: number): Promise<SocketOwner[]> {
    const mine = unresolved.filter((o) => (o.netns ?? UNKNOWN_NETNS) === ns);
    const pids = this.netns.pidsOf(ns);
    const now = this.now();
    if (mine.length === 0 || freshCount >= pids.length || now - (this.lastFullScan.get(ns) ?? Number.NEGATIVE_INFINITY) < this.minFullScanIntervalMs) {
      return unresolved;
    }
    if (this.lastFullScan.size >= 4096) this.lastFullScan.clear();
    this.lastFullScan.set(ns, now);
    this.counters.fullScans++;
    await this.index.scan(pids);
    const left = new Set(this.lookupAll(mine));
    return unresolved.filter((o) => !mine.includes(o) || left.has(o));
  }

  /** Sets pid on the owners the index knows; returns the rest. */
  private lookupAll(owners: SocketOwner[]): SocketOwner[] {
    const rest: SocketOwner[] = [];
    for (const o of owners) {
      // A pid seen holding the socket is one that opens sockets, even if it has closed this one
      // since the scan: rescanning it first next time is what finds its next, shorter-lived one.
      const seen = this.index.peek(o.inode);
      if (seen) this.hot.mark(seen.pid);
      const h = this.index.lookup(o.inode);
      if (h) {
        o.pid = h.pid;
        o.method = 'procfs-socket';
      } else rest.push(o);
    }
    return rest;
  }
}
