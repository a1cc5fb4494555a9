// Opening a path as a process sees it. <proc>/PID/root is the process's root, but an absolute
// symlink met below it (/usr/bin/python3 -> /usr/bin/python3.11 in an image) would be resolved
// against OUR root by the kernel. So symlinks are followed here, one component at a time, with
// absolute targets restarted at the given root.
import fs from 'node:fs/promises';
import path from 'node:path';

/** Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;

/** The host-side path of `file` inside `root`, symlinks resolved within root; undefined when it does not exist. */
export async function resolveInRoot(root: string, file: string): Promise<string | undefined> {
  const pending = file.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') { done.pop(); continue; }
    const candidate = path.join(root, ...done, part);
    let st;
    try {
      st = await fs.lstat(candidate);
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) { done.push(part); continue; }
    if (++links > MAX_LINKS) return undefined;
    let target: string;
    try {
      target = await fs.readlink(candidate);
    } catch {
      return undefined;
    }
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
  }
  return path.join(root, ...done);
}
