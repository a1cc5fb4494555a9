// Synchronous reads under the ProcFs root, for the resolver's first attempt. A short-lived
// connection (connect, send, close within ~1-3 ms on loopback) leaves the kernel's tables
// before a thread-pool round trip completes; readFileSync of one /proc/net file costs
// ~0.1-1 ms and a readlink a few µs, so the first look is done without yielding.
import fs from 'node:fs';
import { ProcFs } from './procfs.js';

/** As in procfs.ts: a process or file that is gone or not ours to read is an ordinary miss. */
const VANISHED = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM', 'ENOTDIR', 'EINVAL']);

function vanished(err: unknown): boolean {
  return typeof err === 'object' && err !== null && VANISHED.has((err as NodeJS.ErrnoException).code ?? '');
}

const PID_NAME = /^[0-9]+$/;

export class SyncProc {
  /**
   * The root with a trailing slash: paths are built by concatenation, not path.join (~0.3 µs a
   * call, several per connection). Undefined when a subclass resolves paths its own way.
   */
  private readonly base: string | undefined;

  constructor(readonly proc: ProcFs) {
    const root = proc.root;
    if (proc.resolve === ProcFs.prototype.resolve) this.base = root.endsWith('/') ? root : `${root}/`;
  }

  /** Our relative paths are pid numbers and fixed names, never "..": concatenation is safe. */
  private abs(rel: string): string {
    return this.base !== undefined ? this.base + rel : this.proc.resolve(rel);
  }

  readText(rel: string): string | undefined {
    try {
      return fs.readFileSync(this.abs(rel), 'utf8');
    } catch (err) {
      if (vanished(err)) return undefined;
      throw err;
    }
  }

  /**
   * A missing link (an fd closed since it was listed or guessed) is an ordinary answer here, and
   * Node reports it by an exception whose stack trace made it cost ~22 µs instead of ~9 µs
   * (measured): no stack is captured for it.
   */
  readLink(rel: string): string | undefined {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return fs.readlinkSync(this.abs(rel));
    } catch (err) {
      if (vanished(err)) return undefined;
      throw err;
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  list(rel: string): string[] | undefined {
    try {
      return fs.readdirSync(this.abs(rel));
    } catch (err) {
      if (vanished(err)) return undefined;
      throw err;
    }
  }

  /**
   * Whether the entry is there. lstat, not existsSync: an fd link is not followed (stat would
   * reach the open file itself, e.g. on a hung NFS mount), and a fake tree's links dangle.
   * ~3 µs, where a readlink of a missing fd costs ~22 µs (the exception).
   */
  exists(rel: string): boolean {
    try {
      return fs.lstatSync(this.abs(rel), { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false;
    }
  }

  listPids(): number[] {
    const pids: number[] = [];
    for (const name of this.list('.') ?? []) {
      if (PID_NAME.test(name)) pids.push(Number(name));
    }
    return pids;
  }
}
