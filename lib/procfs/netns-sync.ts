// Synchronous reads under the ProcFs root, for the resolver's first attempt. A short-lived
// connection (connect, send, close within ~1-3 ms on loopback) leaves the kernel's tables
// before a thread-pool round trip completes; readFileSync of one /proc/net file costs
// ~0.1-1 ms and a readlink a few µs, so the first look is done without yielding.
import fs from 'node:fs';
import type { ProcFs } from './procfs.js';

/** As in procfs.ts: a process or file that is gone or not ours to read is an ordinary miss. */
const VANISHED = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM', 'ENOTDIR', 'EINVAL']);

function vanished(err: unknown): boolean {
  return typeof err === 'object' && err !== null && VANISHED.has((err as NodeJS.ErrnoException).code ?? '');
}

const PID_NAME = /^[0-9]+$/;

export class SyncProc {
  constructor(readonly proc: ProcFs) {}

  readText(rel: string): string | undefined {
    try {
      return fs.readFileSync(this.proc.resolve(rel), 'utf8');
    } catch (err) {
      if (vanished(err)) return undefined;
      throw err;
    }
  }

  readLink(rel: string): string | undefined {
    try {
      return fs.readlinkSync(this.proc.resolve(rel));
    } catch (err) {
      if (vanished(err)) return undefined;
      throw err;
    }
  }

  list(rel: string): string[] | undefined {
    try {
      return fs.readdirSync(this.proc.resolve(rel));
    } catch (err) {
      if (vanished(err)) return undefined;
      throw err;
    }
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.proc.resolve(rel));
  }

  listPids(): number[] {
    const pids: number[] = [];
    for (const name of this.list('.') ?? []) {
      if (PID_NAME.test(name)) pids.push(Number(name));
    }
    return pids;
  }
}
