// The agent's logger: JSON lines for machines (journald, container logs), plain text when a
// person is watching a terminal. Created per process by the CLI and passed down; no global.
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError } from './error.js';
import { makeDirs } from '../fs-dirs.js';
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
 * Where logs go: stdout normally, stderr when stdout is reserved for data (--stdout alerts
 * or replay --stats-json), so `egresswatch run --stdout | jq` sees only alerts.
 */
export function logStreamFor(config: { stdout: boolean; statsJson: boolean; logFile?: string }): Writable & { isTTY?: boolean } {
  if (config.logFile) {
    // Appended, 0640 like the alerts; created with its directory. Opened synchronously so a
    // bad path fails at start with the setting's name.
    try {
      makeDirs(path.dirname(config.logFile));
      const fd = fs.openSync(config.logFile, 'a', 0o640);
      return fs.createWriteStream('', { fd });
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
