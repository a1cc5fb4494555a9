// The alerts file: JSON lines, mode 0640, each alert (or each run of alerts emitted together)
// written with a single write(2) on an O_APPEND descriptor, so a tailer never sees half a line
// from us and concurrent appenders cannot interleave inside one. Writes are synchronous:
// alerts are rare (a handful a minute on a busy host) and a synchronous write means "emitted"
// only once the line is in the file.
//
// Rotation is built in (size-based, numbered files, see rotation.ts) and also works from the
// outside: logrotate's default `create` mode renames the file and creates a new one. A SIGHUP
// (postrotate) reopens, but it comes after logrotate has finished, and lines written in
// between would land in the renamed file, which `tail -F` has already left (it missed 1-7 lines
// per rotation at one alert per 4 ms). So before each line we check that the name still points
// at our file (one stat, ~3 µs next to ~10 µs for the write; alerts are a handful a minute, so
// no rate limit, which would only widen the window) and follow it to the new file first.
// What remains: a rename landing between that check and the write(2) (measured: ~1 write in
// 60 rotations at one alert per 4 ms). The line is still on disk once, at the end of the renamed
// file; shippers that track inodes (Filebeat, Fluent Bit, Vector) read it, `tail -F` may not.
// A stat after the write counts these (renameRaces).
//
// That window is closed by a handshake with logrotate (deploy/logrotate/egresswatch): prerotate
// sends SIGUSR2 and the agent hold()s: lines are queued in memory, in order, and a marker file
// tells prerotate that no write of ours can happen any more. logrotate renames and creates, its
// postrotate SIGHUP makes the agent reopen(), which writes the queue to the new file and ends the
// hold. No write happens while the name moves, so there is nothing left to overtake (100 forced
// rotations at one alert per 2 ms: none overtaken, test/outputs/logrotate-hold.test.ts). A file
// marker rather than a socket or a pipe: prerotate is a shell snippet, and `[ -e ]` in a bounded
// loop is all it needs. The name check stays, for configs without the prerotate.
//
// A write that fails (ENOSPC, EDQUOT, EIO) loses nothing and leaves no half line: the bytes of
// the failed write that did reach the file are cut off again (ftruncate), and its lines, with
// every later one, wait in memory in order (bounded: UNWRITTEN_MAX_BYTES) and are written
// before anything newer at the next write or retry (every retryMs), once the disk has room.
// Lines past the bound, or still unwritten at close, are counted as dropped.
//
// The name may also be a stream (rotation.ts AppendTarget.regular): a FIFO a log shipper reads,
// `/dev/stdout` (a pipe under a container runtime), `/dev/null`. A stream is never rotated or
// renamed. A FIFO that nobody reads yet does not stop the agent: its alerts wait as above until
// a reader opens it (ENXIO, told once). A reader that is behind is waited for briefly, then its
// alerts wait too (EAGAIN); one that went away (EPIPE) is replaced by the next reader of the
// FIFO. A line a pipe took only part of is finished before anything else is written, so the
// reader never meets half a line followed by another.
import fs from 'node:fs';
import {
  CREATE_WAIT_MS, LineAppender, STREAM_WAIT_MS, WriteHold, holdMarkerFor, nameMoved, nameState, openAppend, rotationSettings, shiftRotated,
  type AppendTarget, type HoldOptions, type RotationOptions,
} from './rotation.js';

