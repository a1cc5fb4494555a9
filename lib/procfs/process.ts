// /proc/PID/{stat,status,cmdline,exe,cwd} → ProcessInfo. Parsers are pure (tested on captured
// text); readProcess only gathers the files. A process that exits midway is an ordinary undefined.
import path from 'node:path';
import fs from 'node:fs/promises';
import type { ProcFs } from './procfs.js';
import { NameService, UserNames } from './passwd.js';
import { resolveInRoot } from './root-path.js';

/** USER_HZ: the unit of stat's time fields. Fixed at 100 on every Linux ABI userspace sees. */
const CLK_TCK = 100;

export interface StatFields { pid: number; comm: string; state: string; ppid: number; startTicks: number }

/**
 * Parses /proc/PID/stat. comm is between the first '(' and the LAST ')': it may itself hold
 * spaces and ')' (a process can name itself anything up to 15 bytes), so splitting on spaces is wrong.
 */
export function parseStat(text: string): StatFields | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After ") ": field 3 state, 4 ppid, ... 22 starttime → indices 0, 1, 19.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  if (!Number.isSafeInteger(pid) || rest.length < 20) return undefined;
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTicks)) return undefined;
  return { pid, comm: text.slice(open + 1, close), state: rest[0], ppid, startTicks };
}

export interface StatusFields { name?: string; uid?: number; euid?: number; ppid?: number; tgid?: number }

/** Parses /proc/PID/status ("Key:\tvalue" lines). Uid: real, effective, saved, filesystem. */
export function parseStatus(text: string): StatusFields {
  const out: StatusFields = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'Name') out.name = value;
    else if (key === 'Uid') {
      const ids = value.split(/\s+/).map(Number);
      if (Number.isSafeInteger(ids[0])) out.uid = ids[0];
      if (Number.isSafeInteger(ids[1])) out.euid = ids[1];
    } else if (key === 'PPid' && /^\d+$/.test(value)) out.ppid = Number(value);
    else if (key === 'Tgid' && /^\d+$/.test(value)) out.tgid = Number(value);
  }
  return out;
}

/**
 * Splits /proc/PID/cmdline on NUL. Trailing empty strings are padding (a trailing NUL, or a
 * process that rewrote its title and zeroed the rest of argv), so they are dropped; an
 * argument that was genuinely empty in the middle is kept.
 */
export function parseCmdline(buf: Uint8Array | string): string[] {
  const text = typeof buf === 'string' ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8');
  const argv = text.split('\0');
  while (argv.length > 0 && argv[argv.length - 1] === '') argv.pop();
  return argv;
}

export interface ParentInfo { pid: number; name?: string; exe?: string; argv?: string[]; commandLine?: string; cwd?: string }

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** comm (stat field 2): at most 15 bytes, set by the process. */
  name: string;
  /** Link target of /proc/PID/exe; " (deleted)" kept as the kernel prints it; undefined when unreadable (kernel threads, no ptrace access). */
  exe?: string;
  argv: string[];
  /** argv joined by single spaces (ECS process.command_line). */
  commandLine: string;
  cwd?: string;
  /** ISO 8601, from stat starttime / CLK_TCK (100) + btime in /proc/stat. */
  startTime?: string;
  /** Real uid (first column of status "Uid:"). */
  uid: number;
  /**
   * From the process's own root's etc/passwd, else the host's; for a process that shares the
   * agent's root and a uid its passwd file lacks, from the name service (SSSD / LDAP, systemd
   * DynamicUser=); undefined when none names the uid.
   */
  userName?: string;
  /**
   * The real uid as the process's user namespace numbers it, when that differs from the host's
   * (`uid`): a rootless container's root is host uid 100000 and its own uid 0. Its passwd file
   * is read with this one.
   */
  nsUid?: number;
  /** Effective uid, when it differs from the real one (a set-user-ID program such as a sudo'd tool); its name as for userName. */
  euid?: number;
  /** The effective uid in the process's user namespace, when that differs from `euid`. */
  nsEuid?: number;
  effectiveUserName?: string;
  /**
   * The audit login uid (/proc/PID/loginuid): the user who logged in (ssh, console, cron job's
   * owner), set once by pam_loginuid and kept through sudo, su and set-user-ID programs; unset
   * for daemons started by the system. Its name is the host's (the login happened on the host).
   */
  loginUid?: number;
  loginUserName?: string;
  /** parents[0]; kept for callers written before the chain existed. */
  parent?: ParentInfo;
  /**
   * Ancestors, nearest first, up to parentDepth; a vanished ancestor is a bare pid and ends the
   * chain. Always set by readProcess; optional so ProcessInfo values built by hand stay valid.
   */
  parents?: ParentInfo[];
}

