// Network namespaces seen through /proc: pids grouped by the inode of their /proc/PID/ns/net
// link ("net:[4026531992]"), one member per namespace through which its tables are read
// (/proc/MEMBER/net/tcp shows the namespace of MEMBER), and the local addresses each one owns
// (fib_trie "/32 host LOCAL" entries and if_inet6) so a flow is looked for where its local
// address lives rather than in every namespace.
import { SyncProc } from './netns-sync.js';
import { localAddresses } from './netns-addr.js';
import type { ProcFs } from './procfs.js';
import { parseStatus } from './process.js';

/** Group of pids whose ns/net link could not be read (pid 1 of a sandbox, a kernel without ns links, a fake tree). */
export const UNKNOWN_NETNS = 0;
const NS_LINK = /^net:\[(\d+)\]$/;
/** Links read between two yields on the first listing of a busy host (~5 µs each). */
const CHUNK = 512;
/**
 * Ids looked at by unseenPids(), newest first: the kernel gives them out in turn, so these are the
 * last this many processes and threads started; a listing long ago (a quiet host whose cron
 * churns through ids) must not make the look at one SYN walk tens of thousands of /proc entries.
 */
const UNSEEN_WALK = 4096;
/** Births remembered for youngPids(): a fork storm past this keeps only the newest. */
const MAX_BORN = 4096;

export interface NetnsIndexOptions {
  proc: ProcFs;
  now: () => number;
  /**
   * Least time between two pid listings unless forced, ms (default 10). Raised to ten times
   * the last listing's cost, so listing stays under ~10% of a core on hosts with 10k+ pids.
   */
  minRefreshMs?: number;
  /** Least time between two full regroups (every pid's link re-read, addresses re-read), ms (default 5000): setns(2) moves a pid rarely. */
  regroupMs?: number;
}

export class NetnsIndex {
  readonly stats = { listings: 0, regroups: 0, nsLinksRead: 0, unknownPids: 0, deadPids: 0, memberChanges: 0, namespaces: 0 };
  /** Inode of the agent's own namespace (root/self/ns/net); UNKNOWN_NETNS when unreadable. */
  host = UNKNOWN_NETNS;
  private readonly sync: SyncProc;
  private readonly minRefreshMs: number;
  private readonly regroupMs: number;
  private readonly now: () => number;
  private nsOf = new Map<number, number>();
  private groups = new Map<number, Set<number>>();
  private members = new Map<number, number>();
  private addrs = new Map<number, Set<string>>();
  private lastListing = Number.NEGATIVE_INFINITY;
  private listingCost = 0;
  /** Pids in the order they were first seen, with when: the young ones are rescanned on a miss. */
  private born: { pid: number; at: number }[] = [];
  /** The kernel's last given pid when the last listing started: later ids are unseen (unseenPids). */
  private listedUpTo = 0;
  private lastRegroup = Number.NEGATIVE_INFINITY;

  constructor(opts: NetnsIndexOptions) {
    this.sync = new SyncProc(opts.proc);
    this.now = opts.now;
    this.minRefreshMs = opts.minRefreshMs ?? 10;
    this.regroupMs = opts.regroupMs ?? 5000;
    this.host = parseNsLink(this.sync.readLink('self/ns/net'));
  }

  /**
   * Lists pids, groups the new ones, drops the dead. Returns the new pids and the live set (and
   * whether this was the first listing, whose "new" pids are every process), or undefined when
   * rate-limited. A full regroup happens at most every regroupMs.
   */
  async refresh(force = false): Promise<{ fresh: number[]; live: Set<number>; first: boolean } | undefined> {
    const now = this.now();
    if (!force && now - this.lastListing < Math.max(this.minRefreshMs, 10 * this.listingCost)) return undefined;
    // The first listing finds every process already running: none of them is young.
    const first = this.lastListing === Number.NEGATIVE_INFINITY;
    this.lastListing = now;
    this.stats.listings++;
    this.listedUpTo = this.lastPid() ?? 0;
    const live = new Set(this.sync.listPids());
    for (const pid of this.nsOf.keys()) if (!live.has(pid)) this.forget(pid);
    const regroup = now - this.lastRegroup >= this.regroupMs;
    if (regroup) { this.lastRegroup = now; this.stats.regroups++; }
    const fresh: number[] = [];
    let done = 0;
    for (const pid of live) {
      const isNew = !this.nsOf.has(pid);
      if (!isNew && !regroup) continue;
      if (isNew) fresh.push(pid);
      if (isNew && !first) this.born.push({ pid, at: now });
      if (++done % CHUNK === 0) await new Promise((r) => setImmediate(r));
      this.place(pid, this.readNs(pid));
    }
    if (regroup) this.addrs.clear();
    this.stats.namespaces = this.groups.size;
    this.listingCost = Math.max(0, this.now() - now);
    if (this.born.length > MAX_BORN) this.born = this.born.slice(this.born.length - MAX_BORN);
    return { fresh, live, first };
  }

