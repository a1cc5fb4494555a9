// Flow → socket → process, across network namespaces. One resolve() call serves a batch of
// flows: each namespace's /proc/net file is read at most once per call (and reused for 100 ms
// across calls), through one member process of that namespace; pids are found through the
// incremental PidIndex, restricted to the namespace's pids, never by a full /proc walk per
// connection. The first attempt is synchronous: a short-lived connection (curl to a fast
// server closes within ~1-3 ms of its SYN) is gone after a few thread-pool round trips.
// In the agent's own namespace the socket is asked for by its 4-tuple through netlink
// sock_diag when the addon is there (µs instead of a table walk; see netlink.ts); other
// namespaces would need setns (CAP_SYS_ADMIN), so they are read through /proc/MEMBER/net/*.
//
// Where the parts are: socket-search.ts (flow → socket), holders.ts (socket → pid, cheap
// searches), misses.ts (listing and full scans, rate-limited by their cost), newpids.ts (new
// pids indexed and announced), pidindex.ts (inode → pid), probes.ts (SYN-time results).
import { HolderSearch, type Wanted } from './holders.js';
import { diagMatch, ownNetns } from './hostdiag.js';
import { HotPids } from './hotpids.js';
import { MissScanner } from './misses.js';
import { SockDiag } from './netlink.js';
import { isLoopbackText } from '../decode/index.js';
import { normaliseFlow, type Match } from './netns-match.js';
import { NetnsIndex, UNKNOWN_NETNS, parseNsLink } from './netns.js';
import { NetTables } from './netns-tables.js';
import { SyncProc } from './netns-sync.js';
import { NewPids } from './newpids.js';
import { newCounters, type FlowEnds, type SocketOwner } from './owner.js';
import { PidIndex } from './pidindex.js';
import { ProbeCache } from './probes.js';
import type { ProcFs } from './procfs.js';
import { SocketSearch } from './socket-search.js';
import { Tier, type FlowKey } from './socketindex.js';
import type { ConnectTracer, TracedSocket } from './tracer.js';

export type { FlowEnds, SocketOwner } from './owner.js';

export interface SocketResolverOptions {
  proc: ProcFs;
  /**
   * Least time between two full fd rescans of one namespace. Default 250 ms: a burst of new
   * connections costs one rescan. A rescan also waits ten times what the last one cost.
   */
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
  /** The connect tracer, asked for the flows whose socket or holder /proc could not find (tracer.ts). */
  tracer?: ConnectTracer;
}

/** probe() runs on the packet path: at most this many per 100 ms (~30 µs each: 15% of a core at most), the rest wait for resolve(). */
const PROBE_BUDGET = 500;
/** Pids (young, then hot) one probe's sweep searches at most. */
const PROBE_SWEEP_MAX = 24;
/** Pids all probes' sweeps search per 100 ms (~50-110 µs each: ≤ ~10% of a core); past it the batch sweeps once for all. */
const PROBE_SWEEP_PIDS = 96;
/** Pids a batch's sweep searches at most (64 young + 64 hot). */
const BATCH_SWEEP_MAX = 128;

type Key = FlowKey & { v4: boolean };

/** Parent levels liftToCreator climbs at most (a script, its subshell, a pipeline's command). */
const MAX_LIFT = 4;
/**
 * How far a connect tracer record may be from the flow's first packet and still be its own, ms:
 * connect() comes microseconds before the SYN. A 4-tuple used again, or a UDP port another
 * process took later, makes a record that is further off (TCP) or older (UDP).
 */
const TRACE_SLACK_MS = 2_000;
/** Processes the tracer named at SYN time whose /proc files are copied then, per 100 ms at most. */
const TRACED_COPIES_PER_WINDOW = 50;

