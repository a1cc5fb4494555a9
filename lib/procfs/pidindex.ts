// socket inode → (pid, fd) from the /proc/PID/fd/* links "socket:[INODE]". Refreshed
// incrementally: new pids are scanned as they appear; a full rescan (needed for sockets that
// already-indexed pids opened later) is rate-limited by the caller.
import type { ProcFs } from './procfs.js';

export interface Holder { pid: number; fd: string }

const SOCKET_LINK = /^socket:\[(\d+)\]$/;
/** fd directories read at once: enough to hide readlink latency, few enough to stay gentle on hosts with 10k+ pids. */
const SCAN_CONCURRENCY = 16;

export class PidIndex {
  readonly stats = { pidsScanned: 0, deadPidsDropped: 0, staleHits: 0, overflows: 0 };
  private byInode = new Map<number, Holder>();
  private inodesByPid = new Map<number, number[]>();

  /** maxInodes bounds memory on hosts with very many sockets; past it, new sockets are counted and not indexed. */
  constructor(private readonly proc: ProcFs, private readonly maxInodes = 1_000_000) {}

  get size(): number {
    return this.byInode.size;
  }

  hasPid(pid: number): boolean {
    return this.inodesByPid.has(pid);
  }

  /** Holder of an inode, checked against its fd link so a dead pid or closed fd is never reported. */
  async lookup(inode: number): Promise<Holder | undefined> {
    const h = this.byInode.get(inode);
    if (!h) return undefined;
    const link = await this.proc.readLink(`${h.pid}/fd/${h.fd}`);
    if (link === `socket:[${inode}]`) return h;
    this.stats.staleHits++;
    this.byInode.delete(inode);
    return undefined;
  }

  /** Drops pids that are not in `live` (the current listing of the root). */
  dropDead(live: Set<number>): void {
    for (const [pid, inodes] of this.inodesByPid) {
      if (live.has(pid)) continue;
      for (const inode of inodes) {
        if (this.byInode.get(inode)?.pid === pid) this.byInode.delete(inode);
      }
      this.inodesByPid.delete(pid);
      this.stats.deadPidsDropped++;
    }
  }

  /** Scans the fds of these pids and (re)indexes their sockets. */
  async scan(pids: number[]): Promise<void> {
    for (let i = 0; i < pids.length; i += SCAN_CONCURRENCY) {
      await Promise.all(pids.slice(i, i + SCAN_CONCURRENCY).map((pid) => this.scanPid(pid)));
    }
  }

  private async scanPid(pid: number): Promise<void> {
    const fds = await this.proc.list(`${pid}/fd`);
    this.stats.pidsScanned++;
    const previous = this.inodesByPid.get(pid) ?? [];
    for (const inode of previous) {
      if (this.byInode.get(inode)?.pid === pid) this.byInode.delete(inode);
    }
    // Gone, a zombie, or unreadable: remembered as empty so partial scans skip it until it dies.
    if (!fds) {
      this.inodesByPid.set(pid, []);
      return;
    }
    const links = await Promise.all(fds.map((fd) => this.proc.readLink(`${pid}/fd/${fd}`)));
    const inodes: number[] = [];
    for (let i = 0; i < fds.length; i++) {
      const m = links[i] ? SOCKET_LINK.exec(links[i] as string) : null;
      if (!m) continue;
      const inode = Number(m[1]);
      if (!this.byInode.has(inode) && this.byInode.size >= this.maxInodes) {
        this.stats.overflows++;
        continue;
      }
      inodes.push(inode);
      this.byInode.set(inode, { pid, fd: fds[i] });
    }
    this.inodesByPid.set(pid, inodes);
  }
}
