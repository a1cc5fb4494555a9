// Which RPM package owns a file, by asking rpm itself (the database is Berkeley DB, NDB or
// SQLite depending on the release: not a format to parse ourselves). Only when the root has an
// rpm database and the rpm command exists; answers are cached, the command is time-limited.
import { OrderedMap } from '../collections/index.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { PackageOwner } from './files-dpkg.js';

export interface RpmQueryOptions {
  /** The rpm executable; default "rpm" from PATH. */
  command?: string;
  timeoutMs?: number;
  /** Answers remembered (default 4096), each for ttlMs (default 10 min: an upgrade changes the version). */
  maxEntries?: number;
  ttlMs?: number;
  now?: () => number;
}

const DB_DIRS = ['var/lib/rpm', 'usr/lib/sysimage/rpm'];

export class RpmQuery {
  readonly stats = { queries: 0, failures: 0, evictions: 0 };
  private readonly cache = new OrderedMap<string, { at: number; value: Promise<PackageOwner | undefined> }>();
  private readonly command: string;
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private available?: boolean;

  constructor(opts: RpmQueryOptions = {}) {
    this.command = opts.command ?? 'rpm';
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxEntries = opts.maxEntries ?? 4096;
    this.ttlMs = opts.ttlMs ?? 600_000;
    this.now = opts.now ?? Date.now;
  }

  owner(root: string, file: string): Promise<PackageOwner | undefined> {
    if (!DB_DIRS.some((d) => fs.existsSync(path.join(root, d))) || !this.haveCommand()) return Promise.resolve(undefined);
    const key = `${root}\0${file}`;
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached && now - cached.at < this.ttlMs) return cached.value;
    this.cache.delete(key);
    const pending = this.query(root, file);
    this.cache.set(key, { at: now, value: pending });
    this.stats.evictions += this.cache.trim(this.maxEntries);
    return pending;
  }

  private query(root: string, file: string): Promise<PackageOwner | undefined> {
    this.stats.queries++;
    const args = ['--root', root, '-qf', '--queryformat', '%{NAME} %{VERSION}-%{RELEASE}', file];
    return new Promise((resolve) => {
      execFile(this.command, args, { timeout: this.timeoutMs, maxBuffer: 64 * 1024 }, (err, stdout) => {
        // Exit 1 with "file ... is not owned by any package" is an ordinary answer.
        const m = /^(\S+) (\S+)$/.exec(String(stdout).trim());
        if (err || !m) {
          if (err) this.stats.failures++;
          resolve(undefined);
          return;
        }
        resolve({ name: m[1], version: m[2], manager: 'rpm' });
      });
    });
  }

  private haveCommand(): boolean {
    if (this.available === undefined) {
      const dirs = this.command.includes('/') ? [''] : (process.env.PATH ?? '/usr/bin:/bin').split(':');
      this.available = dirs.some((d) => fs.existsSync(d ? path.join(d, this.command) : this.command));
    }
    return this.available;
  }
}
