// The agent's logger: JSON lines for machines (journald, container logs), plain text when a
// person is watching a terminal. Created per process by the CLI and passed down; no global.
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { ConfigError } from './error.js';
import { CREATE_WAIT_MS, LineAppender, WriteHold, holdMarkerFor, nameMoved, openAppend, type AppendTarget, type HoldOptions } from '../outputs/rotation.js';
import winston from 'winston';
import type { LogLevel } from './types.js';

export interface LoggerOptions {
  /** Default process.stdout. The CLI passes stderr when stdout carries alerts or stats. */
  stream?: Writable & { isTTY?: boolean };
  /** Force text (true) or JSON (false); default: text when the stream is a TTY. */
  text?: boolean;
}

export function createLogger(level: LogLevel, options: LoggerOptions = {}): winston.Logger {
  const stream = options.stream ?? process.stdout;
  const text = options.text ?? stream.isTTY === true;
  const format = text
    ? winston.format.combine(
        winston.format.errors({ stack: true }),
        winston.format.timestamp(),
        winston.format.printf(({ timestamp, level: lvl, message, stack, ...meta }) => {
          const extra = Object.keys(meta).length > 0 ? ' ' + JSON.stringify(meta) : '';
          const trace = level === 'debug' && typeof stack === 'string' ? '\n' + stack : '';
          return `${String(timestamp)} ${lvl} ${String(message)}${extra}${trace}`;
        }),
      )
    : winston.format.combine(winston.format.errors({ stack: true }), winston.format.timestamp(), winston.format.json());
  return winston.createLogger({ level, format, transports: [new winston.transports.Stream({ stream })] });
}

/**
 * The agent's own log file (--log-file), appended one record per write(2) (winston hands us
 * whole lines), 0640 like the alerts. It follows its name like the alerts file does: logrotate's
 * `create` mode renames it and creates a new one, and the next record goes to the new file
 * (SIGHUP → reopen() as well, for setups that expect it). Like the alerts file it can hold its
 * writes across logrotate's renames (SIGUSR2 → hold(), SIGHUP → reopen() writes the queue), so
 * no record lands in a file a follower has left. Writes are synchronous: the log is a few lines a
 * minute at info, and a record written before a crash is on disk.
 */
export class LogFile extends Writable {
  private target: AppendTarget;
  private readonly appender = new LineAppender();
  /** Records that could not be written (disk full…): counted, never thrown at the logger. */
  writeErrors = 0;
  /** Renames or removals of the name followed before a write. */
  renamesFollowed = 0;
  /** Failed opens of the name after a rename (the record went to the file open before). */
  reopenErrors = 0;
  /** Records held for logrotate (see WriteHold); marker `.agent.log.held` beside the file. */
  readonly held: WriteHold;
  /**
   * Told once per failure episode (first failed open of the name until one succeeds), with the
   * errno code. Set by the CLI once its logger exists; it logs through us, into the old file.
   */
  onReopenError?: (file: string, code: string) => void;
  private failing = false;

  /** Opens (creating) `file`; throws the system error, which logStreamFor turns into a ConfigError. */
  constructor(readonly file: string, private readonly createWaitMs = CREATE_WAIT_MS, hold: HoldOptions = {}) {
    super();
    this.target = openAppend(file, 0o640);
    this.held = new WriteHold(holdMarkerFor(file), hold);
  }

  /** Opening the name has been failing since the last successful open. */
  get reopenFailing(): boolean {
    return this.failing;
  }

  /**
   * Opens the name again (SIGHUP) and writes what a hold queued. On failure the open file stays
   * in use (and takes the queue) and the error is thrown.
   */
  reopen(): void {
    try {
      this.openName();
    } finally {
      this.resume();
    }
  }

  /** Queue records until reopen() or the safety timeout (`onTimeout` runs after the queue is written). */
  hold(onTimeout?: () => void): void {
    this.held.start(() => {
      this.resume();
      onTimeout?.();
    });
  }

  /** Ends a hold: queued records are written in order (following the name), the marker removed. */
  resume(): void {
    if (!this.held.active) return;
    for (const c of this.held.drain()) this.append(c);
    this.held.end();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.held.active) {
      if (this.held.offer(chunk)) return done();
      for (const c of this.held.drain()) this.append(c);
    }
    this.append(chunk);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.resume();
    fs.close(this.target.fd, () => done(err));
  }

  private openName(): void {
    let next: AppendTarget;
    try {
      next = openAppend(this.file, 0o640);
    } catch (e) {
      this.reopenErrors += 1;
      if (!this.failing) {
        this.failing = true;
        this.onReopenError?.(this.file, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
      }
      throw e;
    }
    fs.closeSync(this.target.fd);
    this.target = next;
    this.failing = false;
  }

  /** One record: follow the name if it moved (else keep the file we have), then one write(2). */
  private append(chunk: Buffer): void {
    try {
      if (nameMoved(this.file, this.target.dev, this.target.ino, this.createWaitMs).moved) {
        this.openName();
        this.renamesFollowed += 1;
      }
    } catch {
      // Cannot open the new name: keep writing to the file we have (counted, told once).
    }
    try {
      // A full disk drops the record (counted), never half of it.
      this.appender.append(this.target.fd, chunk, this.target.regular);
    } catch {
      this.writeErrors += 1;
    }
  }
}

/**
 * Where logs go: a LogFile with --log-file; else stdout, or stderr when stdout is reserved for
 * data (--stdout alerts or replay --stats-json), so `egresswatch run --stdout | jq` sees only alerts.
 */
export function logStreamFor(config: { stdout: boolean; statsJson: boolean; logFile?: string }): Writable & { isTTY?: boolean } {
  if (config.logFile) {
    // Opened synchronously so a bad path fails at start with the setting's name.
    try {
      return new LogFile(config.logFile);
    } catch (err) {
      throw new ConfigError(`cannot open --log-file ${config.logFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        'logFile', 'choose a writable path, or leave --log-file unset to log to standard output');
    }
  }
  return config.stdout || config.statsJson ? process.stderr : process.stdout;
}

/** --log-format: text or JSON forced, or (auto) text only on a terminal. */
export function logTextFor(config: { logFormat: 'auto' | 'json' | 'text' }): boolean | undefined {
  return config.logFormat === 'auto' ? undefined : config.logFormat === 'text';
}