  /** The last pid (or thread id) the kernel gave out in our pid namespace; undefined when unreadable. */
  lastPid(): number | undefined {
    const text = this.sync.readText('sys/kernel/ns_last_pid');
    const n = text === undefined ? NaN : Number.parseInt(text, 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  }

  /**
   * Processes born since the last listing, newest first, at most max: ids the kernel gave out
   * after it (ns_last_pid then and now) that are processes, not threads. A client that starts,
   * connects once and exits within a few ms is born after the listing that its connection
   * prompts, and gone before the next one: only a look by number finds it while its socket is
   * open. Ids wrap around at pid_max (32768 on a host with few CPUs, reached within hours on a
   * busy one) and start again from the bottom: then the ids given out since are those below the
   * last one and those above the listing's. At most UNSEEN_WALK ids are looked at. Empty
   * before the first listing.
   */
  unseenPids(max: number): number[] {
    const last = this.lastPid();
    const out: number[] = [];
    if (last === undefined || this.listedUpTo === 0) return out;
    const wrapped = last < this.listedUpTo;
    const walk = this.collectUnseen(last, wrapped ? 0 : this.listedUpTo, max, out, UNSEEN_WALK);
    if (wrapped && walk > 0) {
      const pidMax = Number.parseInt(this.sync.readText('sys/kernel/pid_max') ?? '', 10);
      if (Number.isInteger(pidMax) && pidMax > this.listedUpTo) this.collectUnseen(pidMax - 1, this.listedUpTo, max, out, walk);
    }
    return out;
  }

  /**
   * Processes not listed with ids from `from` down to (not including) `to`, into `out` until it
   * holds max, looking at `walk` ids at most; returns how many more may be looked at.
   */
  private collectUnseen(from: number, to: number, max: number, out: number[], walk: number): number {
    for (let id = from; id > to && out.length < max && walk > 0; id--, walk--) {
      if (this.nsOf.has(id) || !this.sync.exists(`${id}`)) continue;
      // A thread's id has a /proc entry too (not listed), with its process's fds: take the process.
      const status = this.sync.readText(`${id}/status`);
      if (status !== undefined && parseStatus(status).tgid === id) out.push(id);
    }
    return walk;
  }

  /** Live pids first seen less than withinMs ago, newest first, at most max. */
  youngPids(withinMs: number, max: number): number[] {
    const cutoff = this.now() - withinMs;
    let drop = 0;
    while (drop < this.born.length && (this.born[drop].at < cutoff || !this.nsOf.has(this.born[drop].pid))) drop++;
    if (drop > 0) this.born = this.born.slice(drop);
    const out: number[] = [];
    for (let i = this.born.length - 1; i >= 0 && out.length < max; i--) {
      if (this.nsOf.has(this.born[i].pid)) out.push(this.born[i].pid);
    }
    return out;
  }

  /** Namespace of a pid as last grouped. */
  netnsOf(pid: number): number | undefined {
    return this.nsOf.get(pid);
  }

  /** Known namespaces other than the host's, oldest first. */
  others(): number[] {
    return [...this.groups.keys()].filter((ns) => ns !== this.host && ns !== UNKNOWN_NETNS);
  }

  /** Pids to search for a socket of this namespace: its members and the pids of unknown namespace. */
  pidsOf(ns: number): number[] {
    const own = [...(this.groups.get(ns) ?? [])];
    const unknown = ns === UNKNOWN_NETNS ? [] : [...(this.groups.get(UNKNOWN_NETNS) ?? [])];
    return own.concat(unknown);
  }

  /**
   * Path prefix through which a namespace's files are read: "" (the root's own net/, which is
   * the agent's namespace) for the host, "MEMBER/" otherwise; undefined when no member is left.
   */
  prefix(ns: number): string | undefined {
    if (ns === this.host) return '';
    let member = this.members.get(ns);
    if (member === undefined) {
      const group = this.groups.get(ns);
      if (!group || group.size === 0) return undefined;
      // The lowest pid: usually the namespace's first process (a pod's pause), the longest-lived.
      member = Math.min(...group);
      this.members.set(ns, member);
      this.stats.memberChanges++;
    }
    return `${member}/`;
  }

  /** Called when reading through the member failed: that pid is gone; the next call picks another. */
  memberFailed(ns: number): void {
    const member = this.members.get(ns);
    if (member !== undefined) this.forget(member);
  }

  /** The host namespace owns this address (read once per regroup; 127/8 and ::1 are everyone's and not asked about). */
  ownedByHost(ip: string): boolean {
    return this.addressesOf(this.host).has(ip);
  }

  /** Namespaces (not the host) that own this local address; read once per namespace per regroup. */
  ownersOf(ip: string): number[] {
    const out: number[] = [];
    for (const ns of this.others()) {
      if (this.addressesOf(ns).has(ip)) out.push(ns);
    }
    return out;
  }

  private addressesOf(ns: number): Set<string> {
    let set = this.addrs.get(ns);
    if (set) return set;
    const prefix = this.prefix(ns);
    set = new Set<string>();
    if (prefix !== undefined) {
      for (const ip of localAddresses((file) => this.sync.readText(`${prefix}net/${file}`))) set.add(ip);
    }
    this.addrs.set(ns, set);
    return set;
  }

  private readNs(pid: number): number {
    this.stats.nsLinksRead++;
    const ns = parseNsLink(this.sync.readLink(`${pid}/ns/net`));
    if (ns === UNKNOWN_NETNS) this.stats.unknownPids++;
    return ns;
  }

  private place(pid: number, ns: number): void {
    const old = this.nsOf.get(pid);
    if (old === ns) return;
    if (old !== undefined) this.forget(pid);
    this.nsOf.set(pid, ns);
    let group = this.groups.get(ns);
    if (!group) this.groups.set(ns, (group = new Set()));
    group.add(pid);
  }

  private forget(pid: number): void {
    const ns = this.nsOf.get(pid);
    if (ns === undefined) return;
    this.nsOf.delete(pid);
    this.stats.deadPids++;
    const group = this.groups.get(ns);
    group?.delete(pid);
    if (this.members.get(ns) === pid) this.members.delete(ns);
    if (group && group.size === 0) {
      this.groups.delete(ns);
      this.addrs.delete(ns);
    }
  }
}

export function parseNsLink(link: string | undefined): number {
  const m = link ? NS_LINK.exec(link) : null;
  return m ? Number(m[1]) : UNKNOWN_NETNS;
}
