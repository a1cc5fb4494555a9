// The agent's logger: JSON lines for machines (journald, container logs), plain text when a
// person is watching a terminal. Created per process by the CLI and passed down; no global.
import type { Writable } from 'node:stream';
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
export function logStreamFor(config: { stdout: boolean; statsJson: boolean }): Writable & { isTTY?: boolean } {
  return config.stdout || config.statsJson ? process.stderr : process.stdout;
}
