// The program a process ran when it made a connection, when it has exec'd another since.
//
// A shell script opens `exec 3<>/dev/tcp/host/port` and then `exec cat <&3`; a subshell connects
// and execs a command on the socket; a launcher connects and execs the real program. /proc then
// shows the last program (cat), not the one that made the connection (the script). The exec
// watcher's copies are stamped with the kernel's time of each exec and fork (ExecWatch): when the
// newest one for the pid is an exec after the connection's first packet, the copy of what the
// process ran at that packet describes it instead. Both times are the kernel's: the packet's
// capture stamp and the exec's event stamp, on the wall clock.
import { ProcFs } from './procfs.js';
import { parseStat } from './process.js';
import type { ExecCopy } from './execwatch.js';

/** What ExecWatch offers for this (tests give their own). */
export interface ProgramCopies {
  last(pid: number): { event: number; kind: 'exec' | 'fork' } | undefined;
  get(pid: number, before?: number): ExecCopy | undefined;
}

/**
 * The copy of the program `pid` ran at `t` (wall-clock ms), when it has exec'd another one since;
 * undefined when it has not (the common case: one cheap lookup), or when what it ran at `t` is
 * not known (started before the watcher, a copy over budget), or when the copy of what it runs
 * now has another start time (a reused pid: not the same process). A later exec that was not
 * copied (a cat that read its answer and exited at once) leaves nothing to compare with: an exec
 * keeps the pid, and a new process's fork would have been noted (ExecWatch.get).
 */
export function programBefore(copies: ProgramCopies, pid: number, t: number): ExecCopy | undefined {
  const last = copies.last(pid);
  if (last === undefined || last.kind !== 'exec' || last.event <= t) return undefined;
  const then = copies.get(pid, t);
  if (then === undefined) return undefined;
  const now = copies.get(pid);
  if (now === undefined) return then;
  const started = (c: ExecCopy): number | undefined => {
    const stat = c.files.get('stat');
    return stat === undefined ? undefined : parseStat(stat.toString('utf8'))?.startTicks;
  };
  const a = started(then);
  return a !== undefined && a === started(now) ? then : undefined;
}

/** `base`, except that `pid`'s files and links that `copy` holds are answered from it: the process as it was then. */
export class CopyProcFs extends ProcFs {
  private readonly prefix: string;

  constructor(private readonly base: ProcFs, pid: number, private readonly copy: ExecCopy) {
    super(base.root);
    this.prefix = `${pid}/`;
  }

  override async readBytes(rel: string): Promise<Buffer | undefined> {
    const v = rel.startsWith(this.prefix) ? this.copy.files.get(rel.slice(this.prefix.length)) : undefined;
    return v ?? this.base.readBytes(rel);
  }

  override async readLink(rel: string): Promise<string | undefined> {
    const v = rel.startsWith(this.prefix) ? this.copy.links.get(rel.slice(this.prefix.length)) : undefined;
    return v ?? this.base.readLink(rel);
  }

  override bootTimeSeconds(): Promise<number | undefined> {
    return this.base.bootTimeSeconds();
  }
}