export class AlertFileError extends Error {
  override name = 'AlertFileError';
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export interface AlertFileOptions extends RotationOptions {
  /** Permission bits of a file we create (default 0o640: the agent writes, group adm reads). */
  mode?: number;
  /** How long to wait for another program to create a missing file (default CREATE_WAIT_MS). */
  createWaitMs?: number;
  /** Bounds and safety timeout of a hold (HOLD_MAX_LINES, HOLD_MAX_BYTES, HOLD_TIMEOUT_MS). */
  hold?: HoldOptions;
  /**
   * Called once per failure episode (the first failed open of the name after a rename, until an
   * open succeeds again) with the errno code: the owner logs it, since the alerts go on into the
   * renamed file that followers have left (EACCES when logrotate creates it for another user).
   */
  onReopenError?: (file: string, code: string) => void;
  /** Called after a hold that no reopen ended was ended by its timeout (the queue is written). */
  onHoldTimeout?: (file: string) => void;
  /** Called once per episode of failing writes (the first failure, until a write succeeds), with the errno code. */
  onWriteError?: (file: string, code: string) => void;
  /** Called when writes succeed again after failing, with the number of waiting lines written. */
  onWriteRecovered?: (file: string, lines: number) => void;
  /** Retry interval of lines a write could not take (default WRITE_RETRY_MS). */
  retryMs?: number;
  /** Bound of lines waiting for a failed write to be retried (default UNWRITTEN_MAX_BYTES). */
  maxUnwrittenBytes?: number;
  /** How long a write to a stream waits for a reader that is behind (default STREAM_WAIT_MS). */
  streamWaitMs?: number;
}

/** Retry interval of lines a failed write left waiting: a full disk is freed by hand, or by logrotate. */
export const WRITE_RETRY_MS = 5_000;
/** Lines kept for a failed write to be retried: ~30,000 alerts of ~2 KB. */
export const UNWRITTEN_MAX_BYTES = 64 * 1024 * 1024;
/** At close (end of a replay, agent stop), how long a stream's reader is waited for before what it has not taken is dropped. */
export const CLOSE_STREAM_WAIT_MS = 10_000;

/** The open error of a FIFO (or socket) that no process has open for reading. */
const NO_READER = 'ENXIO';

/** What to do about a failing alerts file, by errno (for the log line and the replay's exit message). */
export function writeErrorFix(code: string | undefined): string {
  switch (code) {
    case NO_READER:
      return 'start the program that reads the FIFO given as --alerts-file; the alerts are written once it has opened it';
    case 'EPIPE':
      return 'the program reading --alerts-file (a FIFO or pipe) went away; the alerts are written once a reader opens it again';
    case 'EAGAIN':
      return 'the program reading --alerts-file (a FIFO or pipe) does not keep up with the alerts';
    default:
      return 'free space on (or repair) the file system of --alerts-file';
  }
}

export class AlertFile {
  private fd = -1;
  /** Bytes in the active file, from fstat at open plus what we appended since. */
  private size = 0;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly mode: number;
  private readonly createWaitMs: number;
  /** st_dev / st_ino of the open file, to notice that the name now points elsewhere. */
  private dev = 0n;
  private ino = 0n;
  /** Alerts written since construction (across rotations). */
  lines = 0;
  /** Built-in rotations done. */
  rotations = 0;
  /** Rotations that failed (the alert was still written, to the file that was open). */
  rotationErrors = 0;
  /** Times the name was found moved away or replaced before a write, and followed. */
  renamesFollowed = 0;
  /** Follows that failed to open the new file (the line went to the old one). */
  reopenErrors = 0;
  /**
   * Lines during whose write the name moved (a rename between our check and our write(2), a
   * window of microseconds unless the process is descheduled there). On disk they are in the
   * renamed file; `tail -F` and shippers following the name may not have read them.
   */
  renameRaces = 0;
  /** Times the name stayed missing past createWaitMs and we created the file ourselves. */
  createdAfterWait = 0;
  /** Writes held for logrotate (counters: holds, timeouts, queued, overflows, markerErrors). */
  readonly held: WriteHold;
  /** True from a failed open of the name until an open succeeds: one warning per episode. */
  private failing = false;
  private readonly onReopenError: AlertFileOptions['onReopenError'];
  private readonly onHoldTimeout: AlertFileOptions['onHoldTimeout'];
  private readonly onWriteError: AlertFileOptions['onWriteError'];
  private readonly onWriteRecovered: AlertFileOptions['onWriteRecovered'];
  private readonly retryMs: number;
  private readonly maxUnwrittenBytes: number;
  /** Lines a failed write left, oldest first: they go out before any later line. */
  private unwritten: Buffer[] = [];
  private unwrittenBytes = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Whole lines per write(2), or none (a full disk). Streams are given this file's wait at each write. */
  private readonly appender = new LineAppender();
  /** The open file is a regular file (not a stream: see the top). */
  private regular = true;
  /** The rest of a line a stream took only part of: written before anything else, to this stream only. */
  private tail: Buffer | undefined;
  private streamWaitMs: number;
  /** write(2) calls that failed. */
  writeErrors = 0;
  /** Lines lost: past the bound of the waiting lines, or still unwritten at close(). */
  linesDropped = 0;
  /** errno of the failing writes since the last successful one, or undefined. */
  writeFailing: string | undefined;