export interface ReadProcessOptions {
  /** The host's passwd file; default <hostRoot>/etc/passwd. */
  passwdFile?: string;
  /** The host's filesystem root (a containerised agent sees it at e.g. /host); default "/". */
  hostRoot?: string;
  /** Ancestors read, nearest first (default 4; 0 = none). */
  parentDepth?: number;
  /** Shared cache of passwd files; by default one per ProcFs (see defaultUsers). */
  users?: UserNames;
  /**
   * Asked for a uid that the passwd file of a process sharing the agent's root does not list;
   * by default one per ProcFs, false for none.
   */
  nameService?: NameService | false;
}

// One passwd cache and one name service per ProcFs instance, made on first use and collected
// with it: no global state, yet callers of the fixed readProcess signature still get caching.
const defaultUsersByProc = new WeakMap<ProcFs, UserNames>();
const defaultNameServices = new WeakMap<ProcFs, NameService>();

function perProc<T>(cache: WeakMap<ProcFs, T>, proc: ProcFs, make: () => T): T {
  let v = cache.get(proc);
  if (v === undefined) {
    v = make();
    cache.set(proc, v);
  }
  return v;
}

const defaultUsers = (proc: ProcFs): UserNames => perProc(defaultUsersByProc, proc, () => new UserNames());
const defaultNameService = (proc: ProcFs): NameService => perProc(defaultNameServices, proc, () => new NameService());

export async function readProcess(proc: ProcFs, pid: number, opts: ReadProcessOptions = {}): Promise<ProcessInfo | undefined> {
  const [self, statusText, bootTime, loginText, uidMapText] = await Promise.all([
    readBasics(proc, pid),
    proc.readText(`${pid}/status`),
    proc.bootTimeSeconds(),
    proc.readText(`${pid}/loginuid`),
    proc.readText(`${pid}/uid_map`),
  ]);
  if (!self || statusText === undefined) return undefined;
  const status = parseStatus(statusText);
  if (status.uid === undefined) return undefined;
  const euid = status.euid !== undefined && status.euid !== status.uid ? status.euid : undefined;
  const loginUid = parseLoginUid(loginText);
  // In a user namespace (a rootless container, a Kubernetes pod with hostUsers: false) the
  // process's passwd file knows its uids as the namespace numbers them, not as the host does.
  const map = uidMapText === undefined ? undefined : parseUidMap(uidMapText);
  const nsUid = map === undefined ? undefined : insideUid(map, status.uid);
  const nsEuid = map === undefined || euid === undefined ? undefined : insideUid(map, euid);
  const [userName, effectiveUserName, loginUserName, parents] = await Promise.all([
    userNameOf(proc, pid, status.uid, opts, nsUid),
    euid === undefined ? undefined : userNameOf(proc, pid, euid, opts, nsEuid),
    loginUid === undefined ? undefined : hostUserName(proc, pid, loginUid, opts),
    readParents(proc, pid, self.stat.ppid, opts.parentDepth ?? 4),
  ]);
  const info: ProcessInfo = {
    pid,
    ppid: self.stat.ppid,
    name: self.stat.comm,
    exe: self.exe,
    argv: self.argv,
    commandLine: self.argv.join(' '),
    cwd: self.cwd,
    startTime: bootTime === undefined ? undefined : new Date((bootTime + self.stat.startTicks / CLK_TCK) * 1000).toISOString(),
    uid: status.uid,
    userName,
    parents,
  };
  if (nsUid !== undefined && nsUid !== status.uid) info.nsUid = nsUid;
  if (euid !== undefined) {
    info.euid = euid;
    if (nsEuid !== undefined && nsEuid !== euid) info.nsEuid = nsEuid;
    if (effectiveUserName !== undefined) info.effectiveUserName = effectiveUserName;
  }
  if (loginUid !== undefined) {
    info.loginUid = loginUid;
    if (loginUserName !== undefined) info.loginUserName = loginUserName;
  }
  if (parents.length > 0) info.parent = parents[0];
  return info;
}

/**
 * The name a uid has inside the process's own root (/proc/PID/root is the container's root for a
 * containerised process, the host's for the rest). The host's passwd is asked only when the
 * process's own file cannot be read: a container whose passwd lacks the uid has no name for it,
 * and the host's name for the same number would belong to someone else.
 *
 * A uid the file lacks is asked of the name service when the process's root is the agent's own
 * root: then the agent's nsswitch.conf is the process's, and a directory account (SSSD, LDAP),
 * a DynamicUser= service or a homed user gets its name. Not for a container (its own users),
 * nor for the host's processes seen from a containerised agent (its name service is not the host's).
 */
async function userNameOf(proc: ProcFs, pid: number, uid: number, opts: ReadProcessOptions, nsUid = uid): Promise<string | undefined> {
  const users = opts.users ?? defaultUsers(proc);
  // Inside the process's root: an absolute symlink there (an image's /etc/passwd -> ...) must
  // not lead to the agent's own file, whose names belong to other users.
  const root = proc.resolve(`${pid}/root`);
  const own = await users.lookupFile(nsUid, (await resolveInRoot(root, '/etc/passwd')) ?? `${root}/etc/passwd`);
  if (own.readable) {
    if (own.name !== undefined || opts.nameService === false) return own.name;
    if (!(await sharesOurRoot(root))) return undefined;
    return (opts.nameService ?? defaultNameService(proc)).lookup(uid);
  }
  const hostFile = opts.passwdFile ?? path.join(opts.hostRoot ?? '/', 'etc', 'passwd');
  return users.lookup(uid, hostFile);
}

