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

/** Files and links kept per pid: what readProcess and the software context read. */
const FILES = ['stat', 'status', 'cmdline', 'cgroup'];
const LINKS = ['exe', 'cwd', 'ns/net'];

export interface SnapshotOptions {
  /** Snapshots kept at most (oldest dropped first); default 2048. */
  maxPids?: number;
  /** How long a snapshot answers for a vanished process, ms; default 10000. */
  ttlMs?: number;
  now?: () => number;
}

interface Snapshot {
  at: number;
  files: Map<string, Buffer>;
  links: Map<string, string>;
}

export class SnapshotProcFs extends ProcFs {
  readonly snapshotStats = { captured: 0, served: 0, expired: 0, execRaces: 0 };
  private readonly snaps = new OrderedMap<number, Snapshot>();
  private readonly maxPids: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(root: string, opts: SnapshotOptions = {}) {
    super(root);
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
    return this.fromSnapshot(rel, (s, name) => s.files.get(name)) ?? live;
  }

  override async readLink(rel: string): Promise<string | undefined> {
    const live = await super.readLink(rel);
    if (live !== undefined) return live;
    return this.fromSnapshot(rel, (s, name) => s.links.get(name));
  }

  private fromSnapshot<T>(rel: string, pick: (s: Snapshot, name: string) => T | undefined): T | undefined {
    const m = /^(\d+)\/(.+)$/.exec(rel);
    if (!m) return undefined;
    const pid = Number(m[1]);
    const snap = this.snaps.get(pid);
    if (!snap) return undefined;
    if (this.now() - snap.at > this.ttlMs) {
      this.snaps.delete(pid);
      this.snapshotStats.expired++;
      return undefined;
    }
    const v = pick(snap, m[2]);
    if (v !== undefined) this.snapshotStats.served++;
    return v;
  }
}
