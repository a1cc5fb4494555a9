// Attribution: connection → socket (in whichever network namespace owns it) → process →
// software, container and pod, through /proc and the runtimes' metadata on disk.
//
// Lookups are batched: every connection that starts during one turn of the event loop is
// resolved together, as soon as the packets are read (the capture runs in immediate mode),
// because a short-lived socket leaves the kernel's tables when it closes. Before that, each
// connection's socket is probed synchronously (netlink sock_diag, µs) when its first packet
// is handed over: a client that connects, sends and closes within a millisecond is often gone
// by the next turn of the loop (see SocketResolver.probe). Process facts are
// cached per pid for a short grace period, so a process that opens many connections is read
// once and one that exits right after is still known. Past half that period an entry is
// described again in the background while the old one still answers: under load a
// description took 0.1-1.1 s (measured in the attribution benchmark: its reads wait in the
// libuv thread pool behind LevelDB), and every connection of a busy program waited for it.
import { OrderedMap } from '../collections/index.js';
import type { Flow } from '../flows/index.js';
import { programBefore, type FlowEnds, type ProgramCopies, type SocketOwner, type SocketResolver } from '../procfs/index.js';
import type { Described, SoftwareContext } from '../software/index.js';
import type { AttributionMethod, Confidence } from '../alerts/index.js';

export interface Attribution {
  method: AttributionMethod;
  confidence: Confidence;
  described?: Described;
  /**
   * Unattributed, but the kernel named the process (its socket's pid and uid, the connect
   * tracer's comm) and it was gone, with nothing left that describes it: what is known of it.
   */
  gone?: GoneProcess;
}

/** A process known only by what the kernel said of its socket: pid, uid, its name when traced, the uid's host user name. */
export interface GoneProcess {
  pid: number;
  uid: number;
  name?: string;
  userName?: string;
}

/** A process named by other evidence than the connection's socket (see Attributor.attribute). */
export interface FallbackOwner {
  pid: number;
  method: AttributionMethod;
  confidence: Confidence;
}

interface Pending {
  flow: Pick<Flow, 'transport' | 'clientIp' | 'clientPort' | 'serverIp' | 'serverPort' | 'ended'> & { startTime?: number };
  resolve: (a: Attribution) => void;
  fallback?: () => FallbackOwner | undefined;
  retried?: boolean;
  /** Only the owning pid is wanted (a DNS query's socket): no process description, no retry. */
  pidOnly?: (pid: number | undefined) => void;
}

/**
 * A socket whose owner was not found at once is looked up once more after this long: the
 * inode → pid index may need a full /proc fd rescan, which the resolver allows every 250 ms
 * (a process indexed before it opened the socket is found only by that rescan).
 */
const RETRY_MS = 300;

export interface AttributorOptions {
  resolver: SocketResolver;
  software: SoftwareContext;
  /** How long process facts are reused for the same pid, ms (default 5000). */
  processCacheMs?: number;
  /** Bound on cached processes (default 4096). */
  processCacheSize?: number;
  /**
   * The exec watcher's copies: a process that exec'd another program after the connection's
   * first packet is described as it was then (program-at.ts); a description cached before the
   * process's last exec is not used for a connection after it.
   */
  programs?: ProgramCopies;
  now: () => number;
}

export class AttributorStats {
  attributed = 0;
  /** probe() threw (it must not; counted rather than thrown onto the packet path). */
  probeErrors = 0;
  attributedCached = 0;
  unattributed = 0;
  socketNotFound = 0;
  processGone = 0;
  batches = 0;
  retries = 0;
  processCacheHits = 0;
  /** Cached descriptions renewed in the background (see the header). */
  processRefreshes = 0;
  /** Attributed by the fallback (the process that resolved the address) after the socket was not found. */
  attributedByDns = 0;
  /** Attributed through the connect tracer after the socket (or its holder) was gone. */
  attributedTraced = 0;
  /** Described as the program the process ran at the connection, which it has exec'd away from since. */
  describedBeforeExec = 0;
  /** Cached descriptions not used because the process exec'd another program after they were taken. */
  staleAfterExec = 0;
}

function ends(f: Pending['flow']): FlowEnds {
  const e: FlowEnds = { transport: f.transport, localIp: f.clientIp, localPort: f.clientPort, remoteIp: f.serverIp, remotePort: f.serverPort };
  if (f.startTime !== undefined) e.startTime = f.startTime;
  return e;
}

interface CachedProcess { at: number; value: Promise<Described | undefined>; refreshing?: boolean }

const NONE: Attribution = Object.freeze({ method: 'none', confidence: 'low' });

export class Attributor {
  readonly stats = new AttributorStats();
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly processes = new OrderedMap<number, CachedProcess>();

  constructor(private readonly opts: AttributorOptions) {}

  /**
   * `fallback` is asked when the socket's owner could not be found: another piece of evidence
   * (the pipeline passes the process that was just told the address by DNS). Its answer is
   * asked after the batch's other results are in, so an owner found in the same batch for a
   * DNS query's socket counts.
   */
  attribute(flow: Flow, fallback?: () => FallbackOwner | undefined): Promise<Attribution> {
    this.probe(flow);
    return new Promise((resolve) => this.enqueue({ flow, resolve, fallback }));
  }

  /** The pid owning a (short-lived) client socket, e.g. the one a DNS query left from. */
  socketOwner(ends: Pending['flow']): Promise<number | undefined> {
    this.probe(ends);
    return new Promise((resolve) => this.enqueue({ flow: ends, resolve: () => undefined, pidOnly: resolve }));
  }