  constructor(readonly file: string, opts: AlertFileOptions = {}) {
    const r = rotationSettings(opts);
    this.maxBytes = r.maxBytes;
    this.maxFiles = r.maxFiles;
    this.mode = opts.mode ?? 0o640;
    this.createWaitMs = opts.createWaitMs ?? CREATE_WAIT_MS;
    this.held = new WriteHold(holdMarkerFor(file), opts.hold);
    this.onReopenError = opts.onReopenError;
    this.onHoldTimeout = opts.onHoldTimeout;
    this.onWriteError = opts.onWriteError;
    this.onWriteRecovered = opts.onWriteRecovered;
    this.retryMs = opts.retryMs ?? WRITE_RETRY_MS;
    this.maxUnwrittenBytes = opts.maxUnwrittenBytes ?? UNWRITTEN_MAX_BYTES;
    this.streamWaitMs = opts.streamWaitMs ?? STREAM_WAIT_MS;
  }

  /** Lines waiting for a failed write to be retried (a line a stream took part of included). */
  get unwrittenLines(): number {
    return this.unwritten.length + (this.tail === undefined ? 0 : 1);
  }

  /** Opening the name has been failing since the last successful open (a metric). */
  get reopenFailing(): boolean {
    return this.failing;
  }

  /** Opens (creating with `mode`) the configured path; the file open before, if any, is closed. */
  open(): void {
    let next: AppendTarget;
    try {
      next = openAppend(this.file, this.mode);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new AlertFileError(`cannot open alerts file ${this.file}: ${e.code ?? e.message} `
        + '(fix: choose a writable path with --alerts-file, or create its directory with write access for the agent user)', e.code);
    }
    this.endTail();
    this.closeFd();
    ({ fd: this.fd, size: this.size, dev: this.dev, ino: this.ino, regular: this.regular } = next);
    this.failing = false;
  }

  /**
   * open() at start: a FIFO that no process reads yet is not an error: the alerts wait in memory
   * (told once through onWriteError, errno ENXIO) and go out once a reader has opened it.
   */
  openOrWait(): void {
    try {
      this.open();
    } catch (err) {
      if ((err as AlertFileError).code !== NO_READER) throw err;
      this.reportWriteError(NO_READER);
    }
  }

  /** Appends one alert as one line (queued while held), rotating first when it would pass maxBytes. */
  write(alert: object): void {
    this.writeMany([alert]);
  }

  /**
   * Appends alerts as lines, in order: as write() for each, but lines that fit in the active
   * file go out together, one name check and one write(2) for the lot (a burst of alerts, or
   * the end of a replay, costs one system call instead of three per alert). Lines stay whole.
   * `json`: the alerts' JSON texts, in order, when the caller has made them already.
   */
  writeMany(alerts: readonly object[], json: readonly string[] = alerts.map((a) => JSON.stringify(a))): void {
    const lines: Buffer[] = json.map((text) => Buffer.from(text + '\n', 'utf8'));
    if (this.held.active) {
      let i = 0;
      while (i < lines.length && this.held.offer(lines[i])) i++;
      if (i === lines.length) return;
      // Queue full: the queue, then the lines not taken, go out now through the name check, in order.
      lines.splice(0, i, ...this.held.drain());
    }
    this.writeLines(lines);
  }

  /**
   * logrotate's prerotate (SIGUSR2): from now on lines are queued until reopen() (postrotate's
   * SIGHUP) or the safety timeout; the marker beside the file tells prerotate we hold.
   */
  hold(): void {
    this.held.start(() => {
      try {
        this.resume();
      } catch {
        // Only a file closed and not openable again throws here; a timer must not crash the agent.
      }
      this.onHoldTimeout?.(this.file);
    });
  }

  /** Ends a hold: the queued lines go out in order (through the name check), the marker goes. */
  resume(): void {
    if (!this.held.active) return;
    try {
      this.writeLines(this.held.drain());
    } finally {
      this.held.end();
    }
  }

