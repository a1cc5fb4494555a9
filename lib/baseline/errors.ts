// Opening the baseline is the one place a LevelDB error reaches the operator: it fails the
// start, so the message names the directory, what is wrong and what to do.

import { isDamage, type RepairTried } from '../level-open.js';
export type BaselineOpenReason = 'locked' | 'not-writable' | 'corrupt' | 'other';

export class BaselineOpenError extends Error {
  readonly path: string;
  readonly reason: BaselineOpenReason;
  constructor(path: string, reason: BaselineOpenReason, detail: string, options?: { cause?: unknown }) {
    super(`cannot open baseline database '${path}': ${detail}`, options);
    this.name = 'BaselineOpenError';
    this.path = path;
    this.reason = reason;
  }
}

interface CodedError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

function codeOf(err: unknown): string {
  const e = err as CodedError | undefined;
  const cause = e?.cause as CodedError | undefined;
  return String(cause?.code ?? e?.code ?? '');
}

function messageOf(err: unknown): string {
  const e = err as CodedError | undefined;
  const cause = e?.cause as CodedError | undefined;
  return String(cause?.message ?? e?.message ?? err);
}

const NOT_WRITABLE_FIX = 'make it a directory writable by the agent user, or point --state-dir elsewhere';

/**
 * The directory (or a missing parent) could not be made: whatever the errno (EACCES, EROFS,
 * ENOTDIR, or ENOENT from a file system that takes no directories, such as /proc), the store
 * cannot live there.
 */
export function createErrorFor(path: string, err: unknown): BaselineOpenError {
  return new BaselineOpenError(path, 'not-writable', `the directory cannot be created (${messageOf(err)}); ${NOT_WRITABLE_FIX}`, { cause: err });
}

/** Translates a LevelDB open failure into the operator's terms. */
export function openErrorFor(path: string, err: unknown): BaselineOpenError {
  const code = codeOf(err);
  const msg = messageOf(err);
  if (code === 'LEVEL_LOCKED') {
    return new BaselineOpenError(path, 'locked',
      'it is locked by another process (another egresswatch using the same --state-dir?); ' +
      'stop that process, or give this instance its own --state-dir', { cause: err });
  }
  // A file the database's own records name is gone (a CURRENT pointing at a missing manifest,
  // a table deleted by hand or lost to a disk error): damaged as surely as a bad checksum.
  if (isDamage(err)) {
    const tried = (err as RepairTried).repairTried === true ? 'LevelDB\'s repair could not fix it; ' : '';
    return new BaselineOpenError(path, 'corrupt',
      `the database is corrupt (${msg}); ${tried}move the directory aside to start a new baseline ` +
      '(the learning period starts again)', { cause: err });
  }
  if (['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOSPC'].includes(code) || /permission|read-only/i.test(msg)) {
    return new BaselineOpenError(path, 'not-writable',
      `the directory cannot be created or written (${msg}); ${NOT_WRITABLE_FIX}`, { cause: err });
  }
  return new BaselineOpenError(path, 'other', msg, { cause: err });
}

/**
 * The baseline's last writes (new entries, last-seen updates) could not be made when it closed:
 * a full or failing disk under --state-dir. What was written before stays.
 */
export class BaselineWriteError extends Error {
  override name = 'BaselineWriteError';
  constructor(readonly path: string, cause: unknown) {
    super(`cannot write the baseline database '${path}': ${messageOf(cause)}; its last updates are not saved `
      + '(fix: free space on the file system of --state-dir, or make it writable)', { cause });
  }
}
