// socket inode → (pid, fd) from the /proc/PID/fd/* links "socket:[INODE]". Refreshed
// incrementally: new pids are scanned as they appear; a full rescan (needed for sockets that
// already-indexed pids opened later) is rate-limited by the caller. Reads are synchronous (see
// netns-sync.ts); scan() yields to the event loop between chunks so a rescan of 10k pids does
// not hold up packet capture.
//
// search() looks for given sockets in one pid and stops when they are found. Measured here: a
// readdir of a 24-fd directory takes ~27 µs, a readlink ~4 µs (on an idle machine; 15-20 µs
// each under the attribution benchmark's load), so a complete scan of a busy program is
// ~110 µs, and at 2,000 connections/s complete rescans of the likely holders were most of the
// agent's CPU.
// The kernel gives a new socket the lowest free fd: the lowest number free at the pid's last
// listing, or a lower one closed since (in a program that closes its oldest connection first,
// the fd of the oldest socket known). Those two are tried first without listing the directory;
// then, after a listing, numbers new since the last one, former sockets oldest first, the rest.
import type { ProcFs } from './procfs.js';
import { OrderedMap } from '../collections/index.js';
import { FdBits } from './fdbits.js';
import { emptyFds, guessFds, readOrder, socketInode, type PidFds } from './fdorder.js';
import { SyncProc } from './netns-sync.js';
import { parseStat } from './process.js';

export interface Holder { pid: number; fd: string }

/** Pids scanned between two yields: ~16 fd directories take well under a millisecond. */
const SCAN_CHUNK = 16;
/** Sockets of one pid walked at most by fdsOf. */
const MAX_FD_WALK = 64;
const STD_FDS = ['0', '1', '2'];
/** readFd() result for an fd that is not open any more. */
const GONE = -1;

export interface PidIndexOptions {
  /** Bounds memory on hosts with very many sockets; past it, new sockets are counted and not indexed. */
  maxInodes?: number;
  /**
   * How long the sockets of a process that exited stay known, ms (default 0: off). A socket
   * still listed whose indexed holder has exited since (or whose fd lookup() found closed, not
   * reused: a zombie not yet reaped) is then reported from this cache (method 'cached-socket')
   * when no live holder is found. A socket a live process closed is not kept: if it is still
   * open, another process holds it (inherited, passed), and naming the first would be wrong.
   */
  exitedGraceMs?: number;
  /** Bound of that cache (default 65536 sockets), oldest evicted first. */
  maxExited?: number;
  now?: () => number;
}

export class PidIndex {
  readonly stats = {
    pidsScanned: 0, deadPidsDropped: 0, staleHits: 0, overflows: 0, exitedHits: 0, exitedEvictions: 0,
    fdReads: 0, searches: 0, guessHits: 0,
  };
  private readonly sync: SyncProc;
  private readonly maxInodes: number;
  private readonly graceMs: number;
  private readonly maxExited: number;
  private readonly now: () => number;
  private byInode = new Map<number, Holder>();
  private pids = new Map<number, PidFds>();
  /** Sockets of exited processes, insertion-ordered by exit time. */
  private readonly exited = new OrderedMap<number, Holder & { at: number }>();

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

  /** Sockets the pid held at its last read. */
  socketCount(pid: number): number {
    return this.pids.get(pid)?.socks.size ?? 0;
  }

  hasPid(pid: number): boolean {
    return this.pids.has(pid);
  }

  /** The holder an inode had at its pid's last read, unchecked (it may have closed it since). */
  peek(inode: number): Holder | undefined {
    return this.byInode.get(inode);
  }

  /**
   * The process that made a socket `pid` holds, among it and its ancestors (at most `maxLevels`
   * up): a socket held by several processes was inherited across fork (a shell script's
   * `exec 3<>/dev/tcp/...` socket is held by the commands of its pipeline too, `cat <&3 | wc`),
   * and its maker is the oldest holder. While the holder's parent holds the same socket at the
   * same fd (fork keeps fd numbers), the parent is taken instead. The holder's fd comes from its
   * own last read, not from the inode's entry: that names whichever holder was read last (a
   * sibling, or the maker itself), so it cannot say which fd `pid` holds it at; a command given
   * the socket as its input holds it at two (`cat <&3`: 0 and 3), the parent at one of them. One
   * stat and one readlink per fd a level, synchronous (~15 µs); a parent that does not hold it
   * (the usual case) costs one stat and a readlink or two. Returns `pid` when no parent holds it or its fd is not known.
   */
  creatorOf(pid: number, inode: number, maxLevels: number): number {
    const fds = this.fdsOf(pid, inode);
    if (fds.length === 0) return pid;
    const link = `socket:[${inode}]`;
    let at = pid;
    for (let level = 0; level < maxLevels; level++) {
      const stat = parseStat(this.sync.readText(`${at}/stat`) ?? '');
      if (stat === undefined || stat.ppid <= 1) break;
      if (!fds.some((fd) => this.sync.readLink(`${stat.ppid}/fd/${fd}`) === link)) break;
      at = stat.ppid;
    }
    return at;
  }

