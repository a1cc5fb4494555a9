// The alerts file: JSON lines, mode 0640, each alert written with a single write(2) on an
// O_APPEND descriptor, so a tailer never sees half a line from us and concurrent appenders
// cannot interleave inside one. Writes are synchronous: alerts are rare (a handful a minute on
// a busy host) and a synchronous write means "emitted" only once the line is in the file.
//
// Rotation is built in (size-based, numbered files, see rotation.ts) and also works from the
// outside: after logrotate's default `create` mode renames the file, SIGHUP → reopen().
import fs from 'node:fs';
import path from 'node:path';
import { rotationSettings, shiftRotated, type RotationOptions } from './rotation.js';
import { makeDirs } from '../fs-dirs.js';

export class AlertFileError extends Error {
  override name = 'AlertFileError';
}

export interface AlertFileOptions extends RotationOptions {
  /** Permission bits of a file we create (default 0o640: the agent writes, group adm reads). */
  mode?: number;
}

export class AlertFile {
  private fd = -1;
  /** Bytes in the active file, from fstat at open plus what we appended since. */
  private size = 0;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly mode: number;
  /** Alerts written since construction (across rotations). */
  lines = 0;
  /** Built-in rotations done. */
  rotations = 0;
  /** Rotations that failed (the alert was still written, to the file that was open). */
  rotationErrors = 0;

  constructor(readonly file: string, opts: AlertFileOptions = {}) {
    const r = rotationSettings(opts);
    this.maxBytes = r.maxBytes;
    this.maxFiles = r.maxFiles;
    this.mode = opts.mode ?? 0o640;
  }

  open(): void {
    try {
      makeDirs(path.dirname(this.file));
      const existed = fs.existsSync(this.file);
      this.fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, this.mode);
      // open(2) applies the umask; a file we create gets exactly `mode` whatever the service's
      // umask (a 077 umask would otherwise hide alerts from the adm group). A file that was
      // there already keeps the mode its owner (or logrotate's `create`) gave it.
      if (!existed) fs.fchmodSync(this.fd, this.mode);
      this.size = fs.fstatSync(this.fd).size;
    } catch (err) {
      this.close();
      const e = err as NodeJS.ErrnoException;
      throw new AlertFileError(`cannot open alerts file ${this.file}: ${e.code ?? e.message} `
        + '(fix: choose a writable path with --alerts-file, or create its directory with write access for the agent user)');
    }
  }

  /** Appends one alert as one line, rotating first when the line would pass maxBytes. */
  write(alert: object): void {
    if (this.fd < 0) this.open();
    const line = Buffer.from(JSON.stringify(alert) + '\n', 'utf8');
    // A line longer than maxBytes still goes into a fresh file whole: lines are never split.
    if (this.maxBytes > 0 && this.size > 0 && this.size + line.length > this.maxBytes) this.rotate();
    let off = 0;
    while (off < line.length) off += fs.writeSync(this.fd, line, off, line.length - off);
    this.size += line.length;
    this.lines += 1;
  }

  /** Closes and opens the file again (after logrotate moved it away; SIGHUP). */
  reopen(): void {
    this.close();
    this.open();
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  /**
   * Close, shift the numbered files, open a new active file. A failed rename (read-only
   * directory, EXDEV) must not cost the alert: we count it and go on with whatever file the
   * name now points at, growing past maxBytes until a later rotation succeeds.
   */
  private rotate(): void {
    this.close();
    try {
      shiftRotated(this.file, this.maxFiles);
      this.rotations += 1;
    } catch {
      this.rotationErrors += 1;
    }
    this.open();
  }
}
