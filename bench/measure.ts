// Timing and reporting helpers for bench/run.ts: medians, number formatting, the table, and the
// capture walked in memory.
import { PAUSE_CHECK_EVERY } from '../lib/capture/index.js';
import type { CaptureReader } from '../lib/pipeline/index.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMiB(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}

/** Fixed-width text table: first column left-aligned, the rest right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd())
    .join('\n');
}

/**
 * Walks the records of a classic little-endian microsecond pcap held in memory; `fn` returning
 * true stops the walk after that record. Returns the records walked.
 */
export function forEachRecord(file: Buffer, fn: (frame: Buffer, caplen: number, tsMs: number, wireLen: number) => boolean | void): number {
  let off = 24;
  let n = 0;
  while (off + 16 <= file.length) {
    const caplen = file.readUInt32LE(off + 8);
    const start = off + 16;
    if (start + caplen > file.length) break;
    const tsMs = file.readUInt32LE(off) * 1000 + file.readUInt32LE(off + 4) / 1000;
    n++;
    // A view, not a copy: decoders read from offset 0 of the buffer they are given.
    if (fn(file.subarray(start, start + caplen), caplen, tsMs, file.readUInt32LE(off + 12)) === true) break;
    off = start + caplen;
  }
  return n;
}

/**
 * A reader for runReplay of one capture already in memory (`data`, read from `file`): the
 * records as forEachRecord walks them, with replayFile's skip and pause, and no libpcap. What
 * the pipeline costs on its own is the replay through it less the walk (micro's first step).
 */
export function memoryReader(file: string, data: Buffer): CaptureReader {
  const linkType = data.readUInt32LE(20);
  return (path, onPacket, opts = {}) => {
    if (path !== file) throw new Error(`memoryReader holds ${file}, asked for ${path}`);
    const skip = opts.skip ?? 0;
    let paused = false;
    let n = 0;
    const packets = forEachRecord(data, (frame, caplen, tsMs, wireLen) => {
      if (++n <= skip) return false;
      onPacket(frame, caplen, wireLen, tsMs, linkType);
      paused = opts.shouldPause !== undefined && (n - skip) % PAUSE_CHECK_EVERY === 0 && opts.shouldPause();
      return paused;
    });
    return { packets, linkType, readError: false, ...(paused ? { paused } : {}) };
  };
}