  /**
   * Writes lines in order, after those failed writes left: each run that fits under maxBytes
   * with one name check and one write(2). A failed write keeps its lines and the rest (see top).
   */
  private writeLines(fresh: readonly Buffer[]): void {
    let lines = fresh;
    const retried = this.unwrittenLines;
    if (this.unwritten.length > 0) {
      lines = this.takeUnwritten().concat(fresh);
    }
    if (this.tail !== undefined && !this.finishTail(lines)) return;
    for (let i = 0; i < lines.length;) {
      if (this.fd < 0) {
        try {
          this.open();
        } catch (err) {
          this.keep(lines, i);
          if ((err as AlertFileError).code !== NO_READER) throw err;
          this.reportWriteError(NO_READER);
          return;
        }
      }
      // A line longer than maxBytes still goes into a fresh file whole: lines are never split.
      if (this.regular && this.maxBytes > 0 && this.size > 0 && this.size + lines[i].length > this.maxBytes) this.rotate();
      // Last thing before the write: the window in which a rename can slip between our check and
      // our write (the lines then land in the renamed file) is this check and one call long.
      else this.followName();
      let end = i + 1;
      let bytes = lines[i].length;
      while (end < lines.length && (this.maxBytes <= 0 || this.size + bytes + lines[end].length <= this.maxBytes)) bytes += lines[end++].length;
      const chunk = end - i === 1 ? lines[i] : Buffer.concat(lines.slice(i, end), bytes);
      if (!this.regular) {
        const r = this.appender.writeStream(this.fd, chunk, this.streamWaitMs);
        if (r.error !== undefined) {
          this.streamFailed(r.error, lines, i, r.written);
          return;
        }
      } else {
        try {
          this.size += this.appender.append(this.fd, chunk);
        } catch (err) {
          this.failed(err, lines, i);
          return;
        }
      }
      this.lines += end - i;
      // A rename that fell between the check and the write leaves these lines at the end of the
      // renamed file, where a follower by name may already have stopped reading. It cannot be
      // told apart from a write just before the rename, so it is counted, not written twice.
      if (nameState(this.file, this.dev, this.ino) !== 'same') this.renameRaces += end - i;
      i = end;
    }
    if (this.writeFailing !== undefined) {
      this.writeFailing = undefined;
      this.onWriteRecovered?.(this.file, retried);
    }
  }

  /** A write of lines[i..] failed: keep them (in order, bounded) and retry later. */
  private failed(err: unknown, lines: readonly Buffer[], i: number): void {
    this.writeErrors += 1;
    this.keep(lines, i);
    const e = err as NodeJS.ErrnoException;
    this.reportWriteError(e.code ?? e.message);
  }

  /** Once per episode of failing writes (until one succeeds): the owner logs it. */
  private reportWriteError(code: string): void {
    if (this.writeFailing !== undefined) return;
    this.writeFailing = code;
    this.onWriteError?.(this.file, code);
  }

  /**
   * A stream took `written` bytes of the write of lines[i..] and failed: the lines it took whole
   * are written; the rest of the line it cut becomes the tail; the others wait.
   */
  private streamFailed(err: NodeJS.ErrnoException, lines: readonly Buffer[], i: number, written: number): void {
    let j = i;
    let took = 0;
    while (j < lines.length && took + lines[j].length <= written) took += lines[j++].length;
    this.lines += j - i;
    if (written > took) {
      this.tail = lines[j].subarray(written - took);
      j += 1;
    }
    this.failed(err, lines, j);
  }

  /** Before the stream is left for another file: one more try to finish its cut line, else that line is dropped (counted). */
  private endTail(): void {
    if (this.tail === undefined) return;
    if (this.appender.writeStream(this.fd, this.tail, this.streamWaitMs).error === undefined) this.lines += 1;
    else this.linesDropped += 1;
    this.tail = undefined;
  }

  /**
   * Writes the tail first. False when the stream still does not take it: `lines` then wait
   * behind it (the retry timer is armed).
   */
  private finishTail(lines: readonly Buffer[]): boolean {
    const tail = this.tail as Buffer;
    const r = this.appender.writeStream(this.fd, tail, this.streamWaitMs);
    if (r.error === undefined) {
      this.tail = undefined;
      this.lines += 1;
      return true;
    }
    this.tail = tail.subarray(r.written);
    this.failed(r.error, lines, 0);
    return false;
  }

