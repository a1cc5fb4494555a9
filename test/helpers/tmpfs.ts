// A small tmpfs of our own, for tests of a file system that fills up (root only).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Tmpfs {
  readonly dir: string;
  /** Unmounts (lazily) and removes the mount point. */
  remove(): void;
}

/** Mounts a tmpfs of `size` (mount's syntax: 256k, 2m) on a new directory under the temp dir. */
export function mountTmpfs(prefix: string, size: string): Tmpfs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    assert.fail(`mount tmpfs: ${r.stderr}`);
  }
  return {
    dir,
    remove: () => {
      spawnSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `file` until the file system is full (ENOSPC); returns its size. */
export function fillUp(file: string, block = 4096): number {
  const fd = fs.openSync(file, 'w');
  const data = Buffer.alloc(block, 0x61);
  try {
    for (let i = 0; i < 1 << 20; i++) fs.writeSync(fd, data);
    assert.fail(`${file}: the file system did not fill up`);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC', String(err));
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}
