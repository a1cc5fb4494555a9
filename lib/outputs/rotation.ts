// Size-based rotation of the alerts file, numbered like logrotate's default (no dateext):
// alerts.json.1 is the newest rotated file, alerts.json.N the oldest kept. The active file keeps
// its name, so `tail -F alerts.json` and log shippers that follow by name keep working, and a
// logrotate config written for the same file finds the same layout.
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../fs-dirs.js';

/** 100 MiB: a few days of alerts on a very noisy host, small enough to open in an editor. */
export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
/** Rotated files kept beside the active one. */
export const DEFAULT_MAX_FILES = 5;

export interface RotationOptions {
  /** Rotate when the next line would push the active file past this size. 0 = never. */
  maxBytes?: number;
  /** Rotated files kept (`.1` … `.maxFiles`); older ones are removed. 0 = keep none. */
  maxFiles?: number;
}

export class RotationConfigError extends Error {
  override name = 'RotationConfigError';
}

/** Validated rotation settings with defaults filled in. */
export function rotationSettings(opts: RotationOptions): { maxBytes: number; maxFiles: number } {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxFiles = opts.maxFiles ?? DEFAULT_MAX_FILES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RotationConfigError(`alerts file maxBytes must be a whole number of bytes >= 0 (0 turns rotation off), got ${maxBytes}`);
  }
  if (!Number.isSafeInteger(maxFiles) || maxFiles < 0 || maxFiles > 1000) {
    throw new RotationConfigError(`alerts file maxFiles must be a whole number from 0 to 1000, got ${maxFiles}`);
  }
  return { maxBytes, maxFiles };
}

/** Name of the n-th rotated file (`alerts.json.3`); n = 0 is the active file. */
export function rotatedName(file: string, n: number): string {
  return n === 0 ? file : `${file}.${n}`;
}

/**
 * Shifts the numbered files up by one and moves the active file to `.1`. Oldest first, so no
 * rename ever replaces a file that has not been moved yet; rename(2) is atomic, so a reader
 * sees every file either under its old name or its new one. The active name is free after this.
 */
export function shiftRotated(file: string, maxFiles: number): void {
  if (maxFiles === 0) {
    unlinkIfPresent(file);
    return;
  }
  unlinkIfPresent(rotatedName(file, maxFiles));
  for (let n = maxFiles - 1; n >= 0; n -= 1) {
    renameIfPresent(rotatedName(file, n), rotatedName(file, n + 1));
  }
}

function unlinkIfPresent(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Where a path points compared with the file a descriptor has open. */
export type NameState = 'same' | 'replaced' | 'missing';

/**
 * Does `file` still name the file we opened (st_dev + st_ino from fstat at open)? 'replaced':
 * something else has the name now (logrotate `create` renamed ours and made a new one);
 * 'missing': nothing has it (logrotate is between its rename and its create, or an operator
 * removed it). One stat(2), ~2 µs: cheap enough before every alert or log line.
 */
export function nameState(file: string, dev: bigint, ino: bigint): NameState {
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  } catch {
    // EACCES and the like: we cannot tell, so we keep writing where we are.
    return 'same';
  }
  if (st === undefined) return 'missing';
  return st.dev === dev && st.ino === ino ? 'same' : 'replaced';
}

/**
 * How long a writer that finds its name missing waits for someone else to create it before
 * creating it itself. logrotate's `create` renames the file and creates the new one a few
 * microseconds later with O_EXCL; if we created it first, logrotate would find the name taken,
 * move our file to `NAME-YYYYMMDDHH.backup` and report an error. 50 ms covers a loaded machine;
 * the wait happens once per rotation at most (after it the name exists again).
 */
export const CREATE_WAIT_MS = 50;

/**
 * Blocks the thread (Atomics.wait, 1 ms steps) until `file` exists or `ms` pass; true if it
 * appeared. Synchronous on purpose: the writers using it are synchronous and this only runs in
 * the rare window of a rotation done by another program.
 */