export class SocketResolver {
  private readonly now: () => number;
  private readonly index: PidIndex;
  private readonly netns: NetnsIndex;
  private readonly tables: NetTables;
  private readonly newPids: NewPids;
  private readonly diag: SockDiag | undefined;
  private readonly hot: HotPids;
  private readonly probes: ProbeCache;
  private readonly search: SocketSearch;
  private readonly holders: HolderSearch;
  private readonly misses: MissScanner;
  private readonly tracer: ConnectTracer | undefined;
  private readonly proc: ProcFs;
  /** The same root read synchronously (a process's liveness, its namespace link: µs, no thread-pool wait). */
  private readonly sync: SyncProc;
  private readonly onNewSocketHolders: ((pids: number[]) => void) | undefined;
  private probeWindow = { start: Number.NEGATIVE_INFINITY, used: 0, sweepPids: 0, copies: 0, copied: new Set<number>() };
  private readonly counters = newCounters();

  constructor(opts: SocketResolverOptions) {
    this.now = opts.now ?? Date.now;
    const { now, counters } = this;
    this.index = new PidIndex(opts.proc, { maxInodes: opts.maxInodes, exitedGraceMs: opts.exitedGraceMs, now });
    this.netns = new NetnsIndex({ proc: opts.proc, now, minRefreshMs: opts.netnsRefreshMs, regroupMs: opts.netnsRegroupMs });
    const maxNamespaces = opts.maxNamespacesPerBatch ?? 256;
    this.tables = new NetTables({ proc: opts.proc, netns: this.netns, now, ttlMs: opts.tableTtlMs, maxTables: maxNamespaces * 4 });
    this.hot = new HotPids({ now, max: opts.hotPids });
    this.probes = new ProbeCache({ now });
    const log = opts.log ?? ((msg: string) => process.emitWarning(msg, 'EgresswatchNetlink'));
    if (opts.sockDiag !== undefined) this.diag = opts.sockDiag || undefined;
    else if (this.netns.host !== UNKNOWN_NETNS && ownNetns(opts.proc)) this.diag = SockDiag.open({ log });
    const { index, netns, hot, diag } = this;
    this.search = new SocketSearch({ tables: this.tables, netns, diag, counters, now, maxNamespaces, broadSweepIntervalMs: opts.broadSweepIntervalMs ?? 1000 });
    this.newPids = new NewPids({ index, netns, counters, onNewSocketHolders: opts.onNewSocketHolders });
    this.holders = new HolderSearch({ index, netns, hot, diag, counters, announce: (pids) => this.newPids.announce(pids) });
    this.misses = new MissScanner({ index, netns, holders: this.holders, counters, now, minFullScanIntervalMs: opts.minFullScanIntervalMs ?? 250 });
    this.tracer = opts.tracer;
    this.proc = opts.proc;
    this.sync = new SyncProc(opts.proc);
    this.onNewSocketHolders = opts.onNewSocketHolders;
  }

