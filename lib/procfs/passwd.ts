// uid → user name from a passwd file. The path is injected: the host's /etc/passwd by default,
// a container's own <root>/etc/passwd later, a fixture in tests.
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
