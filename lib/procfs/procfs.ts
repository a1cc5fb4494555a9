// The only door to /proc. Rooted at a directory so tests build a tree in a temp dir and a
// containerised agent points it at the host's /proc (mounted as e.g. /host/proc).
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Errors that mean "this process or file is not there (any more) or not ours to read": the
 * ordinary outcome of racing with process exit, not a failure. ESRCH comes from /proc/PID/*
 * of a process that died between open and read; EINVAL from readlink on a non-link.
 */
const VANISHED = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM', 'ENOTDIR', 'EINVAL']);

function isVanished(err: unknown): boolean {
  return typeof err === 'object' && err !== null && VANISHED.has((err as NodeJS.ErrnoException).code ?? '');
}

export class ProcFs {
  readonly root: string;
  private bootTime?: Promise<number | undefined>;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Absolute path of a path relative to the root ("1234/stat", "net/tcp"). */
  resolve(rel: string): string {
    return path.join(this.root, rel);
  }

  async readText(rel: string): Promise<string | undefined> {
    const buf = await this.readBytes(rel);
    return buf?.toString('utf8');
  }

  /** Raw bytes (cmdline is NUL-separated and not necessarily UTF-8). */
  async readBytes(rel: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.resolve(rel));
    } catch (err) {
      if (isVanished(err)) return undefined;
      throw err;
    }
  }

  async readLink(rel: string): Promise<string | undefined> {
    try {
      return await fs.readlink(this.resolve(rel));
    } catch (err) {
      if (isVanished(err)) return undefined;
      throw err;
    }
  }

  async list(rel: string): Promise<string[] | undefined> {
    try {
      return await fs.readdir(this.resolve(rel));
    } catch (err) {
      if (isVanished(err)) return undefined;
      throw err;
    }
  }

  /** Numeric entries of the root: the thread-group ids (processes). */
  async listPids(): Promise<number[]> {
    const names = (await this.list('.')) ?? [];
    const pids: number[] = [];
    for (const name of names) {
      if (/^[0-9]+$/.test(name)) pids.push(Number(name));
    }
    return pids;
  }

  /** System boot time in seconds since the epoch ("btime" in /proc/stat). Constant until reboot, so read once. */
  bootTimeSeconds(): Promise<number | undefined> {
    if (this.bootTime) return this.bootTime;
    const pending = this.readText('stat').then((text) => {
      const m = text ? /^btime\s+(\d+)\s*$/m.exec(text) : null;
      // Not cached when missing, so a later call can still succeed.
      if (!m) this.bootTime = undefined;
      return m ? Number(m[1]) : undefined;
    });
    this.bootTime = pending;
    return pending;
  }
}