  /** Whether `pid` still has its /proc entry (a synchronous stat, µs). */
  processAlive(pid: number): boolean {
    return this.sync.exists(String(pid));
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
   * (holders.ts: index, peer pid, then young and hot pids within a pid budget). resolve() later
   * uses what was seen, since a client that closes within a millisecond is gone by then.
   * Bounded by PROBE_BUDGET.
   */
  probe(flow: FlowEnds): void {
    const diag = this.diag;
    if (!diag?.usable) return;
    const now = this.now();
    if (now - this.probeWindow.start >= 100) this.probeWindow = { start: now, used: 0, sweepPids: 0, copies: 0, copied: new Set() };
    if (this.probeWindow.used >= PROBE_BUDGET) {
      this.counters.probesOverBudget++;
      return;
    }
    this.probeWindow.used++;
    const key = normaliseFlow(flow);
    if (!key) return;
    this.counters.probes++;
    const m = diagMatch(diag, this.netns, flow.transport, key, this.counters);
    const probeKey = ProbeCache.key(flow.transport, key.localIp, key.localPort, key.remoteIp, key.remotePort);
    if (m?.tier !== Tier.Exact || !m.entry || m.entry.inode === 0) {
      this.counters.probeNoSocket++;
      if (m?.tier === Tier.None) this.probes.put(probeKey, null);
      this.copyTraced(flow);
      return;
    }
    const w: Wanted = { owner: this.search.ownerOf(m), transport: flow.transport, key };
    this.probeHolder(w);
    if (w.owner.pid !== undefined) {
      this.counters.probeHolders++;
      this.hot.markPeer(key.remoteIp, key.remotePort, w.owner.pid);
    } else {
      this.copyTraced(flow);
    }
    this.probes.put(probeKey, w.owner);
  }

  /**
   * A socket gone (or its holder not found) at SYN time: the process the connect tracer names is
   * likely to exit before the batch asks for it (curl against a nearby server), so its /proc files
   * are copied now (onNewSocketHolders), while it may still be there.
   */
  private copyTraced(flow: FlowEnds): void {
    if (!this.tracer || !this.onNewSocketHolders) return;
    // A copy is a few /proc reads (~50-100 µs) on the packet path: bounded per 100 ms, and one
    // per process per window (a burst of connections from one program).
    if (this.probeWindow.copies >= TRACED_COPIES_PER_WINDOW) {
      this.counters.tracedEarlyOverBudget++;
      return;
    }
    const t = this.traced(flow);
    if (t === undefined || this.probeWindow.copied.has(t.pid)) return;
    this.probeWindow.copies++;
    this.probeWindow.copied.add(t.pid);
    this.counters.tracedEarly++;
    try { this.onNewSocketHolders([t.pid]); } catch { this.counters.hookErrors++; }
  }

  /** The connect tracer's record for the flow, when it names a process of ours and is the flow's own (TRACE_SLACK_MS). */
  private traced(f: FlowEnds): TracedSocket | undefined {
    const tracer = this.tracer;
    if (!tracer) return undefined;
    const t = f.transport === 'tcp' ? tracer.lookupTcp(f.localIp, f.localPort, f.remoteIp, f.remotePort) : tracer.lookupUdp(f.localIp, f.localPort);
    if (t === undefined || t.pid === 0) return undefined;
    const start = f.startTime;
    if (start !== undefined && (f.transport === 'tcp' ? Math.abs(t.at - start) > TRACE_SLACK_MS : t.at < start - TRACE_SLACK_MS)) {
      this.counters.tracedStale++;
      return undefined;
    }
    return t;
  }

  /** Owners the connect tracer names for the flows (`which`) /proc found no holder for. */
  private async fillTraced(flows: FlowEnds[], owners: (SocketOwner | undefined)[], which: (o: SocketOwner | undefined) => boolean): Promise<void> {
    if (!this.tracer) return;
    for (const [i, f] of flows.entries()) {
      const o = owners[i];
      if (o?.pid !== undefined || !which(o)) continue;
      const t = this.traced(f);
      if (t === undefined) continue;
      if (!(await this.inFlowNetns(t.pid, f))) {
        this.counters.tracedOtherNetns++;
        continue;
      }
      this.counters.tracedOwners++;
      owners[i] = { inode: o?.inode ?? 0, uid: t.uid, state: o?.state ?? 0, hostNetns: o?.hostNetns ?? true, pid: t.pid, method: 'ebpf-connect', comm: t.comm };
    }
  }

  /**
   * Whether the traced process can own the flow's local end. TCP records are keyed by 4-tuple
   * (two namespaces would need the same addresses and ports at once): taken as they are. UDP
   * records by local port alone, which a pod and the host can both be using: the process's
   * network namespace (read live, else from its snapshot or exec copy) must own the flow's local
   * address; one whose namespace cannot be read is refused; an address no namespace is known to
   * own yet (a new pod's) is refused too, a loopback one is anyone's.
   */
  private async inFlowNetns(pid: number, f: FlowEnds): Promise<boolean> {
    if (f.transport === 'tcp') return true;
    // Live first and synchronously (µs): an async read waits in the thread pool behind LevelDB.
    // The async read is ProcFs's: a snapshot or exec copy answers for a process gone since.
    const ns = parseNsLink(this.sync.readLink(`${pid}/ns/net`) ?? await this.proc.readLink(`${pid}/ns/net`));
    if (ns === UNKNOWN_NETNS) return false;
    if (isLoopbackText(f.localIp)) return true;
    if (this.netns.ownedByHost(f.localIp)) return ns === this.netns.host;
    return this.netns.ownersOf(f.localIp).includes(ns);
  }

  private probeHolder(w: Wanted): void {
    if (this.holders.lookupAll([w]).length === 0) return;
    const peer = this.holders.peer(w);
    if (peer === 'found') {
      this.counters.probePeerHits++;
      return;
    }
    if (peer === 'closed' || !this.holders.stillOpen(w)) {
      this.counters.closedBeforeSweep++;
      return;
    }
    if (this.probeWindow.sweepPids + PROBE_SWEEP_MAX > PROBE_SWEEP_PIDS) {
      this.counters.probeSweepsOverBudget++;
      return;
    }
    this.probeWindow.sweepPids += PROBE_SWEEP_MAX;
    this.counters.probeHotRescans++;
    this.holders.sweep([w], PROBE_SWEEP_MAX);
  }

  async resolve(flows: FlowEnds[]): Promise<(SocketOwner | undefined)[]> {
    this.counters.lookups += flows.length;
    this.tables.nextBatch();
    this.search.nextBatch();
    const keys = flows.map((f) => normaliseFlow(f));
    const searched = new Set<SocketOwner>();
    const host = this.hostFirst(flows, keys, searched);
    if (!host || this.needsListing(host, keys)) await this.newPids.prescan();
    else this.counters.prescansSkipped++;
    const touched = new Set<number>();
    const owners: (SocketOwner | undefined)[] = [];
    for (const [i, flow] of flows.entries()) {
      const key = keys[i];
      if (!key) this.counters.badFlows++;
      owners.push(key ? await this.search.find(flow.transport, key, touched, host?.[i]) : undefined);
    }
    // A socket that is gone is the tracer's at once; one still held is searched for first.
    await this.fillTraced(flows, owners, (o) => o === undefined || o.inode === 0);
    await this.attachPids(owners, flows, keys, searched);
    await this.fillTraced(flows, owners, (o) => o !== undefined && o.inode !== 0);
    for (const o of owners) if (o?.pid !== undefined && o.method === 'procfs-socket') this.liftToCreator(o);
    for (const [i, o] of owners.entries()) {
      const key = keys[i];
      if (o?.pid !== undefined && key) this.hot.markPeer(key.remoteIp, key.remotePort, o.pid);
    }
    this.tracedMakers(flows, owners);
    return owners;
  }

  /**
   * A TCP socket held by another process than the one that made it (inherited across fork: a
   * script's `exec 3<>/dev/tcp/...` and its pipeline's commands) belongs to its maker; liftToCreator
   * finds the maker among the holder's parents while they live, the connect tracer knows it even
   * after it has exited (its exec copy describes it). The holder stays as the fallback.
   */
  private tracedMakers(flows: FlowEnds[], owners: (SocketOwner | undefined)[]): void {
    if (!this.tracer) return;
    for (const [i, o] of owners.entries()) {
      const f = flows[i]!;
      if (o?.pid === undefined || o.method === 'ebpf-connect' || f.transport !== 'tcp') continue;
      const t = this.traced(f);
      if (t === undefined || t.pid === o.pid) continue;
      this.counters.tracedMakers++;
      o.holder = { pid: o.pid, method: o.method === 'cached-socket' ? 'cached-socket' : 'procfs-socket' };
      o.pid = t.pid;
      o.method = 'ebpf-connect';
      o.comm = t.comm;
    }
  }

  /** An inherited socket belongs to the process that made it (PidIndex.creatorOf). */
  private liftToCreator(o: SocketOwner): void {
    if (o.pid === undefined) return;
    const pid = this.index.creatorOf(o.pid, o.inode, MAX_LIFT);
    if (pid === o.pid) return;
    o.pid = pid;
    this.counters.inheritedLifted++;
  }

  /**
   * With netlink, every flow is first asked for in the host namespace (µs each) and the likely
   * holders searched, before the pid listing and fd scans that take ms: the socket of a client
   * that closes within a millisecond of its SYN is still open only this early.
   */
  private hostFirst(flows: FlowEnds[], keys: (Key | undefined)[], searched: Set<SocketOwner>): (Match | null | undefined)[] | undefined {
    const diag = this.diag;
    if (!diag?.usable) return undefined;
    const open: Wanted[] = [];
    const probedOwners = new Set<SocketOwner>();
    // null: netlink did not answer, so the search reads the host's table without asking again.
    const matches = flows.map((f, i): Match | null | undefined => {
      const key = keys[i];
      if (!key) return undefined;
      const probed = this.probes.size > 0 ? this.probes.take(ProbeCache.key(f.transport, key.localIp, key.localPort, key.remoteIp, key.remotePort)) : undefined;
      const m = probed === null ? { tier: Tier.None, ns: this.netns.host }
        : probed ? { entry: { ...key, inode: probed.inode, uid: probed.uid, state: probed.state }, tier: Tier.Exact, ns: this.netns.host, owner: probed }
          : diagMatch(diag, this.netns, f.transport, key, this.counters);
      if (probed) probedOwners.add(probed);
      if (m?.tier === Tier.Exact && m.entry && m.entry.inode !== 0 && m.owner?.pid === undefined) {
        m.owner ??= this.search.ownerOf(m);
        open.push({ owner: m.owner, transport: f.transport, key });
      }
      return m ?? null;
    });
    for (const w of open) searched.add(w.owner);
    // A socket netlink has just answered for is open; one the probe saw ms ago is asked again.
    this.findHolders(open, (w) => probedOwners.has(w.owner));
    return matches;
  }

  /** Index, peer pid, then (for sockets still open) one sweep of young and hot pids for all. */
  private findHolders(ws: Wanted[], recheck: (w: Wanted) => boolean): void {
    const open: Wanted[] = [];
    for (const w of this.holders.lookupAll(ws)) {
      const peer = this.holders.peer(w);
      if (peer === 'found') continue;
      if (peer === 'closed' || (recheck(w) && !this.holders.stillOpen(w))) this.counters.closedBeforeSweep++;
      else open.push(w);
    }
    if (open.length > 0) this.holders.sweep(open, BATCH_SWEEP_MAX);
  }

  /**
   * Whether the batch needs a pid listing (and the prescan of new pids): not when every socket
   * was attributed, is held by nobody (inode 0), or is a closed one on an address only the host
   * has (no other namespace can list it, no scan can find its holder any more).
   */
  private needsListing(matches: (Match | null | undefined)[], keys: (Key | undefined)[]): boolean {
    return matches.some((m, i) => {
      if (m === undefined) return false;
      if (m === null) return true;
      if (m.tier === Tier.Exact) return m.entry?.inode !== 0 && m.owner?.pid === undefined;
      const key = keys[i]!;
      return m.tier !== Tier.None || isLoopbackText(key.localIp) || !this.netns.ownedByHost(key.localIp);
    });
  }

  /** Lists pids (rate-limited) and indexes and announces the new ones; see NewPids. */
  warm(): Promise<void> {
    return this.newPids.warm();
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

  /** Sockets found without a holder: the cheap searches (unless hostFirst ran them), then misses.ts. */
  private async attachPids(owners: (SocketOwner | undefined)[], flows: FlowEnds[], keys: (Key | undefined)[], searched: Set<SocketOwner>): Promise<void> {
    const ws: Wanted[] = [];
    for (const [i, o] of owners.entries()) {
      // inode 0: TIME_WAIT and similar sockets no process holds any more.
      if (o && o.inode !== 0 && o.pid === undefined) ws.push({ owner: o, transport: flows[i]!.transport, key: keys[i]! });
    }
    const unresolved = this.holders.lookupAll(ws);
    if (unresolved.length === 0) return;
    // Before anything that yields: the holder is most likely the peer's, a young or a hot pid.
    this.findHolders(unresolved.filter((w) => !searched.has(w.owner)), () => false);
    const left = unresolved.filter((w) => w.owner.pid === undefined);
    if (left.length > 0) await this.misses.settle(left);
  }
}
