// Attribution: connection → socket → process → software, through /proc.
//
// Lookups are batched: every connection that starts during one turn of the event loop is
// resolved with one read of each /proc/net table it needs, as soon as the packets are read
// (the capture runs in immediate mode), because a short-lived socket leaves the kernel's tables
// when it closes. Process facts are cached per pid for a short grace period, so a process that
// opens many connections is read once and one that exits right after is still known.
import type { Flow } from '../flows/index.js';
import { readProcess, type ProcFs, type ProcessInfo, type SocketOwner, type SocketResolver } from '../procfs/index.js';
import { identifySoftware, type SoftwareIdentity } from '../software/index.js';
import type { AttributionMethod } from '../alerts/index.js';

export interface Attribution {
  method: AttributionMethod;
  process?: ProcessInfo;
  software?: SoftwareIdentity;
}

interface Pending {
  flow: Flow;
  resolve: (a: Attribution) => void;
  retried?: boolean;
}

/**
 * A socket whose owner was not found at once is looked up once more after this long: the
 * inode → pid index may need a full /proc fd rescan, which the resolver allows every 250 ms
 * (a process indexed before it opened the socket is found only by that rescan).
 */
const RETRY_MS = 300;

export interface AttributorOptions {
  proc: ProcFs;
  resolver: SocketResolver;
  passwdFile: string;
  /** How long process facts are reused for the same pid, ms (default 5000). */
  processCacheMs?: number;
  /** Bound on cached processes (default 4096). */
  processCacheSize?: number;
  now: () => number;
}

export class AttributorStats {
  attributed = 0;
  unattributed = 0;
  socketNotFound = 0;
  processGone = 0;
  batches = 0;
  retries = 0;
  processCacheHits = 0;
}

const NONE: Attribution = Object.freeze({ method: 'none' });

export class Attributor {
  readonly stats = new AttributorStats();
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly processes = new Map<number, { at: number; value: Promise<{ process: ProcessInfo; software: SoftwareIdentity } | undefined> }>();

  constructor(private readonly opts: AttributorOptions) {}

  attribute(flow: Flow): Promise<Attribution> {
    return new Promise((resolve) => this.enqueue({ flow, resolve }));
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
      owners = await this.opts.resolver.resolve(batch.map((p) => ({
        transport: p.flow.transport,
        localIp: p.flow.clientIp,
        localPort: p.flow.clientPort,
        remoteIp: p.flow.serverIp,
        remotePort: p.flow.serverPort,
      })));
    } catch {
      owners = [];
    }
    await Promise.all(batch.map(async (p, i) => {
      const owner = owners[i];
      if (owner?.pid === undefined && !p.retried && !p.flow.ended) {
        this.stats.retries += 1;
        setTimeout(() => this.enqueue({ ...p, retried: true }), RETRY_MS);
        return;
      }
      if (owner?.pid === undefined) {
        this.stats.socketNotFound += 1;
        this.stats.unattributed += 1;
        p.resolve(NONE);
        return;
      }
      const proc = await this.processFacts(owner.pid);
      if (!proc) {
        this.stats.processGone += 1;
        this.stats.unattributed += 1;
        p.resolve(NONE);
        return;
      }
      this.stats.attributed += 1;
      p.resolve({ method: 'procfs-socket', process: proc.process, software: proc.software });
    }));
  }

  private processFacts(pid: number): Promise<{ process: ProcessInfo; software: SoftwareIdentity } | undefined> {
    const now = this.opts.now();
    const ttl = this.opts.processCacheMs ?? 5000;
    const hit = this.processes.get(pid);
    if (hit && now - hit.at < ttl) {
      this.stats.processCacheHits += 1;
      return hit.value;
    }
    const value = readProcess(this.opts.proc, pid, { passwdFile: this.opts.passwdFile }).then((process) =>
      process ? { process, software: identifySoftware(process) } : undefined);
    this.processes.delete(pid);
    this.processes.set(pid, { at: now, value });
    const max = this.opts.processCacheSize ?? 4096;
    if (this.processes.size > max) {
      const oldest = this.processes.keys().next().value;
      if (oldest !== undefined) this.processes.delete(oldest);
    }
    return value;
  }
}
