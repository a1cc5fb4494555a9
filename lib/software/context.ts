// The one call the pipeline makes per process: everything known about who the software is.
// process facts (/proc) → container (cgroup → runtime metadata) → identity (command line, java
// argfiles read inside the process's root) → baseline key → main file facts.
import path from 'node:path';
import fs from 'node:fs/promises';
import { readProcess, type ProcessInfo } from '../procfs/process.js';
import type { ProcFs } from '../procfs/procfs.js';
import { CopyProcFs } from '../procfs/program-at.js';
import type { ExecCopy } from '../procfs/execwatch.js';
import { NameService, UserNames } from '../procfs/passwd.js';
import { HostsFiles } from '../procfs/hosts.js';
import { containerFromCgroup, systemdUnitFromCgroup } from './container-cgroup.js';
import { ContainerCatalog } from './container-catalog.js';
import type { ContainerInfo } from './container-sources.js';
import { FileInspector, type FileFacts } from './files.js';
import { resolveInRoot } from '../procfs/root-path.js';
import { poolProgram, type SoftwareIdentity, type SoftwareKind } from './identify.js';
import { identifySoftwareReading, MAX_ARGFILE_BYTES } from './javaargs.js';
import { softwareKey } from './key.js';

export interface SoftwareContextOptions {
  proc: ProcFs;
  /** The host's filesystem root (runtime metadata, host passwd, fallback for files); default "/". */
  hostRoot?: string;
  /** Ancestors read per process; default 4. */
  parentDepth?: number;
  /** Version-normalised software keys; default true. */
  normalizeVersions?: boolean;
  /** Container metadata; one over hostRoot by default, false for none (cgroup id and pod uid only). */
  catalog?: ContainerCatalog | false;
  /** Main file facts; one over proc and hostRoot by default, false for none. */
  files?: FileInspector | false;
  /** The host's passwd file, when not <hostRoot>/etc/passwd. */
  passwdFile?: string;
  users?: UserNames;
  /** Names for uids no passwd file lists (getent; see readProcess); false for none. */
  nameService?: NameService | false;
  /** The processes' own hosts files (names of addresses resolved without DNS); false for none. */
  hosts?: HostsFiles | false;
}

export interface Described {
  process: ProcessInfo;
  /** The in-container executable or main program: a container does not change what runs. */
  software: SoftwareIdentity;
  /** The baseline key: the image repository for containers, else the normalised id. */
  softwareKey: string;
  mainFile?: FileFacts;
  container?: ContainerInfo;
  /** The systemd unit the process runs in (its cgroup): "nginx.service", "session-4.scope". */
  unit?: string;
  /** address → name from the hosts file inside the process's root (its /etc/hosts). */
  hosts?: ReadonlyMap<string, string>;
}

/** Kinds whose id is a file the interpreter runs; for the rest the executable is the main file. */
const FILE_KINDS: ReadonlySet<SoftwareKind> = new Set(['script', 'jar', 'dotnet-assembly']);

export class SoftwareContext {
  private readonly proc: ProcFs;
  private readonly hostRoot: string;
  private readonly parentDepth: number;
  private readonly normalize: boolean;
  private readonly catalog?: ContainerCatalog;
  private readonly files?: FileInspector;
  private readonly passwdFile?: string;
  private readonly users: UserNames;
  /** Undefined when turned off. */
  readonly nameService: NameService | undefined;
  private readonly hostsFiles: HostsFiles | undefined;

  constructor(opts: SoftwareContextOptions) {
    this.proc = opts.proc;
    this.hostRoot = path.resolve(opts.hostRoot ?? '/');
    this.parentDepth = opts.parentDepth ?? 4;
    this.normalize = opts.normalizeVersions ?? true;
    this.catalog = opts.catalog === false ? undefined : (opts.catalog ?? new ContainerCatalog({ hostRoot: this.hostRoot }));
    this.files = opts.files === false ? undefined : (opts.files ?? new FileInspector({ procRoot: opts.proc.root, hostRoot: this.hostRoot }));
    this.passwdFile = opts.passwdFile;
    this.users = opts.users ?? new UserNames();
    this.nameService = opts.nameService === false ? undefined : (opts.nameService ?? new NameService());
    this.hostsFiles = opts.hosts === false ? undefined : (opts.hosts ?? new HostsFiles());
  }

