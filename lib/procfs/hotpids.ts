// Pids that recently held a socket the resolver attributed. A long-running program that opens
// connection after connection (a service, a crawler, the benchmark's clients) already sits in
// the inode index, but its new socket does not: only a rescan of its fds finds it, and the
// full rescan of every pid is rate-limited (250 ms; 1,000 pids × 20 fds ≈ 20k readlinks). So
// on a miss these few pids are rescanned first, synchronously, while the socket is still open.
// Programs also keep talking to the same peers (a service to its backends, the benchmark's
// clients to their port): the pid that last held a socket to a remote address and port is
// tried first of all, alone, so the common case rescans one fd directory, not twenty.
import { OrderedMap } from '../collections/index.js';

export interface HotPidsOptions {
  /** Pids kept at most, most recent first (default 64: a 64-pid rescan of ~20 fds each is ~1 ms). */
  max?: number;
  /** A pid stays hot this long after its last attributed socket, ms (default 30000). */
  ttlMs?: number;
  now: () => number;
}

export class HotPids {
  readonly stats = { marked: 0, evictions: 0, peerEvictions: 0 };
  private readonly pids = new OrderedMap<number, number>();
  /** "remote ip|port" → the pid that last held a socket to it; bounded by 16 × max. */
  private readonly peers = new OrderedMap<string, number>();
  private readonly max: number;
  private readonly ttlMs: number;

  constructor(private readonly opts: HotPidsOptions) {
    this.max = opts.max ?? 64;
    this.ttlMs = opts.ttlMs ?? 30_000;
  }

  mark(pid: number): void {
    if (this.max <= 0) return;
    this.pids.set(pid, this.opts.now(), true);
    this.stats.marked++;
    this.stats.evictions += this.pids.trim(this.max);
  }

  /** `pid` held a socket to this remote end. */
  markPeer(remoteIp: string, remotePort: number, pid: number): void {
    if (this.max <= 0) return;
    const key = `${remoteIp}|${remotePort}`;
    this.peers.set(key, pid, true);
    this.stats.peerEvictions += this.peers.trim(this.max * 16);
  }

  /** The pid that last held a socket to this remote end, if any. */
  peer(remoteIp: string, remotePort: number): number | undefined {
    return this.peers.get(`${remoteIp}|${remotePort}`);
  }

  /** Hot pids, most recently marked first; expired ones are dropped. */
  list(): number[] {
    const cutoff = this.opts.now() - this.ttlMs;
    const out: number[] = [];
    for (const [pid, at] of this.pids.entries()) {
      if (at < cutoff) this.pids.delete(pid);
      else out.push(pid);
    }
    return out.reverse();
  }

  get size(): number {
    return this.pids.size;
  }
}
