// Names from a hosts file (hosts(5)): what a program resolved without DNS. An address pinned in
// /etc/hosts (a partner's endpoint, a Kubernetes pod's hostAliases, Docker's --add-host) is
// connected to with no DNS packet to name it; the process's own hosts file does. Read inside
// the process's root (a container has its own), cached by the file's identity.
import fs from 'node:fs/promises';
import { OrderedMap } from '../collections/index.js';
import { canonicalAddress } from '../decode/index.js';

/** Most bytes of a hosts file read; a bigger one (an ad blocker's list) is read up to here. */
const MAX_HOSTS_BYTES = 4 << 20;
const NAME = /^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$/;

/**
 * address → its canonical name: the first name on the first line that lists the address, as
 * getnameinfo() through nss_files answers. Comments, bad addresses and names that are not host
 * names are skipped; names are lower-cased, a final dot dropped.
 */
export function parseHosts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [addr, ...names] = line.split(/\s+/);
    const ip = canonicalAddress(addr);
    if (ip === undefined || out.has(ip)) continue;
    const name = names.map((n) => n.toLowerCase().replace(/\.$/, '')).find((n) => n.length <= 253 && NAME.test(n));
    if (name !== undefined) out.set(ip, name);
  }
  return out;
}

export interface HostsFilesOptions {
  /** Most files kept (one per container root); default 64. */
  maxFiles?: number;
}

/**
 * Parsed hosts files by (device, inode, mtime, size): every process of one root shares one, and
 * a file that changes is read again (a stat per lookup; the parse only then).
 */
export class HostsFiles {
  readonly stats = { loads: 0, hits: 0 };
  private readonly files = new OrderedMap<string, Promise<ReadonlyMap<string, string> | undefined>>();
  private readonly maxFiles: number;

  constructor(opts: HostsFilesOptions = {}) {
    this.maxFiles = opts.maxFiles ?? 64;
  }

  /**
   * The names of the hosts file at `file` (a host path; for a process, its /etc/hosts resolved
   * inside its root by the caller); undefined when there is no such file or it cannot be read.
   */
  async read(file: string): Promise<ReadonlyMap<string, string> | undefined> {
    let key: string;
    let size: number;
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) return undefined;
      key = `${st.dev}:${st.ino}:${st.mtimeMs}:${st.size}`;
      size = st.size;
    } catch {
      return undefined;
    }
    const held = this.files.get(key);
    if (held) {
      this.stats.hits++;
      return held;
    }
    this.stats.loads++;
    const names = readBounded(file, size).then((text) => (text === undefined ? undefined : parseHosts(text)));
    this.files.set(key, names);
    this.files.trim(this.maxFiles);
    return names;
  }
}

async function readBounded(file: string, size: number): Promise<string | undefined> {
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(file, 'r');
    const buf = Buffer.alloc(Math.min(size, MAX_HOSTS_BYTES));
    const { bytesRead } = await h.read(buf, 0, buf.length, 0);
    const text = buf.toString('utf8', 0, bytesRead);
    // A file cut at the bound loses its last, partial line.
    return bytesRead === buf.length ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  } catch {
    return undefined;
  } finally {
    await h?.close().catch(() => undefined);
  }
}