  /**
   * undefined when the process is gone (or never was). `asOf`: a copy of the process's files from
   * before it exec'd its present program (programBefore): it is described as it was then.
   */
  async describe(pid: number, asOf?: ExecCopy): Promise<Described | undefined> {
    const proc = asOf === undefined ? this.proc : new CopyProcFs(this.proc, pid, asOf);
    const [process, cgroup, hosts] = await Promise.all([
      readProcess(proc, pid, { hostRoot: this.hostRoot, parentDepth: this.parentDepth, passwdFile: this.passwdFile, users: this.users, nameService: this.nameService ?? false }),
      proc.readText(`${pid}/cgroup`),
      // Read while the process lives: its root (and so its hosts file) is gone with it.
      this.hostsOf(pid),
    ]);
    if (!process) return undefined;
    const [container, own] = await Promise.all([
      this.container(cgroup),
      identifySoftwareReading(process, (file) => this.readInRoot(pid, file)),
    ]);
    // A Python pool's worker (multiprocessing spawn / forkserver) is the program that made the pool.
    const software = poolProgram(process, (process.parents ?? []).map((a) => ({ exe: a.exe, argv: a.argv ?? [], cwd: a.cwd }))) ?? own;
    const out: Described = { process, software, softwareKey: softwareKey(software, container, { normalize: this.normalize }) };
    if (container) out.container = container;
    const unit = cgroup === undefined ? undefined : systemdUnitFromCgroup(cgroup);
    if (unit !== undefined) out.unit = unit;
    if (hosts !== undefined && hosts.size > 0) out.hosts = hosts;
    // The running image (<proc>/PID/exe) is the present program's, not the one copied: by path then.
    const mainFile = await this.mainFile(process, software, asOf === undefined);
    if (mainFile) out.mainFile = mainFile;
    return out;
  }

  private async container(text: string | undefined): Promise<ContainerInfo | undefined> {
    const c = text === undefined ? undefined : containerFromCgroup(text);
    if (!c) return undefined;
    const info = await this.catalog?.lookup(c);
    if (info) return info;
    // No metadata (none on disk, or no catalog): the id and pod uid are still facts.
    return { id: c.id, runtime: c.runtime, ...(c.podUid ? { pod: { uid: c.podUid } } : {}) };
  }

  private mainFile(p: ProcessInfo, software: SoftwareIdentity, running: boolean): Promise<FileFacts | undefined> {
    if (!this.files) return Promise.resolve(undefined);
    if (FILE_KINDS.has(software.kind) && path.posix.isAbsolute(software.id)) {
      return this.files.inspect(p.pid, software.id, { startTime: p.startTime });
    }
    if (!p.exe) return Promise.resolve(undefined);
    return this.files.inspect(p.pid, p.exe, { exe: running, startTime: p.startTime });
  }

  /** A uid's name in the host's passwd file (a process gone, its own root with it). */
  hostUserName(uid: number): Promise<string | undefined> {
    return this.users.lookup(uid, this.passwdFile ?? path.join(this.hostRoot, 'etc', 'passwd'));
  }

  /** The process's own /etc/hosts (symlinks followed inside its root, not ours). */
  private async hostsOf(pid: number): Promise<ReadonlyMap<string, string> | undefined> {
    if (!this.hostsFiles) return undefined;
    const file = await resolveInRoot(this.proc.resolve(`${pid}/root`), '/etc/hosts');
    return file === undefined ? undefined : this.hostsFiles.read(file);
  }

  /** A java argfile, read as the process sees it; bounded, and undefined when missing. */
  private async readInRoot(pid: number, file: string): Promise<string | undefined> {
    const host = await resolveInRoot(this.proc.resolve(`${pid}/root`), file);
    if (!host) return undefined;
    try {
      const st = await fs.stat(host);
      if (!st.isFile() || st.size > MAX_ARGFILE_BYTES) return undefined;
      return await fs.readFile(host, 'utf8');
    } catch {
      return undefined;
    }
  }
}
