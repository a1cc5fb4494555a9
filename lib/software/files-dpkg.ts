// Which Debian package installed a file: the path lists in var/lib/dpkg/info/*.list, versions
// from var/lib/dpkg/status. Built once per root (the host, or a container image's own root) and
// rebuilt when the info directory's mtime moves (dpkg rewrites it on every install / removal).
import { OrderedMap } from '../collections/index.js';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface PackageOwner { name: string; version?: string; manager: 'dpkg' | 'rpm' }

/** status stanzas → "name" and "name:arch" → version, for installed packages only. */
export function parseDpkgStatus(text: string): Map<string, string> {
  const versions = new Map<string, string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined => new RegExp(`^${name}: *(.*)$`, 'm').exec(stanza)?.[1].trim();
    const pkg = field('Package');
    const version = field('Version');
    const status = field('Status');
    if (!pkg || !version || !status?.endsWith(' installed')) continue;
    const arch = field('Architecture');
    versions.set(pkg, version);
    if (arch) versions.set(`${pkg}:${arch}`, version);
  }
  return versions;
}

interface Index { stamp: string; owners: Map<string, string>; versions: Map<string, string> }

export class DpkgIndex {
  readonly stats = { builds: 0, evictions: 0 };
  private readonly roots = new OrderedMap<string, Promise<Index | undefined>>();

  /** @param maxRoots indexes kept (each holds every packaged path of its root: ~10 MB for a desktop). */
  constructor(private readonly maxRoots = 8) {}

  async owner(root: string, file: string): Promise<PackageOwner | undefined> {
    const index = await this.index(root);
    if (!index) return undefined;
    for (const candidate of usrMergeAliases(file)) {
      const pkg = index.owners.get(candidate);
      if (pkg) return { name: pkg.split(':')[0], version: index.versions.get(pkg) ?? index.versions.get(pkg.split(':')[0]), manager: 'dpkg' };
    }
    return undefined;
  }

  private async index(root: string): Promise<Index | undefined> {
    const info = path.join(root, 'var/lib/dpkg/info');
    let st;
    try {
      st = await fs.stat(info);
    } catch {
      return undefined;
    }
    // Keyed by the directory itself, so /proc/1/root and /proc/2/root of one root share an index.
    const key = `${st.dev}:${st.ino}`;
    const stamp = String(st.mtimeMs);
    const cached = this.roots.get(key);
    if (cached) {
      const idx = await cached;
      if (idx?.stamp === stamp) return idx;
    }
    this.roots.delete(key);
    const built = this.build(root, info, stamp);
    this.roots.set(key, built);
    this.stats.evictions += this.roots.trim(this.maxRoots);
    return built;
  }

  private async build(root: string, info: string, stamp: string): Promise<Index | undefined> {
    this.stats.builds++;
    let names: string[];
    try {
      names = (await fs.readdir(info)).filter((n) => n.endsWith('.list'));
    } catch {
      return undefined;
    }
    const owners = new Map<string, string>();
    // Read in batches: thousands of small files, one at a time, take several times longer.
    for (let i = 0; i < names.length; i += LIST_BATCH) {
      const batch = names.slice(i, i + LIST_BATCH);
      const texts = await Promise.all(batch.map((n) => fs.readFile(path.join(info, n), 'utf8').catch(() => '')));
      texts.forEach((text, j) => addOwners(owners, batch[j].slice(0, -'.list'.length), text));
    }
    const status = await fs.readFile(path.join(root, 'var/lib/dpkg/status'), 'utf8').catch(() => '');
    return { stamp, owners, versions: parseDpkgStatus(status) };
  }
}

/** Files read at once while indexing: enough to overlap I/O, few enough for any fd limit. */
const LIST_BATCH = 64;

function addOwners(owners: Map<string, string>, pkg: string, list: string): void {
  for (const line of list.split('\n')) {
    // Directories are listed by every package that puts something in them; the first wins, it matters not.
    if (line.startsWith('/') && !owners.has(line)) owners.set(line, pkg);
  }
}

/** With merged /usr, /bin/sh is /usr/bin/sh on disk but dpkg may list either spelling. */
function usrMergeAliases(file: string): string[] {
  const m = /^\/usr(\/(?:bin|sbin|lib|lib32|lib64|libx32)\/.*)$/.exec(file);
  if (m) return [file, m[1]];
  const n = /^\/(?:bin|sbin|lib|lib32|lib64|libx32)\//.test(file);
  return n ? [file, `/usr${file}`] : [file];
}
