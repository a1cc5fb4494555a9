// Process facts taken the moment a new socket holder is seen, so a process that connects and
// exits within milliseconds (curl against a fast server) can still be described afterwards.
//
// The socket resolver scans the fds of new pids synchronously at the start of a batch and
// announces those holding sockets; their few small /proc files are read right then, also
// synchronously (a few tens of µs each). When the process is gone by the time the pipeline
// reads it, SnapshotProcFs answers from these copies instead of "vanished".
import { OrderedMap } from '../collections/index.js';
import fs from 'node:fs';
import { ProcFs } from './procfs.js';

/** Files and links kept per pid: what readProcess and the software context read (stat first: ExecWatch tells a vanished process by it). */
export const SNAPSHOT_FILES: readonly string[] = ['stat', 'status', 'cmdline', 'cgroup'];
export const SNAPSHOT_LINKS: readonly string[] = ['exe', 'cwd', 'ns/net'];
const FILES = SNAPSHOT_FILES;
const LINKS = SNAPSHOT_LINKS;

export interface SnapshotOptions {
  /** Snapshots kept at most (oldest dropped first); default 2048. */
  maxPids?: number;
  /** How long a snapshot answers for a vanished process, ms; default 10000. */
  ttlMs?: number;
  now?: () => number;
  /**
   * Copies taken at each program's exec (ExecWatch), asked for what a vanished process's own
   * snapshot lacks (none taken, or taken when it had already exited: no exe, an empty command
   * line); and instead of a snapshot taken before the process's last exec (`last`: when it was,
   * copied or not), which is another program's.
   */
  execCopies?: {
    get(pid: number): { at: number; files: Map<string, Buffer>; links: Map<string, string> } | undefined;
    last?(pid: number): { event: number; kind: 'exec' | 'fork' } | undefined;
  };
}

/** An exec copy older than this does not answer for a pid (which may have been another process's since). */
const EXEC_COPY_TTL_MS = 60_000;

interface Snapshot {
  at: number;
  files: Map<string, Buffer>;
  links: Map<string, string>;
}

export class SnapshotProcFs extends ProcFs {
  readonly snapshotStats = { captured: 0, served: 0, expired: 0, execRaces: 0, servedFromExec: 0, supersededByExec: 0 };
  private readonly snaps = new OrderedMap<number, Snapshot>();
  private readonly maxPids: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly execCopies: SnapshotOptions['execCopies'];

  constructor(root: string, opts: SnapshotOptions = {}) {
    super(root);
    this.execCopies = opts.execCopies;
    this.maxPids = opts.maxPids ?? 2048;
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Copies the pids' small /proc files now (synchronously); vanished ones are skipped. */
  capture(pids: readonly number[]): void {
    const at = this.now();
    for (const pid of pids) {
      const copy = this.copyOf(pid);
      if (copy === undefined) continue;
      this.snaps.set(pid, { at, ...copy }, true);
      this.snapshotStats.captured++;
      this.snaps.trim(this.maxPids);
    }
  }

  /**
   * One consistent copy of a pid's files. A process inherits its parent's sockets (stdio socket
   * pairs, journald's stream) and can be caught while a wrapper (sh, setpriv, env) execs the
   * real program: a copy whose exe link changed while it was read would pair the wrapper's
   * command line with the program's executable. Such a copy is taken again (at most 3 tries).
   */
  private copyOf(pid: number): { files: Map<string, Buffer>; links: Map<string, string> } | undefined {
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = this.link(pid, 'exe');
      const files = new Map<string, Buffer>();
      const links = new Map<string, string>();
      for (const f of FILES) {
        try { files.set(f, fs.readFileSync(this.resolve(`${pid}/${f}`))); } catch { /* vanished or unreadable */ }
      }
      for (const l of LINKS) {
        const v = this.link(pid, l);
        if (v !== undefined) links.set(l, v);
      }
      if (!files.has('stat')) return undefined;
      if (links.get('exe') === before) return { files, links };
      this.snapshotStats.execRaces++;
    }
    return undefined;
  }

  protected link(pid: number, name: string): string | undefined {
    try {
      return fs.readlinkSync(this.resolve(`${pid}/${name}`));
    } catch {
      return undefined; // vanished or unreadable
    }
  }

  override async readBytes(rel: string): Promise<Buffer | undefined> {
    const live = await super.readBytes(rel);
    if (live !== undefined && !(live.length === 0 && rel.endsWith('/cmdline'))) return live;
    // An exited process not yet reaped (a zombie) still has its /proc entry, but its command
    // line reads empty (its memory is gone) and its exe link fails: the copy answers for both.
    const copied = this.fromSnapshot<Buffer>(rel, (files, name) => {
      const v = files.get(name);
      return v !== undefined && !(v.length === 0 && name === 'cmdline') ? v : undefined;
    }, 'files');
    return copied ?? live;
  }

  override async readLink(rel: string): Promise<string | undefined> {
    const live = await super.readLink(rel);
    if (live !== undefined) return live;
    return this.fromSnapshot<string>(rel, (links, name) => links.get(name), 'links');
  }

  /** The pid's own snapshot's value, else its exec copy's (see SnapshotOptions.execCopies). */
  private fromSnapshot<T>(rel: string, pick: (m: Map<string, T>, name: string) => T | undefined, kind: 'files' | 'links'): T | undefined {
    const m = /^(\d+)\/(.+)$/.exec(rel);
    if (!m) return undefined;
    const pid = Number(m[1]);
    const snap = this.snaps.get(pid);
    const last = snap === undefined ? undefined : this.execCopies?.last?.(pid);
    if (snap && last?.kind === 'exec' && last.event > snap.at) {
      // Taken before the process exec'd its last program: that program's copy answers, if any.
      this.snaps.delete(pid);
      this.snapshotStats.supersededByExec++;
    } else if (snap && this.now() - snap.at > this.ttlMs) {
      this.snaps.delete(pid);
      this.snapshotStats.expired++;
    } else if (snap) {
      const v = pick(snap[kind] as Map<string, T>, m[2]);
      if (v !== undefined) {
        this.snapshotStats.served++;
        return v;
      }
    }
    const copy = this.execCopies?.get(pid);
    if (!copy || this.now() - copy.at > EXEC_COPY_TTL_MS) return undefined;
    const v = pick(copy[kind] as Map<string, T>, m[2]);
    if (v !== undefined) this.snapshotStats.servedFromExec++;
    return v;
  }
}