  /** Queues lines[i..] behind the waiting ones, up to the bound (the rest is dropped, counted), and arms the retry. */
  private keep(lines: readonly Buffer[], i: number): void {
    for (let j = i; j < lines.length; j++) {
      if (this.unwrittenBytes + lines[j].length > this.maxUnwrittenBytes) {
        this.linesDropped += lines.length - j;
        break;
      }
      this.unwritten.push(lines[j]);
      this.unwrittenBytes += lines[j].length;
    }
    if (this.retryTimer === undefined && this.unwrittenLines > 0) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        // A hold writes them at its end; close() tries once more.
        if (!this.held.active) this.retry();
        else if (this.unwrittenLines > 0) this.keep([], 0);
      }, this.retryMs);
      // A stopping agent tries once more in close(); the timer must not keep it alive.
      this.retryTimer.unref();
    }
  }

  /** Writes the waiting lines now, if the file takes them (a failure keeps them and re-arms). */
  private retry(): void {
    try {
      this.writeLines([]);
    } catch {
      // The file could not be opened: the lines are still waiting; try again later.
      if (this.unwrittenLines > 0 && this.retryTimer === undefined) this.keep([], 0);
    }
  }

  /**
   * Reopens when the configured name no longer points at the open file. A missing name is
   * waited for (logrotate creates it with O_EXCL right after its rename, and taking the name
   * first would make it move our file aside); past the wait we create it ourselves.
   */
  private followName(): void {
    const check = nameMoved(this.file, this.dev, this.ino, this.createWaitMs);
    if (!check.moved) return;
    if (check.createdAfterWait) this.createdAfterWait += 1;
    try {
      this.open();
      this.renamesFollowed += 1;
    } catch (err) {
      // The alert still goes into the file we have (renamed, but on disk); the next write tries again.
      this.openFailed(err);
    }
  }

  private openFailed(err: unknown): void {
    this.reopenErrors += 1;
    if (this.failing) return;
    this.failing = true;
    this.onReopenError?.(this.file, (err as AlertFileError).code ?? (err as Error).message);
  }

  /**
   * Opens the configured path again (SIGHUP after logrotate) and ends a hold into it. If the
   * open fails, the file open before stays open, takes the queue, and the error is thrown.
   */
  reopen(): void {
    try {
      this.open();
    } catch (err) {
      this.openFailed(err);
      throw err;
    } finally {
      this.resume();
    }
  }

  /**
   * Writes what a hold queued and what failed writes left, then closes. Lines that still cannot
   * be written are dropped (counted); returns how many.
   */
  close(): number {
    // A stream's reader gets a last, longer wait (the end of `egresswatch replay ... | jq`).
    this.streamWaitMs = Math.max(this.streamWaitMs, CLOSE_STREAM_WAIT_MS);
    this.resume();
    if (this.unwrittenLines > 0) this.retry();
    const lost = this.takeUnwritten().length + (this.tail === undefined ? 0 : 1);
    this.tail = undefined;
    this.linesDropped += lost;
    this.closeFd();
    return lost;
  }

  /**
   * Takes the lines failed writes left (for the file that replaces this one); stops the retries.
   * The rest of a line a stream took part of stays: only this stream can finish it (close()).
   */
  takeUnwritten(): Buffer[] {
    const lines = this.unwritten;
    this.unwritten = [];
    this.unwrittenBytes = 0;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return lines;
  }

  /** Writes lines taken from another file's takeUnwritten(), before anything newer. */
  adopt(lines: readonly Buffer[]): void {
    if (lines.length === 0) return;
    this.keep(lines, 0);
    if (!this.held.active) this.retry();
  }

  private closeFd(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  /**
   * Shift the numbered files (ours still open: renaming an open file is fine on Linux), open
   * a new active file, close the old one. A failed rename (read-only directory, EXDEV) must
   * not cost the alert: we count it and go on with whatever file the name now points at,
   * growing past maxBytes until a later rotation succeeds.
   */
  private rotate(): void {
    try {
      shiftRotated(this.file, this.maxFiles);
      this.rotations += 1;
    } catch {
      this.rotationErrors += 1;
    }
    try {
      this.open();
    } catch {
      // The line goes to the file still open; the next write follows the name again.
      this.rotationErrors += 1;
    }
  }
}
