// uid → user name from a passwd file. The path is injected: the host's /etc/passwd by default,
// a container's own <root>/etc/passwd later, a fixture in tests. Users that no file lists
// (SSSD / LDAP / Active Directory accounts, systemd DynamicUser= services, systemd-homed) are
// asked of the system's name service through getent(1): NameService below.
import { execFile } from 'node:child_process';
import { OrderedMap } from '../collections/index.js';
import fs from 'node:fs/promises';

/** Parses passwd(5) text: name:password:uid:gid:gecos:home:shell. Bad lines are skipped. First entry for a uid wins, as getpwuid does. */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cols = line.split(':');
    if (cols.length < 3 || !/^[0-9]+$/.test(cols[2]) || cols[0] === '') continue;
    const uid = Number(cols[2]);
    if (!users.has(uid)) users.set(uid, cols[0]);
  }
  return users;
}

export interface UserNamesOptions {
  /** How long a file's contents are trusted; accounts change rarely, but they do change. Default 30 s. */
  ttlMs?: number;
  /** Most passwd files kept (one per container root later); oldest evicted first. Default 64. */
  maxFiles?: number;
  now?: () => number;
}

interface Entry { loadedAt: number; users: Promise<Map<number, string> | undefined> }

/** Cache of parsed passwd files, bounded by maxFiles, each entry valid for ttlMs. */
export class UserNames {
  readonly stats = { loads: 0, hits: 0, evictions: 0 };
  private readonly files = new OrderedMap<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxFiles: number;
  private readonly now: () => number;

  constructor(opts: UserNamesOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.maxFiles = opts.maxFiles ?? 64;
    this.now = opts.now ?? Date.now;
  }

  async lookup(uid: number, passwdFile = '/etc/passwd'): Promise<string | undefined> {
    const users = await this.load(passwdFile, passwdFile);
    return users?.get(uid);
  }

  /**
   * Like lookup, but cached by the file's (device, inode) rather than its path, and says whether
   * the file could be read at all. For <proc>/PID/root/etc/passwd: every process of one container
   * (or of the host) reaches the same file through a different pid, and one entry serves them all.
   */
  async lookupFile(uid: number, file: string): Promise<{ readable: boolean; name?: string }> {
    let key: string;
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) return { readable: false };
      key = `inode:${st.dev}:${st.ino}`;
    } catch {
      return { readable: false };
    }
    const users = await this.load(key, file);
    return users ? { readable: true, name: users.get(uid) } : { readable: false };
  }

  private load(key: string, file: string): Promise<Map<number, string> | undefined> {
    const now = this.now();
    const cached = this.files.get(key);
    if (cached && now - cached.loadedAt < this.ttlMs) {
      this.stats.hits++;
      return cached.users;
    }
    this.files.delete(key);
    this.stats.loads++;
    const users = fs.readFile(file, 'utf8').then(parsePasswd, () => undefined);
    this.files.set(key, { loadedAt: now, users });
    this.stats.evictions += this.files.trim(this.maxFiles);
    return users;
  }
}

export interface NameServiceOptions {
  /** The program asked, with `passwd UID` as arguments; default getent (glibc's NSS: nsswitch.conf). */
  command?: string;
  /** How long a name found is trusted, ms; default 600 s. */
  ttlMs?: number;
  /** How long a uid the service does not know (or a failed ask) is not asked again, ms; default 60 s. */
  missTtlMs?: number;
  /** How long one ask may take before it is given up, ms; default 2 s (an unreachable LDAP server). */
  timeoutMs?: number;
  /** Most uids remembered; oldest dropped first. Default 4096. */
  maxEntries?: number;
  now?: () => number;
}

interface Asked { at: number; ttl: number; name: Promise<string | undefined> }

/**
 * uid → name through the system's name service switch, for the uids no passwd file names:
 * directory accounts (SSSD, LDAP, winbind), systemd's DynamicUser= and homed users. There is no
 * getpwuid() in Node, so getent(1) is run, once per uid and then remembered: a found name for
 * ttlMs, an unknown uid or a failure for missTtlMs, so that a broken directory is not asked on
 * every connection. One ask per uid at a time. Never throws: a missing getent turns the service
 * off (`stats.unavailable`), a timeout or other failure is counted and answers undefined.
 * It answers with the agent's own nsswitch.conf, so it is for processes that share the agent's
 * root (see readProcess); a container's users are its own passwd file's.
 */
/** getent processes running at once, at most. */
const MAX_ASKING = 4;

export class NameService {
  /** unavailable: 1 once getent could not be run (it is not asked again). */
  readonly stats = { asked: 0, found: 0, unknown: 0, failures: 0, cached: 0, unavailable: 0 };
  private readonly cache = new OrderedMap<number, Asked>();
  private readonly command: string;
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: NameServiceOptions = {}) {
    this.command = opts.command ?? 'getent';
    this.ttlMs = opts.ttlMs ?? 600_000;
    this.missTtlMs = opts.missTtlMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.maxEntries = opts.maxEntries ?? 4096;
    this.now = opts.now ?? Date.now;
  }

  lookup(uid: number): Promise<string | undefined> {
    if (this.stats.unavailable === 1 || !Number.isSafeInteger(uid) || uid < 0) return Promise.resolve(undefined);
    const now = this.now();
    const held = this.cache.get(uid);
    if (held && now - held.at >= 0 && now - held.at < held.ttl) {
      this.stats.cached++;
      return held.name;
    }
    const asked: Asked = { at: now, ttl: this.missTtlMs, name: Promise.resolve(undefined) };
    asked.name = this.ask(uid).then((name) => {
      if (name !== undefined) asked.ttl = this.ttlMs;
      return name;
    });
    this.cache.delete(uid);
    this.cache.set(uid, asked);
    this.cache.trim(this.maxEntries);
    return asked.name;
  }

  /** Asks waiting for one of the MAX_ASKING slots. */
  private readonly waiting: (() => void)[] = [];
  private asking = 0;

  /** At most MAX_ASKING getent processes at once: a host full of directory users starting up asks in turn. */
  private async ask(uid: number): Promise<string | undefined> {
    if (this.asking >= MAX_ASKING) await new Promise<void>((go) => this.waiting.push(go));
    this.asking++;
    try {
      return await this.run(uid);
    } finally {
      this.asking--;
      this.waiting.shift()?.();
    }
  }

  private run(uid: number): Promise<string | undefined> {
    this.stats.asked++;
    return new Promise((resolve) => {
      execFile(this.command, ['passwd', String(uid)], { timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 65536, env: { ...process.env, LC_ALL: 'C' } },
        (err, stdout) => {
          if (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ENOENT' || code === 'EACCES') this.stats.unavailable = 1;
            // getent: 2 = no such key (an account the service does not know).
            else if (typeof code === 'number' && code === 2) this.stats.unknown++;
            else this.stats.failures++;
            resolve(undefined);
            return;
          }
          // getent prints the entry whose uid it was given; take the name of that one only.
          const name = parsePasswd(stdout).get(uid);
          if (name === undefined) this.stats.unknown++;
          else this.stats.found++;
          resolve(name);
        });
    });
  }
}
