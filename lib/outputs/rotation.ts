// Size-based rotation of the alerts file, numbered like logrotate's default (no dateext):
// alerts.json.1 is the newest rotated file, alerts.json.N the oldest kept. The active file keeps
// its name, so `tail -F alerts.json` and log shippers that follow by name keep working, and a
// logrotate config written for the same file finds the same layout.
import fs from 'node:fs';

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