export function waitForName(file: string, ms: number): boolean {
  for (let waited = 0; ; waited += 1) {
    if (fs.existsSync(file)) return true;
    if (waited >= ms) return false;
    sleepSync(1);
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (the synchronous writers' waits). */
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** A file opened for appending, with what is needed to notice that its name moved on. */
export interface AppendTarget {
  fd: number;
  /** Size at open (0 for a stream). */
  size: number;
  /** BigInt: overlayfs (container root filesystems) sets high bits of st_ino that a double would round away. */
  dev: bigint;
  ino: bigint;
  /**
   * A regular file. Otherwise a stream: a FIFO, a pipe (`/dev/stdout` under a container runtime
   * or `| jq`) or a character device (`/dev/null`, a terminal). A stream is never rotated,
   * renamed or cut back: renaming `/dev/stdout` or `/dev/null` would move the system's name away
   * and leave a regular file in its place, and what a pipe took cannot be taken back.
   */
  regular: boolean;
}

/**
 * Opens `file` for appending (O_APPEND: one write(2) per line is never interleaved with
 * another appender's), creating it and its directories. open(2) applies the umask; a file we
 * create gets exactly `mode` whatever the service's umask (a 077 umask would otherwise hide it
 * from the adm group). A file that was there already keeps the mode its owner (or logrotate's
 * `create`) gave it. Throws the system error as it is.
 */
export function openAppend(file: string, mode: number): AppendTarget {
  makeDirs(path.dirname(file));
  const existed = fs.existsSync(file);
  // O_NONBLOCK: a FIFO that no process has open for reading fails at once (ENXIO) instead of
  // blocking the agent in open(2) until a reader comes, and a stream whose reader is behind
  // says EAGAIN instead of stopping the agent in write(2) (LineAppender.writeStream waits for it,
  // bounded). A regular file ignores the flag.
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NONBLOCK, mode);
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    const regular = st.isFile();
    if (!existed && regular) fs.fchmodSync(fd, mode);
    return { fd, size: regular ? Number(st.size) : 0, dev: st.dev, ino: st.ino, regular };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * How long a write to a stream waits for its reader to take more (EAGAIN: the pipe is full)
 * before it gives up for now. The agent's thread waits meanwhile, so this stays short; a reader
 * further behind makes the lines wait in memory (the alerts file) or be dropped (the log).
 */
export const STREAM_WAIT_MS = 1_000;

/** What writeStream() got out: `written` bytes of the chunk, and the error that stopped it, if one did. */
export interface StreamWrite {
  written: number;
  error?: NodeJS.ErrnoException;
}

/**
 * Appends whole lines to a file with write(2), all or nothing: when the disk fills part-way
 * through, the bytes that got in are cut off again (ftruncate), so no reader meets half a line.
 * If even the cut fails (or the file is a stream, which cannot be cut), the next append first
 * ends that half line with a newline.
 */
export class LineAppender {
  private brokenLine = false;

  constructor(private readonly streamWaitMs = STREAM_WAIT_MS) {}

  /** Appends `chunk` (whole lines) at the end of `fd`; returns the bytes added. Throws the write's error. */
  append(fd: number, chunk: Buffer, regular = true): number {
    let added = 0;
    if (this.brokenLine) {
      const end = this.writeStream(fd, Buffer.from('\n'));
      if (end.error) throw end.error;
      this.brokenLine = false;
      added = 1;
    }
    if (!regular) {
      const r = this.writeStream(fd, chunk);
      if (r.error === undefined) return added + chunk.length;
      if (r.written > 0) this.brokenLine = true;
      throw r.error;
    }
    let off = 0;
    try {
      while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
    } catch (err) {
      if (off > 0) {
        try {
          fs.ftruncateSync(fd, fs.fstatSync(fd).size - off);
        } catch {
          this.brokenLine = true;
        }
      }
      throw err;
    }
    return added + chunk.length;
  }

  /**
   * Writes `chunk` to a stream opened O_NONBLOCK, waiting (in short sleeps, at most `waitMs` in
   * all) while its reader is behind. Never throws: a stream that fails (EPIPE: the reader went
   * away; EAGAIN past the wait; ENOSPC from /dev/full) returns how much it took, which a pipe's
   * reader has already seen.
   */
  writeStream(fd: number, chunk: Buffer, waitMs = this.streamWaitMs): StreamWrite {
    let off = 0;
    let waited = 0;
    let step = 1;
    while (off < chunk.length) {
      try {
        off += fs.writeSync(fd, chunk, off, chunk.length - off);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code !== 'EAGAIN' || waited >= waitMs) return { written: off, error: e };
        sleepSync(step);
        waited += step;
        step = Math.min(step * 2, 16);
      }
    }
    return { written: off };
  }
}

/**
 * Before a write: does the writer of the file (dev, ino) need to open `file` again? Waits (up to
 * `waitMs`) for a missing name to be created by logrotate; `createdAfterWait` says the wait
 * ran out and the writer is about to create the file itself.
 */
export function nameMoved(file: string, dev: bigint, ino: bigint, waitMs: number): { moved: boolean; createdAfterWait: boolean } {
  const state = nameState(file, dev, ino);
  if (state === 'same') return { moved: false, createdAfterWait: false };
  return { moved: true, createdAfterWait: state === 'missing' && !waitForName(file, waitMs) };
}

/**
 * Held lines are kept in memory up to this many (or HOLD_MAX_BYTES): a rotation takes
 * milliseconds and alerts come a handful a minute, so the bound is only met when logrotate
 * hangs under a flood; then the queue is written out (with the name check), never dropped.
 */
export const HOLD_MAX_LINES = 10_000;
export const HOLD_MAX_BYTES = 4 * 1024 * 1024;
/** A hold with no SIGHUP after it (logrotate failed between its scripts) ends by itself after this. */
export const HOLD_TIMEOUT_MS = 30_000;

export interface HoldOptions {
  maxLines?: number;
  maxBytes?: number;
  timeoutMs?: number;
}

/**
 * The acknowledgement a held writer leaves for logrotate's prerotate: `.alerts.json.held` beside
 * alerts.json. The leading dot keeps it out of the `alerts.json*` globs shippers are given.
 */
export function holdMarkerFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.held`);
}

/**
 * Writes held across an outside rotation (logrotate prerotate → SIGUSR2 → start(); postrotate →
 * SIGHUP → the writer reopens and takes the queue). A name check before each write cannot
 * close the window between that check and the write(2); not writing at all while logrotate
 * renames does. JS runs the signal listener between two synchronous writes, so once start()
 * has created the marker no write of ours can land in the renamed file.
 */
export class WriteHold {
  private queue: Buffer[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  /** Holds started (a SIGUSR2 while holding extends the hold and is not counted again). */
  holds = 0;
  /** Holds ended by the timeout, not by a reopen. */
  timeouts = 0;
  /** Lines queued during holds. */
  queued = 0;
  /** Lines written during a hold because the queue was full (the queue went out before them). */
  overflows = 0;
  /** Markers that could not be created or removed (the hold itself still happens). */
  markerErrors = 0;

  constructor(readonly marker: string, opts: HoldOptions = {}) {
    this.maxLines = opts.maxLines ?? HOLD_MAX_LINES;
    this.maxBytes = opts.maxBytes ?? HOLD_MAX_BYTES;
    this.timeoutMs = opts.timeoutMs ?? HOLD_TIMEOUT_MS;
  }

  get active(): boolean {
    return this.timer !== undefined;
  }

  /** Starts (or extends) the hold, then creates the marker; `onTimeout` ends it if no reopen comes. */
  start(onTimeout: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    else this.holds += 1;
    this.timer = setTimeout(() => {
      this.timeouts += 1;
      onTimeout();
    }, this.timeoutMs);
    // A stopping agent flushes the queue in close(); the timer must not keep it alive.
    this.timer.unref();
    try {
      fs.writeFileSync(this.marker, `${process.pid}\n`, { mode: 0o640 });
    } catch {
      this.markerErrors += 1;
    }
  }

  /** Queues a line; false when the queue is full (the caller writes the queue, then the line). */
  offer(line: Buffer): boolean {
    if (this.queue.length >= this.maxLines || this.bytes + line.length > this.maxBytes) {
      this.overflows += 1;
      return false;
    }
    this.queue.push(line);
    this.bytes += line.length;
    this.queued += 1;
    return true;
  }

  /** Takes the queued lines, oldest first; the hold goes on. */
  drain(): Buffer[] {
    const q = this.queue;
    this.queue = [];
    this.bytes = 0;
    return q;
  }

  /** Ends the hold and removes the marker (after the caller has written the drained lines). */
  end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      unlinkIfPresent(this.marker);
    } catch {
      this.markerErrors += 1;
    }
  }
}
