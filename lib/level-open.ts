// Opening a LevelDB store that a crash or a failing disk damaged. A power cut on ext4 can leave
// CURRENT or the MANIFEST empty (written, not yet flushed); LevelDB then refuses to open
// ("CURRENT file does not end with newline"), although every table and log file is whole. Its
// own repair (RepairDB: tables and logs scanned, a new MANIFEST written, unreadable files moved
// to lost/) gets the data back in those cases: tried here once before giving up, so an agent
// whose host crashed starts again with its baseline and spool instead of staying down until
// someone moves the directory aside.
//
// A CURRENT that is missing altogether is worse: LevelDB takes the directory for a new, empty
// database and deletes the old table files as obsolete. So a directory with table or log
// files and no CURRENT is repaired before it is opened.
import fs from 'node:fs';
import path from 'node:path';
import { Level } from 'level';

interface CodedError { code?: unknown; message?: unknown; cause?: unknown }

/**
 * LevelDB's RepairDB on a closed store. `level` is classic-level's ClassicLevel on Node, which
 * has it as a static method; level's type declarations leave it out.
 */
function repair(dir: string): Promise<void> {
  return (Level as unknown as { repair(location: string): Promise<void> }).repair(dir);
}

/** The error, or its cause (classic-level wraps the reason as the cause of LEVEL_DATABASE_NOT_OPEN). */
function inner(err: unknown): CodedError | undefined {
  const e = err as CodedError | undefined;
  return (e?.cause as CodedError | undefined) ?? e;
}

/**
 * Whether an open failed on damage to the store's files: a bad checksum or format, or a file its
 * own records name that is gone (a CURRENT pointing at a missing MANIFEST, a deleted table).
 */
export function isDamage(err: unknown): boolean {
  const e = inner(err);
  const code = String(e?.code ?? '');
  return code === 'LEVEL_CORRUPTION' || (code === 'LEVEL_IO_ERROR' && /No such file or directory/i.test(String(e?.message ?? '')));
}

/** Set on the error an open throws after a repair was tried and did not help. */
export interface RepairTried { repairTried?: boolean }

/** LevelDB's own files: tables, logs and manifests (numbered). */
const DATA_FILE = /^(\d+\.(ldb|sst|log)|MANIFEST-\d+)$/;

/** Whether `dir` holds LevelDB table, log or manifest files. */
export function hasLevelFiles(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((f) => DATA_FILE.test(f));
  } catch {
    return false;
  }
}

function orphaned(dir: string): boolean {
  return !fs.existsSync(path.join(dir, 'CURRENT')) && hasLevelFiles(dir);
}

/**
 * Opens the store `make` gives for `dir`, repairing it once when it is damaged (see above).
 * `repaired` says what was wrong when a repair was made. A store the repair cannot open either
 * throws the first open's error, marked `repairTried`.
 */
export async function openRepairing<V>(dir: string, make: () => Level<string, V>): Promise<{ db: Level<string, V>; repaired?: string }> {
  let repaired: string | undefined;
  if (orphaned(dir)) {
    await repair(dir);
    repaired = 'CURRENT was missing while table and log files were there';
  }
  const db = make();
  try {
    await db.open();
    return { db, repaired };
  } catch (err) {
    await db.close().catch(() => undefined);
    if (!isDamage(err)) throw err;
    const again = make();
    try {
      await repair(dir);
      await again.open();
    } catch {
      await again.close().catch(() => undefined);
      throw Object.assign(err as Error, { repairTried: true } satisfies RepairTried);
    }
    return { db: again, repaired: String(inner(err)?.message ?? err) };
  }
}