  /**
   * The fds at which `pid` held `inode` when its fds were last read (several: `cmd <&3` holds it
   * at 0 and 3). A pid with many sockets (a proxy, a server: the socket's only holder, mostly)
   * is not walked whole on every connection: its entry's fd and the standard fds are looked at.
   */
  private fdsOf(pid: number, inode: number): string[] {
    const socks = this.pids.get(pid)?.socks;
    const h = this.byInode.get(inode);
    const fds = h?.pid === pid ? [h.fd] : [];
    if (socks === undefined) return fds;
    if (socks.size <= MAX_FD_WALK) {
      for (const [fd, held] of socks) if (held === inode && !fds.includes(fd)) fds.push(fd);
    } else {
      for (const fd of STD_FDS) if (socks.get(fd) === inode && !fds.includes(fd)) fds.push(fd);
    }
    return fds;
  }

  /** Live holder of an inode, checked against its fd link so a dead pid or closed fd is never reported. */
  lookup(inode: number): Holder | undefined {
    const h = this.byInode.get(inode);
    if (!h) return undefined;
    const fds = this.pids.get(h.pid);
    const got = fds ? this.readFd(h.pid, fds, h.fd) : GONE;
    if (got === inode) return h;
    this.stats.staleHits++;
    if (this.byInode.get(inode) === h) this.byInode.delete(inode);
    // The fd is gone, not reused: a zombie not yet reaped, or a close right after the table
    // listed the socket. The holder is as good as one that exited.
    if (got === GONE && this.graceMs > 0) this.remember(inode, { ...h, at: this.now() });
    if (got === GONE && !this.sync.exists(String(h.pid))) this.dropPid(h.pid);
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
    for (const pid of this.pids.keys()) {
      if (!live.has(pid)) this.dropPid(pid);
    }
  }

  private dropPid(pid: number): void {
    this.unindexAll(pid, this.pids.get(pid), true);
    this.pids.delete(pid);
    this.stats.deadPidsDropped++;
  }

  private unindexAll(pid: number, fds: PidFds | undefined, exited: boolean): void {
    for (const [fd, inode] of fds?.socks ?? []) this.unindex(inode, pid, fd, exited);
  }

  /** `exited`: the holder has gone, so the socket is remembered for exitedGraceMs. */
  private unindex(inode: number, pid: number, fd: string, exited = false): void {
    const h = this.byInode.get(inode);
    if (h?.pid !== pid || h.fd !== fd) return;
    this.byInode.delete(inode);
    if (exited && this.graceMs > 0) this.remember(inode, { pid, fd, at: this.now() });
  }

  private remember(inode: number, h: Holder & { at: number }): void {
    this.exited.delete(inode);
    this.exited.set(inode, h);
    const cutoff = h.at - this.graceMs;
    for (const [old, e] of this.exited.entries()) {
      if (this.exited.size <= this.maxExited && e.at >= cutoff) break;
      this.exited.delete(old);
      if (e.at >= cutoff) this.stats.exitedEvictions++;
    }
  }

