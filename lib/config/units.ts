// Durations and sizes as operators write them: "30s", "24h", "90d"; "64M", "1G", "4096k".
import { invalidValue } from './error.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
export const DURATION_FIX = 'expected a duration like 30s, 10m, 24h, 90d';

/**
 * Milliseconds from "500ms", "30s", "1.5h", "90d", or a bare "0". One unit per value;
 * lowercase only, because "m" (minutes) and "M" would otherwise be confusable. Throws
 * ConfigError naming `setting` (a flag, env var or "key in FILE").
 */
export function parseDuration(text: string, setting: string): number {
  const t = String(text).trim();
  if (t === '0') return 0;
  const m = DURATION_RE.exec(t);
  const ms = m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2]]) : NaN;
  if (!Number.isSafeInteger(ms)) throw invalidValue(setting, text, DURATION_FIX);
  return ms;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i;
export const SIZE_FIX = 'expected a size like 32M, 1G, 4096k or a number of bytes (K/M/G are powers of 1024)';

/**
 * Bytes from "32MiB", "64M", "1G", "4096k", "4096KB", "1048576". K, M, G and T are powers of
 * 1024, as for tcpdump -B and the kernel's socket buffers; the case of the unit is ignored.
 */
export function parseSize(text: string, setting: string): number {
  const t = String(text).trim();
  const m = SIZE_RE.exec(t);
  const bytes = m ? Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]) : NaN;
  if (!Number.isSafeInteger(bytes)) throw invalidValue(setting, text, SIZE_FIX);
  return bytes;
}

/** The largest unit that expresses `ms` exactly: 300000 → "5m", 7776000000 → "90d"; a single
 *  day reads as "24h", the way operators say it. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const unit of ['d', 'h', 'm', 's']) {
    const n = ms / DURATION_UNITS[unit];
    if (Number.isInteger(n) && (unit !== 'd' || n >= 2)) return `${n}${unit}`;
  }
  return `${ms}ms`;
}

/** The largest binary unit that expresses `bytes` exactly: 33554432 → "32MiB". */
export function formatSize(bytes: number): string {
  for (const [unit, name] of [['g', 'GiB'], ['m', 'MiB'], ['k', 'KiB']]) {
    if (bytes !== 0 && bytes % SIZE_UNITS[unit] === 0) return `${bytes / SIZE_UNITS[unit]}${name}`;
  }
  return `${bytes}`;
}
