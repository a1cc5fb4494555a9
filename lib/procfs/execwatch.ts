// The exec watcher (native/execwatch.c): a copy of each new program's small /proc files taken by
// a thread of the addon the moment the kernel announces the exec (process events connector), for
// a process that is gone before the agent asks about it: curl against a nearby server execs,
// connects and exits within a few milliseconds; the connect tracer still names its pid, and
// this copy says what it was. New processes are copied at their fork as well: a worker forked
// without exec (a forking server's, a multiprocessing pool's, a shell's subshell) runs its
// parent's program and can be as short-lived; its copy has its own pid and parent. Each copy
// carries the kernel's time of its exec or fork (program-at.ts: what a process ran at a moment).
// Optional: without the addon, without CAP_NET_ADMIN, or outside the initial user and pid
// namespaces (where the kernel sends no process events), open() says why once and returns
// undefined.
import { loadNativeModule } from './netlink.js';

/** What the addon exports for the watcher (native/execwatch.c). */
export interface ExecWatchAddon {
  execWatchOpen(procRoot: string, files: string[], links: string[], execsPerSecond?: number, forksPerSecond?: number): number;
  execWatchError(): string;
  /** [copy ms, files, links, event ms, kind (0 exec, 1 fork)], wall clock. */
  execWatchGet(pid: number, before?: number): [number, Record<string, Buffer>, Record<string, string>, number, number] | undefined;
  /** [event ms, kind] of the newest copy for the pid. */
  execWatchLast(pid: number): [number, number] | undefined;
  /** execs, copies, vanished, overruns, skipped, forks, fork copies skipped. */
  execWatchStats(): [number, number, number, number, number, number, number];
  execWatchClose(): number;
}

/** One program's files as copied at its exec (or a new process's at its fork). */
export interface ExecCopy {
  /** Wall-clock ms of the copy. */
  at: number;
  /** Wall-clock ms of the exec or fork, as the kernel stamped it (packet timestamps' clock). */
  event: number;
  kind: 'exec' | 'fork';
  files: Map<string, Buffer>;
  links: Map<string, string>;
}

export interface ExecWatchOptions {
  /** One line when the watcher cannot be used. */
  log?: (msg: string) => void;
  /** The addon itself (tests), or a path to load instead of the built one. */
  addon?: ExecWatchAddon | string;
  /** Copies a second at most, at execs and at forks (default 2,000 and 1,000; tests take fewer). */
  budgets?: { execs: number; forks: number };
}

/** The addon holds one watcher per process: the one open now. */
let current: ExecWatch | undefined;

export class ExecWatch {
  private open = true;

  private constructor(private readonly addon: ExecWatchAddon) {}

  /**
   * Starts watching: each exec's `files` and `links` under `procRoot`/PID are copied (the first
   * file tells a process that is gone already: `stat`).
   */
  static open(procRoot: string, files: readonly string[], links: readonly string[], opts: ExecWatchOptions = {}): ExecWatch | undefined {
    const fail = (why: string): undefined => {
      opts.log?.(`exec watcher unavailable (${why}): a program that exits within milliseconds of connecting may be named only by its process name`);
      return undefined;
    };
    const addon = typeof opts.addon === 'object' ? opts.addon : loadExecWatchAddon(opts.addon);
    if (typeof addon === 'string') return fail(addon);
    if (current !== undefined) return fail('another one is open in this process');
    let r: number;
    try {
      r = addon.execWatchOpen(procRoot, [...files], [...links], opts.budgets?.execs, opts.budgets?.forks);
    } catch (err) {
      return fail(`open threw: ${(err as Error).message}`);
    }
    if (r < 0) return fail(addon.execWatchError() || `errno ${-r}`);
    current = new ExecWatch(addon);
    return current;
  }

  /**
   * The newest copy taken for `pid` (at its exec, or at its fork when it has not exec'd since),
   * if any; with `before` (wall-clock ms), the newest one of an exec or fork at or before it:
   * what the process ran then. Undefined, too, when that exec or fork was not copied (over the
   * budget, gone first): an older copy does not answer for what came after.
   */
  get(pid: number, before?: number): ExecCopy | undefined {
    if (!this.open) return undefined;
    const r = this.addon.execWatchGet(pid, before);
    if (r === undefined) return undefined;
    const [at, files, links, event, kind] = r;
    return {
      at,
      event,
      kind: kind === 1 ? 'fork' : 'exec',
      files: new Map(Object.entries(files)),
      links: new Map(Object.entries(links)),
    };
  }

  /** When the newest copy for `pid` was taken after (its exec or fork, wall-clock ms) and which, without copying its files out. */
  last(pid: number): { event: number; kind: 'exec' | 'fork' } | undefined {
    if (!this.open) return undefined;
    const r = this.addon.execWatchLast(pid);
    return r === undefined ? undefined : { event: r[0], kind: r[1] === 1 ? 'fork' : 'exec' };
  }

  /**
   * Execs announced, copies taken (at execs and forks), processes gone before their copy,
   * notifications lost (socket overrun), execs not copied because their per-second budget
   * (2,000) was spent, new processes forked, forks not copied because theirs (1,000) was.
   */
  get stats(): { execs: number; copies: number; vanished: number; overruns: number; skipped: number; forks: number; forksSkipped: number } {
    const [execs, copies, vanished, overruns, skipped, forks, forksSkipped] = this.open ? this.addon.execWatchStats() : [0, 0, 0, 0, 0, 0, 0];
    return { execs, copies, vanished, overruns, skipped, forks, forksSkipped };
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    if (current === this) current = undefined;
    this.addon.execWatchClose();
  }
}

function loadExecWatchAddon(spec: string | undefined): ExecWatchAddon | string {
  const mod = loadNativeModule(spec);
  if (typeof mod === 'string') return mod;
  if (typeof mod.execWatchOpen !== 'function') return 'the built addon has no exec watcher (rebuild it: npm run build)';
  return mod as unknown as ExecWatchAddon;
}
