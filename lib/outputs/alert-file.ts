// The alerts file: JSON lines, mode 0640, each alert written with a single write(2) on an
// O_APPEND descriptor, so a tailer never sees half a line from us and concurrent appenders
// cannot interleave inside one. Writes are synchronous: alerts are rare (a handful a minute on
// a busy host) and a synchronous write means "emitted" only once the line is in the file.
import fs from 'node:fs';
import path from 'node:path';

export class AlertFileError extends Error {
  override name = 'AlertFileError';
}

export class AlertFile {
  private fd = -1;
  lines = 0;

  constructor(readonly file: string) {}

  open(): void {
    try {
      makeDirs(path.dirname(this.file));
      this.fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o640);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new AlertFileError(`cannot open alerts file ${this.file}: ${e.code ?? e.message} `
        + '(fix: choose a writable path with --alerts-file, or create its directory with write access for the agent user)');
    }
  }

  /** Appends one alert as one line. */
  write(alert: object): void {
    if (this.fd < 0) this.open();
    const line = Buffer.from(JSON.stringify(alert) + '\n', 'utf8');
    let off = 0;
    while (off < line.length) off += fs.writeSync(this.fd, line, off, line.length - off);
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
}

/**
 * mkdir -p, one level at a time: Node 20's recursive mkdirSync never returns for a missing
 * path under /proc (seen with --alerts-file /proc/nope/a.json), so we walk it ourselves.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of missing) fs.mkdirSync(d, { mode: 0o750 });
}