/**
 * A login uid's name: the host's passwd file (the login happened on the host, whatever root
 * the process has now), then, when the agent's root is the host's, the name service.
 */
async function hostUserName(proc: ProcFs, pid: number, uid: number, opts: ReadProcessOptions): Promise<string | undefined> {
  const users = opts.users ?? defaultUsers(proc);
  const hostFile = opts.passwdFile ?? path.join(opts.hostRoot ?? '/', 'etc', 'passwd');
  const name = await users.lookup(uid, hostFile);
  if (name !== undefined || opts.nameService === false || path.resolve(opts.hostRoot ?? '/') !== '/') return name;
  if (!(await sharesOurRoot(proc.resolve('1/root')))) return undefined;
  return (opts.nameService ?? defaultNameService(proc)).lookup(uid);
}

/** One line of /proc/PID/uid_map: uids [inside, inside + count) are [outside, outside + count) outside. */
export interface UidRange { inside: number; outside: number; count: number }

/**
 * /proc/PID/uid_map as the agent reads it ("inside outside count" per line, outside in the
 * agent's own user namespace). undefined for the identity map of the initial namespace
 * ("0 0 4294967295") and for text that is not a map.
 */
export function parseUidMap(text: string): UidRange[] | undefined {
  const out: UidRange[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3 || !f.every((x) => /^\d{1,10}$/.test(x))) continue;
    const [inside, outside, count] = f.map(Number);
    out.push({ inside, outside, count });
  }
  if (out.length === 0 || (out.length === 1 && out[0].inside === 0 && out[0].outside === 0 && out[0].count === 4294967295)) return undefined;
  return out;
}

/** The uid the namespace gives the host's `uid`, or undefined when the map leaves it unmapped. */
export function insideUid(map: readonly UidRange[], uid: number): number | undefined {
  for (const r of map) if (uid >= r.outside && uid - r.outside < r.count) return r.inside + (uid - r.outside);
  return undefined;
}

/** AUDIT_UID_UNSET: no login (a process of the system's own start-up, or audit off). */
const LOGIN_UID_UNSET = 4294967295;

/** /proc/PID/loginuid: a decimal uid; unset (4294967295), missing or malformed gives undefined. */
export function parseLoginUid(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (t === undefined || !/^\d{1,10}$/.test(t)) return undefined;
  const uid = Number(t);
  return uid === LOGIN_UID_UNSET || uid > LOGIN_UID_UNSET ? undefined : uid;
}

let ourRoot: Promise<string | undefined> | undefined;

/** Whether `root` (a /proc/PID/root link) is the directory this process has as its root. */
async function sharesOurRoot(root: string): Promise<boolean> {
  ourRoot ??= fs.stat('/').then((st) => `${st.dev}:${st.ino}`, () => undefined);
  const [ours, theirs] = await Promise.all([ourRoot, fs.stat(root).then((st) => `${st.dev}:${st.ino}`, () => undefined)]);
  return ours !== undefined && ours === theirs;
}

/** Walks ppid links up to depth ancestors; stops after pid 1, at pid 0, at a vanished process, or on a loop. */
async function readParents(proc: ProcFs, pid: number, ppid: number, depth: number): Promise<ParentInfo[]> {
  const parents: ParentInfo[] = [];
  const seen = new Set([pid]);
  let next = ppid;
  while (parents.length < depth && next > 0 && !seen.has(next)) {
    seen.add(next);
    const b = await readBasics(proc, next);
    if (!b) {
      parents.push({ pid: next });
      break;
    }
    // cwd: a relative script's directory (a Python pool's maker, software/identify.ts poolProgram).
    parents.push({ pid: next, name: b.stat.comm, exe: b.exe, argv: b.argv, commandLine: b.argv.join(' '), ...(b.cwd !== undefined ? { cwd: b.cwd } : {}) });
    if (next === 1) break;
    next = b.stat.ppid;
  }
  return parents;
}

interface Basics { stat: StatFields; argv: string[]; exe?: string; cwd?: string }

async function readBasics(proc: ProcFs, pid: number): Promise<Basics | undefined> {
  const [statText, cmdline, exe, cwd] = await Promise.all([
    proc.readText(`${pid}/stat`),
    proc.readBytes(`${pid}/cmdline`),
    proc.readLink(`${pid}/exe`),
    proc.readLink(`${pid}/cwd`),
  ]);
  const stat = statText === undefined ? undefined : parseStat(statText);
  if (!stat) return undefined;
  return { stat, argv: cmdline ? parseCmdline(cmdline) : [], exe, cwd };
}
