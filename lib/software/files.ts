// Facts about a process's main file (its executable, script or JAR): SHA-256, size, mtime,
// whether it changed under the running process, and the package that installed it. Files are
// read as the process sees them, through <proc>/PID/root, so a container's files are its own.
import { OrderedMap } from '../collections/index.js';
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseStat } from '../procfs/process.js';
import { ProcFs } from '../procfs/procfs.js';
import { DpkgIndex, type PackageOwner } from './files-dpkg.js';
import { RpmQuery, type RpmQueryOptions } from './files-rpm.js';
import { resolveInRoot } from '../procfs/root-path.js';

export interface FileFacts {
  /** The path as the process names it, " (deleted)" removed. */
  path: string;
  sha256?: string;
  /** Why sha256 is missing: larger than maxHashBytes, or the read failed. */
  sha256Skipped?: 'too-large' | 'unreadable';
  size?: number;
  /** ISO 8601. */
  mtime?: string;
  /** The exe link says " (deleted)" (replaced since exec), or the file's mtime is after the process started. */
  changed: boolean;
  package?: PackageOwner;
}

export interface FileInspectorOptions {
  procRoot: string;
  /** The host's filesystem root, used when <proc>/PID/root cannot be read; default "/". */
  hostRoot?: string;
  /** Hashes remembered, keyed by (dev, ino, size, mtime); default 4096. */
  maxEntries?: number;
  /** Larger files are not hashed (a 2 GiB JVM image would cost seconds of disk); default 512 MiB. */
  maxHashBytes?: number;
  /** Look up the owning package (dpkg, rpm); default true. */
  packages?: boolean;
  rpm?: RpmQueryOptions;
}

export interface InspectHints {
  /** The file is the process's executable: hashed through <proc>/PID/exe, which is the running image even when replaced. */
  exe?: boolean;
  /** ISO process start time, when the caller already has it. */
  startTime?: string;
}

export class FileInspectorStats {
  inspected = 0;
  hashed = 0;
  hashHits = 0;
  hashEvictions = 0;
  tooLarge = 0;
  unreadable = 0;
}

const DELETED = / \(deleted\)$/;

export class FileInspector {
  readonly stats = new FileInspectorStats();
  readonly dpkg = new DpkgIndex();
  readonly rpm: RpmQuery;
  private readonly proc: ProcFs;
  private readonly hostRoot: string;
  private readonly maxEntries: number;
  private readonly maxHashBytes: number;
  private readonly packages: boolean;
  private readonly hashes = new OrderedMap<string, Promise<string | undefined>>();

  constructor(opts: FileInspectorOptions) {
    this.proc = new ProcFs(opts.procRoot);
    this.hostRoot = path.resolve(opts.hostRoot ?? '/');
    this.maxEntries = opts.maxEntries ?? 4096;
    this.maxHashBytes = opts.maxHashBytes ?? 512 * 1024 * 1024;
    this.packages = opts.packages ?? true;
    this.rpm = new RpmQuery(opts.rpm);
  }

  /** undefined when the file cannot be found under the process's root nor the host's. */
  async inspect(pid: number, file: string, hints: InspectHints = {}): Promise<FileFacts | undefined> {
    this.stats.inspected++;
    const deleted = DELETED.test(file);
    const clean = file.replace(DELETED, '');
    if (!path.posix.isAbsolute(clean)) return undefined;
    const located = await this.locate(pid, clean, hints.exe === true);
    if (!located) return deleted ? { path: clean, changed: true } : undefined;
    const { host, root, st } = located;
    const facts: FileFacts = { path: clean, size: st.size, mtime: st.mtime.toISOString(), changed: deleted };
    if (!deleted) {
      const started = hints.startTime ?? (await this.startTime(pid));
      // mtime of the file at the path now: a replaced file has a new inode with a newer mtime.
      const now = hints.exe ? await statOf(await resolveInRoot(root, clean)) : st;
      if (started && now && now.mtimeMs > Date.parse(started)) facts.changed = true;
    }
    await this.hash(host, st, facts);
    if (this.packages) facts.package = await this.owner(root, clean);
    return facts;
  }

  private async locate(pid: number, file: string, exe: boolean): Promise<{ host: string; root: string; st: Stats } | undefined> {
    const procRootDir = this.proc.resolve(`${pid}/root`);
    if (exe) {
      const link = this.proc.resolve(`${pid}/exe`);
      const st = await statOf(link);
      if (st) return { host: link, root: (await statOf(procRootDir)) ? procRootDir : this.hostRoot, st };
    }
    for (const root of [procRootDir, this.hostRoot]) {
      const host = await resolveInRoot(root, file);
      const st = await statOf(host);
      if (host && st?.isFile()) return { host, root, st };
    }
    return undefined;
  }

  private async startTime(pid: number): Promise<string | undefined> {
    const [text, boot] = await Promise.all([this.proc.readText(`${pid}/stat`), this.proc.bootTimeSeconds()]);
    const stat = text === undefined ? undefined : parseStat(text);
    if (!stat || boot === undefined) return undefined;
    return new Date((boot + stat.startTicks / 100) * 1000).toISOString();
  }

  private async hash(host: string, st: Stats, facts: FileFacts): Promise<void> {
    if (st.size > this.maxHashBytes) {
      this.stats.tooLarge++;
      facts.sha256Skipped = 'too-large';
      return;
    }
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let pending = this.hashes.get(key);
    if (pending) this.stats.hashHits++;
    else {
      this.stats.hashed++;
      pending = sha256File(host, this.maxHashBytes);
      this.hashes.set(key, pending);
      this.stats.hashEvictions += this.hashes.trim(this.maxEntries);
    }
    const digest = await pending;
    if (digest === undefined) {
      this.hashes.delete(key);
      this.stats.unreadable++;
      facts.sha256Skipped = 'unreadable';
    } else facts.sha256 = digest;
  }

  private async owner(root: string, file: string): Promise<PackageOwner | undefined> {
    return (await this.dpkg.owner(root, file)) ?? (await this.rpm.owner(root, file));
  }
}

async function statOf(file: string | undefined): Promise<Stats | undefined> {
  if (file === undefined) return undefined;
  try {
    return await fs.stat(file);
  } catch {
    return undefined;
  }
}

/** Streamed, so memory stays at one read buffer whatever the size; stops at limit bytes as a guard against a growing file. */
function sha256File(file: string, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const h = createHash('sha256');
    const stream = createReadStream(file, { end: limit - 1 });
    stream.on('data', (chunk) => h.update(chunk));
    stream.on('error', () => resolve(undefined));
    stream.on('end', () => resolve(h.digest('hex')));
  });
}
