// socket inode → (pid, fd) from the /proc/PID/fd/* links "socket:[INODE]". Refreshed
// incrementally: new pids are scanned as they appear; a full rescan (needed for sockets that
// already-indexed pids opened later) is rate-limited by the caller. Reads are synchronous (see
// netns-sync.ts); scan() yields to the event loop between chunks so a rescan of 10k pids does
// not hold up packet capture.
import type { ProcFs } from './procfs.js';
import { SyncProc } from './netns-sync.js';

export interface Holder { pid: number; fd: string }

const SOCKET_LINK = /^socket:\[(\d+)\]$/;
/** Pids scanned between two yields: ~16 fd directories take well under a millisecond. */
const SCAN_CHUNK = 16;

export interface PidIndexOptions {
  /** Bounds memory on hosts with very many sockets; past it, new sockets are counted and not indexed. */
  maxInodes?: number;
  /**
   * How long the sockets of a process that exited stay known, ms (default 0: off). A socket
   * found in a net table whose indexed holder has exited since is then reported from this
   * cache (method 'cached-socket') when no live holder is found.
   */
  exitedGraceMs?: number;
  /** Bound of that cache (default 65536 sockets), oldest evicted first. */
  maxExited?: number;
  now?: () => number;
}

export class PidIndex {
  readonly stats = { pidsScanned: 0, deadPidsDropped: 0, staleHits: 0, overflows: 0, exitedHits: 0, exitedEvictions: 0 };
  private readonly sync: SyncProc;
  private readonly maxInodes: number;
  private readonly graceMs: number;
  private readonly maxExited: number;
  private readonly now: () => number;
  private byInode = new Map<number, Holder>();
  private inodesByPid = new Map<number, number[]>();
  /** Sockets of exited processes, insertion-ordered by exit time. */
  private exited = new Map<number, Holder & { at: number }>();

  constructor(proc: ProcFs, opts: PidIndexOptions = {}) {
    this.sync = new SyncProc(proc);
    this.maxInodes = opts.maxInodes ?? 1_000_000;
    this.graceMs = opts.exitedGraceMs ?? 0;
    this.maxExited = opts.maxExited ?? 65_536;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.byInode.size;
  }

  /** Sockets the pid held at its last scan. */
  socketCount(pid: number): number {
    return this.inodesByPid.get(pid)?.length ?? 0;
  }

  hasPid(pid: number): boolean {
    return this.inodesByPid.has(pid);
  }

  /** The holder an inode had at its pid's last scan, unchecked (it may have closed it since). */
  peek(inode: number): Holder | undefined {
    return this.byInode.get(inode);
  }

  /** Live holder of an inode, checked against its fd link so a dead pid or closed fd is never reported. */
  lookup(inode: number): Holder | undefined {
    const h = this.byInode.get(inode);
    if (!h) return undefined;
    const link = this.sync.readLink(`${h.pid}/fd/${h.fd}`);
    if (link === `socket:[${inode}]`) return h;
    this.stats.staleHits++;
    if (!this.sync.exists(String(h.pid))) {
      this.dropPid(h.pid);
      return undefined;
    }
    this.byInode.delete(inode);
    // The fd is gone but not reused: a zombie not yet reaped, or a close right after the
    // table listed the socket. The holder is as good as one that exited.
    if (link === undefined && this.graceMs > 0) this.remember(inode, { ...h, at: this.now() });
    return undefined;
  }

  /** The holder of an inode if that process exited less than exitedGraceMs ago. */
  recentlyExited(inode: number): Holder | undefined {
    const h = this.exited.get(inode);
    if (!h) return undefined;
    if (this.now() - h.at > this.graceMs) return undefined;
    this.stats.exitedHits++;
    return { pid: h.pid, fd: h.fd };
  }

  /** Drops pids that are not in `live` (the current listing of the root). */
  dropDead(live: Set<number>): void {
    for (const pid of this.inodesByPid.keys()) {
      if (!live.has(pid)) this.dropPid(pid);
    }
  }

  private dropPid(pid: number): void {
    const now = this.now();
    for (const inode of this.inodesByPid.get(pid) ?? []) {
      const h = this.byInode.get(inode);
      if (h?.pid !== pid) continue;
      this.byInode.delete(inode);
      if (this.graceMs > 0) this.remember(inode, { ...h, at: now });
    }
    this.inodesByPid.delete(pid);
    this.stats.deadPidsDropped++;
  }

  private remember(inode: number, h: Holder & { at: number }): void {
    this.exited.delete(inode);
    this.exited.set(inode, h);
    const cutoff = h.at - this.graceMs;
    for (const [old, e] of this.exited) {
      if (this.exited.size <= this.maxExited && e.at >= cutoff) break;
      this.exited.delete(old);
      if (e.at >= cutoff) this.stats.exitedEvictions++;
    }
  }

  /** Scans the fds of these pids and (re)indexes their sockets, yielding between chunks. */
  async scan(pids: number[]): Promise<void> {
    for (let i = 0; i < pids.length; i += SCAN_CHUNK) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      this.scanSync(pids.slice(i, i + SCAN_CHUNK));
    }
  }

  scanSync(pids: number[]): void {
    for (const pid of pids) this.scanPid(pid);
  }

  private scanPid(pid: number): void {
    const fds = this.sync.list(`${pid}/fd`);
    this.stats.pidsScanned++;
    for (const inode of this.inodesByPid.get(pid) ?? []) {
      if (this.byInode.get(inode)?.pid === pid) this.byInode.delete(inode);
    }
    // Gone, a zombie, or unreadable: remembered as empty so partial scans skip it until it dies.
    const inodes: number[] = [];
    this.inodesByPid.set(pid, inodes);
    for (const fd of fds ?? []) {
      const link = this.sync.readLink(`${pid}/fd/${fd}`);
      const m = link ? SOCKET_LINK.exec(link) : null;
      if (!m) continue;
      const inode = Number(m[1]);
      if (!this.byInode.has(inode) && this.byInode.size >= this.maxInodes) {
        this.stats.overflows++;
        continue;
      }
      inodes.push(inode);
      this.byInode.set(inode, { pid, fd });
    }
  }
}