  /**
   * Scans every fd of these pids and (re)indexes their sockets, yielding between chunks; stops
   * early once `done()` says so (checked after each chunk). Returns the time spent scanning,
   * ms by the injected clock, not counting the yields.
   */
  async scan(pids: number[], done?: () => boolean): Promise<number> {
    let busy = 0;
    for (let i = 0; i < pids.length; i += SCAN_CHUNK) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      const t0 = this.now();
      this.scanSync(pids.slice(i, i + SCAN_CHUNK));
      busy += this.now() - t0;
      if (done?.()) break;
    }
    return busy;
  }

  scanSync(pids: number[]): void {
    for (const pid of pids) this.scanPid(pid);
  }

  /**
   * Looks for these socket inodes among one pid's fds, likeliest first (see the header), and
   * stops when all are found. Returns the ones found, now indexed to this pid. A pid never read
   * before is scanned whole.
   */
  search(pid: number, wanted: ReadonlySet<number>): number[] {
    const found = this.guess(pid, wanted);
    return found.length === wanted.size ? found : found.concat(this.searchListed(pid, wanted, found));
  }

  /** The cheap half of search(): the two guessed fds only, no listing. */
  guess(pid: number, wanted: ReadonlySet<number>): number[] {
    this.stats.searches++;
    const fds = this.pids.get(pid);
    const found: number[] = [];
    if (!fds || wanted.size === 0) return found;
    for (const guess of guessFds(fds)) {
      const before = fds.socks.get(guess);
      const inode = this.readFd(pid, fds, guess);
      if (inode > 0 && inode === before) fds.steady.add(guess);
      if (inode <= 0 || !wanted.has(inode) || found.includes(inode)) continue;
      this.stats.guessHits++;
      found.push(inode);
      if (found.length === wanted.size) break;
    }
    return found;
  }

  /** The rest of search(): after a listing, every fd not guessed, likeliest first, until all are found. */
  searchListed(pid: number, wanted: ReadonlySet<number>, already: readonly number[] = []): number[] {
    const fds = this.pids.get(pid);
    if (!fds) {
      this.scanPid(pid);
      return [...wanted].filter((inode) => !already.includes(inode) && this.byInode.get(inode)?.pid === pid);
    }
    const found: number[] = [];
    const left = wanted.size - already.length;
    if (left <= 0) return found;
    const guesses = guessFds(fds);
    const names = this.sync.list(`${pid}/fd`);
    this.stats.pidsScanned++;
    if (names === undefined) {
      this.forgetFds(pid);
      return found;
    }
    for (const name of readOrder(fds, names, guesses)) {
      const inode = this.readFd(pid, fds, name);
      if (inode > 0 && wanted.has(inode) && !found.includes(inode) && !already.includes(inode)) found.push(inode);
      if (found.length === left) break;
    }
    this.prune(pid, fds, names);
    return found;
  }

  /** Reads one fd link and records it; returns its socket inode, 0 for another kind of fd, GONE when closed. */
  private readFd(pid: number, fds: PidFds, name: string): number {
    this.stats.fdReads++;
    const link = this.sync.readLink(`${pid}/fd/${name}`);
    const old = fds.socks.get(name);
    const inode = link === undefined ? GONE : socketInode(link);
    if (old !== undefined && old !== inode) {
      fds.socks.delete(name);
      fds.steady.delete(name);
      this.unindex(old, pid, name);
    }
    if (inode === GONE) {
      fds.known.delete(Number(name));
      return GONE;
    }
    fds.known.add(Number(name));
    if (inode > 0 && this.index(inode, pid, name)) fds.socks.set(name, inode);
    return inode;
  }

  private index(inode: number, pid: number, fd: string): boolean {
    const h = this.byInode.get(inode);
    if (h?.pid === pid && h.fd === fd) return true;
    if (!h && this.byInode.size >= this.maxInodes) {
      this.stats.overflows++;
      return false;
    }
    this.byInode.set(inode, { pid, fd });
    return true;
  }

  /** After a listing: fds not in it are closed. */
  private prune(pid: number, fds: PidFds, names: string[]): void {
    const known = new FdBits(names.length * 2);
    for (const name of names) if (fds.known.has(Number(name))) known.add(Number(name));
    fds.known = known;
    for (const [fd, inode] of fds.socks) {
      if (known.has(Number(fd))) continue;
      fds.socks.delete(fd);
      fds.steady.delete(fd);
      this.unindex(inode, pid, fd);
    }
  }

  /** Gone, a zombie, or unreadable: remembered as empty so partial scans skip it until it dies. */
  private forgetFds(pid: number): void {
    this.unindexAll(pid, this.pids.get(pid), true);
    this.pids.set(pid, emptyFds(0));
  }

  private scanPid(pid: number): void {
    const names = this.sync.list(`${pid}/fd`);
    this.stats.pidsScanned++;
    if (names === undefined) {
      this.forgetFds(pid);
      return;
    }
    const old = this.pids.get(pid);
    const fds = emptyFds(names.length * 2);
    this.pids.set(pid, fds);
    for (const name of names) this.readFd(pid, fds, name);
    // Sockets of the last read that this one did not see again: closed (or moved to another fd).
    for (const [fd, inode] of old?.socks ?? []) {
      if (fds.socks.get(fd) !== inode) this.unindex(inode, pid, fd);
    }
  }
}