  /** Whether `pid` still exists (a synchronous stat of its /proc entry, µs). */
  processAlive(pid: number): boolean {
    return this.opts.resolver.processAlive(pid);
  }

  private probe(f: Pending['flow']): void {
    try {
      this.opts.resolver.probe(ends(f));
    } catch {
      this.stats.probeErrors += 1;
    }
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.runBatch());
    }
  }

  private async runBatch(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    this.stats.batches += 1;
    let owners: (SocketOwner | undefined)[];
    try {
      owners = await this.opts.resolver.resolve(batch.map((p) => ends(p.flow)));
    } catch {
      owners = [];
    }
    await Promise.all(batch.map((p, i) => this.settle(p, owners[i])));
  }

  private async settle(p: Pending, owner: SocketOwner | undefined): Promise<void> {
    if (p.pidOnly) {
      p.pidOnly(owner?.pid);
      return;
    }
    if (owner?.pid === undefined && !p.retried && !p.flow.ended) {
      this.stats.retries += 1;
      setTimeout(() => this.enqueue({ ...p, retried: true }), RETRY_MS);
      return;
    }
    if (owner?.pid === undefined) {
      this.stats.socketNotFound += 1;
      const other = p.fallback ? await this.byFallback(p.fallback) : undefined;
      if (other) {
        this.stats.attributedByDns += 1;
        p.resolve(other);
        return;
      }
      this.stats.unattributed += 1;
      p.resolve(NONE);
      return;
    }
    let described = await this.describeAt(owner.pid, p.flow.startTime);
    if (owner.holder !== undefined && (!described || described.software.id === '')) {
      // The maker is gone with nothing (or only its name: caught exiting) left to describe it:
      // the process holding its socket, which runs the same program when it inherited it.
      const held = await this.describeAt(owner.holder.pid, p.flow.startTime);
      if (held && (held.software.id !== '' || !described)) {
        described = held;
        owner.method = owner.holder.method;
      }
    }
    if (!described && owner.method === 'ebpf-connect' && owner.holder === undefined && !p.retried && !p.flow.ended) {
      // The tracer's maker is gone and no holder was found yet (a new process's fds wait for the
      // rate-limited scan): looked up once more, as a socket with no owner found is.
      this.stats.retries += 1;
      setTimeout(() => this.enqueue({ ...p, retried: true }), RETRY_MS);
      return;
    }
    if (!described) {
      this.stats.processGone += 1;
      this.stats.unattributed += 1;
      const gone: GoneProcess = { pid: owner.pid, uid: owner.uid };
      if (owner.comm) gone.name = owner.comm;
      const userName = await this.opts.software.hostUserName(owner.uid).catch(() => undefined);
      if (userName !== undefined) gone.userName = userName;
      p.resolve({ ...NONE, gone });
      return;
    }
    const method = owner.method ?? 'procfs-socket';
    if (method === 'cached-socket') this.stats.attributedCached += 1;
    else if (method === 'ebpf-connect') this.stats.attributedTraced += 1;
    else this.stats.attributed += 1;
    // The tracer names the process that called connect() (kernel-told, exact), as a live socket does.
    p.resolve({ method, confidence: method === 'cached-socket' ? 'medium' : 'high', described });
  }

  private async byFallback(fallback: () => FallbackOwner | undefined): Promise<Attribution | undefined> {
    // One turn of the loop: the owners of DNS sockets resolved in this batch are recorded first.
    await new Promise((r) => setImmediate(r));
    const f = fallback();
    if (!f) return undefined;
    const described = await this.describe(f.pid);
    return described ? { method: f.method, confidence: f.confidence, described } : undefined;
  }

  /** The process as it was at `t` (the connection's first packet) when it has exec'd another program since; else as it is. */
  private describeAt(pid: number, t: number | undefined): Promise<Described | undefined> {
    const then = t === undefined || this.opts.programs === undefined ? undefined : programBefore(this.opts.programs, pid, t);
    if (then === undefined) return this.describe(pid);
    this.stats.describedBeforeExec += 1;
    return this.opts.software.describe(pid, then).catch(() => undefined);
  }

  private describe(pid: number): Promise<Described | undefined> {
    const now = this.opts.now();
    const ttl = this.opts.processCacheMs ?? 5000;
    const hit = this.processes.get(pid);
    if (hit && now - hit.at < ttl && this.execedSince(pid, hit.at)) this.stats.staleAfterExec += 1;
    else if (hit && now - hit.at < ttl) {
      this.stats.processCacheHits += 1;
      if (now - hit.at >= ttl / 2 && !hit.refreshing) this.refresh(pid, hit, now);
      return hit.value;
    }
    const value = this.opts.software.describe(pid).catch(() => undefined);
    this.remember(pid, { at: now, value });
    return value;
  }

  /**
   * Whether the process exec'd another program after `at` (a script's `exec curl ...`): a
   * description taken before then is another program's. Known through the exec watcher only.
   */
  private execedSince(pid: number, at: number): boolean {
    const last = this.opts.programs?.last(pid);
    return last !== undefined && last.kind === 'exec' && last.event > at;
  }

  /** Describes the pid again; the new description replaces the old once it is there (a vanished process keeps the old until it expires). */
  private refresh(pid: number, hit: CachedProcess, now: number): void {
    hit.refreshing = true;
    this.stats.processRefreshes += 1;
    void this.opts.software.describe(pid).catch(() => undefined).then((d) => {
      if (d !== undefined && this.processes.get(pid) === hit) this.remember(pid, { at: now, value: Promise.resolve(d) });
    });
  }

  private remember(pid: number, entry: CachedProcess): void {
    this.processes.set(pid, entry, true);
    this.processes.trim(this.opts.processCacheSize ?? 4096);
  }
}
