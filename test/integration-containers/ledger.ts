// Everything the container test changes on the host, written down BEFORE it is made: pod
// namespaces, veths, the nft NAT table, cgroup directories and the previous ip_forward value.
// teardown() undoes exactly what the ledger lists, and because the ledger is a file, the next
// run undoes what a killed run left (the names alone could not say which cgroups were ours, and
// nothing else would remember the ip_forward value to restore).
import fs from 'node:fs';
import path from 'node:path';
import { LOCK_FILE } from '../integration/lock.js';
import { run, sleep } from '../integration/proc.js';

/** Beside the machine-wide harness lock, which every writer of this file holds. */
export const LEDGER_FILE = path.join(path.dirname(LOCK_FILE), 'egresswatch-containers-ledger.json');

export const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

export interface LedgerData {
  /** ip_forward as it was before the run ("0\n" / "1\n"); absent when never changed. */
  ipForward?: string;
  netns: string[];
  links: string[];
  nftTables: string[];
  /** Cgroup directories in creation order (parents first); removed in reverse. */
  cgroups: string[];
}

type ListKey = 'netns' | 'links' | 'nftTables' | 'cgroups';

export class Ledger {
  private data: LedgerData;

  private constructor(readonly file: string, data: LedgerData) {
    this.data = data;
  }

  /** An empty ledger (call undoLeftovers() first: it refuses to overwrite an old one). */
  static create(file = LEDGER_FILE): Ledger {
    if (fs.existsSync(file)) throw new Error(`${file} exists: undo the leftovers of the previous run first`);
    const l = new Ledger(file, { netns: [], links: [], nftTables: [], cgroups: [] });
    l.save();
    return l;
  }

  /** Undoes what a killed run recorded; returns what could not be undone (file kept then). */
  static async undoLeftovers(file = LEDGER_FILE): Promise<string[]> {
    if (!fs.existsSync(file)) return [];
    let data: LedgerData;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8')) as LedgerData;
    } catch (e) {
      return [`${file} unreadable (${(e as Error).message}); remove it by hand after checking`];
    }
    return new Ledger(file, data).undo();
  }

  get snapshot(): Readonly<LedgerData> {
    return this.data;
  }

  add(key: ListKey, value: string): void {
    this.data[key].push(value);
    this.save();
  }

  /** Records the current ip_forward once, then sets it. */
  setIpForward(value: '0' | '1'): void {
    if (this.data.ipForward === undefined) {
      this.data.ipForward = fs.readFileSync(IP_FORWARD, 'utf8');
      this.save();
    }
    fs.writeFileSync(IP_FORWARD, value);
  }

  /**
   * Removes everything recorded, in dependency order: processes left in pod namespaces, cgroups
   * (children first), NAT table, links, namespaces, then ip_forward. Returns what is still there;
   * the ledger file is deleted only when nothing is.
   */
  async undo(): Promise<string[]> {
    const d = this.data;
    for (const ns of d.netns) await killNamespacePids(ns);
    const left: string[] = [];
    for (const dir of [...d.cgroups].reverse()) if (!(await removeCgroup(dir))) left.push(`cgroup ${dir}`);
    for (const t of d.nftTables) {
      await run('nft', ['delete', 'table', 'ip', t], { timeoutMs: 5000 });
      if ((await run('nft', ['list', 'table', 'ip', t], { timeoutMs: 5000 })).code === 0) left.push(`nft table ip ${t}`);
    }
    for (const l of d.links) {
      await run('ip', ['link', 'del', l], { timeoutMs: 5000 });
      if ((await run('ip', ['link', 'show', l], { timeoutMs: 5000 })).code === 0) left.push(`link ${l}`);
    }
    for (const ns of d.netns) {
      await run('ip', ['netns', 'del', ns], { timeoutMs: 5000 });
      if (fs.existsSync(path.join('/run/netns', ns))) left.push(`netns ${ns}`);
    }
    if (d.ipForward !== undefined) {
      fs.writeFileSync(IP_FORWARD, d.ipForward.trim());
      if (fs.readFileSync(IP_FORWARD, 'utf8').trim() !== d.ipForward.trim()) left.push(`ip_forward not restored to ${d.ipForward.trim()}`);
    }
    if (left.length === 0) fs.rmSync(this.file, { force: true });
    return left;
  }

  private save(): void {
    fs.writeFileSync(this.file, JSON.stringify(this.data, null, 1) + '\n', { mode: 0o600 });
  }
}

/** Ends (TERM, then KILL) whatever still runs in a namespace, by pid, so it can be deleted. */
export async function killNamespacePids(ns: string): Promise<void> {
  for (const signal of ['TERM', 'KILL']) {
    const pids = async () => (await run('ip', ['netns', 'pids', ns], { timeoutMs: 5000 })).stdout.split(/\s+/).filter((p) => /^\d+$/.test(p));
    const first = await pids();
    if (first.length === 0) return;
    await run('kill', [`-${signal}`, ...first], { timeoutMs: 5000 });
    for (let i = 0; i < 20 && (await pids()).length > 0; i++) await sleep(50);
  }
}

/**
 * rmdir of a cgroup; a process still in it (one that outlived its test) is moved to the
 * hierarchy's root first. An exiting process can hold the cgroup for a moment: retry ~1 s.
 */
async function removeCgroup(dir: string): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    if (!fs.existsSync(dir)) return true;
    try {
      fs.rmdirSync(dir);
      return true;
    } catch {
      evacuate(dir);
      await sleep(50);
    }
  }
  return !fs.existsSync(dir);
}

function evacuate(dir: string): void {
  let procs: string[];
  try {
    procs = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  const root = hierarchyRoot(dir);
  for (const p of procs) {
    try {
      fs.writeFileSync(path.join(root, 'cgroup.procs'), p);
    } catch {
      // exited meanwhile
    }
  }
}

/** /sys/fs/cgroup/pids/a/b → /sys/fs/cgroup/pids (the mount point holding dir). */
function hierarchyRoot(dir: string): string {
  let d = dir;
  while (path.dirname(d) !== d) {
    const up = path.dirname(d);
    if (!fs.existsSync(path.join(up, 'cgroup.procs'))) return d;
    d = up;
  }
  return d;
}
