// The DNS names the agent learned, kept across a restart. A program that resolved an address
// before the agent started (a connection pool, a JVM that caches answers) connects to it with no
// DNS packet the new agent can see: without the old names such a connection is named by its
// address or a PTR name, a different domain group, and alerts as new after every restart or
// upgrade. Written into the state directory every --names-save-interval and at shutdown (so a
// crash or a SIGKILL loses at most one interval), read at start; entries keep their deadlines
// (TTL + --dns-retention), so a restart after a long stop brings nothing stale.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type winston from 'winston';
import type { NameCache } from '../dns/index.js';

export const NAMES_FILE = 'names.json';
const VERSION = 1;

/** Takes back the names saved at the last shutdown; a missing file is a first start, a bad one is logged and left. */
export function loadNames(stateDir: string, cache: NameCache, now: number, logger: winston.Logger): number {
  const file = path.join(stateDir, NAMES_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn('saved DNS names not read; starting without them', { file, error: (err as Error).message });
    return 0;
  }
  try {
    const doc = JSON.parse(text) as { version?: unknown; entries?: unknown };
    if (doc.version !== VERSION || !Array.isArray(doc.entries)) throw new Error(`not a version ${VERSION} names file`);
    const n = cache.restore(doc.entries, now);
    logger.info('DNS names restored from the last run', { file, names: n, saved: doc.entries.length });
    return n;
  } catch (err) {
    logger.warn('saved DNS names not used (unreadable); starting without them', { file, error: (err as Error).message });
    return 0;
  }
}

/**
 * Saves the names not yet expired, whole or not at all: a temporary file, flushed to disk, renamed
 * over the old one, and the directory flushed (a power cut leaves the old file or the new one,
 * never an empty one). Only the JSON is made on the caller's turn (~60 ms for 100,000 names);
 * writing and flushing (~17 MB) do not hold the packet path. Resolves to the number of names
 * saved, or the error.
 */
export async function saveNames(stateDir: string, cache: NameCache, now: number): Promise<number | Error> {
  const file = path.join(stateDir, NAMES_FILE);
  const tmp = `${file}.tmp`;
  try {
    const entries = cache.entries(now);
    const text = JSON.stringify({ version: VERSION, savedAt: new Date(now).toISOString(), entries });
    const fh = await fsp.open(tmp, 'w', 0o640);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    await syncDir(stateDir);
    return entries.length;
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    return err as Error;
  }
}

/** Flushes a directory's entries (the rename); best effort: not every file system can. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // EINVAL / EISDIR on some file systems: the rename is as durable as they make it.
  }
}
