// The DNS names the agent learned, kept across a restart. A program that resolved an address
// before the agent started (a connection pool, a JVM that caches answers) connects to it with no
// DNS packet the new agent can see: without the old names such a connection is named by its
// address or a PTR name, a different domain group, and alerts as new after every restart or
// upgrade. Written at shutdown into the state directory, read at start; entries keep their
// deadlines (TTL + --dns-retention), so a restart after a long stop brings nothing stale.
import fs from 'node:fs';
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

/** Saves the names not yet expired, whole or not at all (a temporary file renamed over the old one). */
export function saveNames(stateDir: string, cache: NameCache, now: number, logger: winston.Logger): void {
  const file = path.join(stateDir, NAMES_FILE);
  const tmp = `${file}.tmp`;
  try {
    const entries = cache.entries(now);
    fs.writeFileSync(tmp, JSON.stringify({ version: VERSION, savedAt: new Date(now).toISOString(), entries }), { mode: 0o640 });
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing was written there either.
    }
    logger.warn('DNS names not saved for the next start', { file, error: (err as Error).message });
  }
}
