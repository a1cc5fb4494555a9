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
 * Walks the records of a classic little-endian microsecond pcap held in memory, from the record
 * at byte `from` (the first by default), handing each over where it lies: its frame is
 * file[at, at + caplen). `fn` returning true stops the walk after that record. Returns the
 * records walked and the byte offset of the next one.
 */
export function forEachRecord(file: Buffer, fn: (file: Buffer, at: number, caplen: number, tsMs: number, wireLen: number) => boolean | void, from = 24): { records: number; next: number } {
  let off = from;
  let n = 0;
  while (off + 16 <= file.length) {
    const caplen = file.readUInt32LE(off + 8);
    const start = off + 16;
    if (start + caplen > file.length) break;
    const tsMs = file.readUInt32LE(off) * 1000 + file.readUInt32LE(off + 4) / 1000;
    n++;
    const stop = fn(file, start, caplen, tsMs, file.readUInt32LE(off + 12)) === true;
    off = start + caplen;
    if (stop) break;
  }
  return { records: n, next: off };
}

/**
 * A reader for runReplay of one capture already in memory (`data`, read from `file`): the
 * records as forEachRecord walks them, with replayFile's skip, offset and pause, and no
 * libpcap, as lib/capture/pcap-file.ts hands them over (where they lie in its buffer). What the
 * pipeline costs on its own is the replay through it less the walk (micro's first step).
 */
export function memoryReader(file: string, data: Buffer): CaptureReader {
  const linkType = data.readUInt32LE(20);
  return (path, onPacket, opts = {}) => {
    if (path !== file) throw new Error(`memoryReader holds ${file}, asked for ${path}`);
    const skip = opts.skip ?? 0;
    const resume = skip > 0 && opts.offset !== undefined;
    let paused = false;
    let n = resume ? skip : 0;
    const walk = forEachRecord(data, (buf, at, caplen, tsMs, wireLen) => {
      if (++n <= skip) return false;
      onPacket(buf, caplen, wireLen, tsMs, linkType, undefined, at);
      paused = opts.shouldPause !== undefined && (n - skip) % PAUSE_CHECK_EVERY === 0 && opts.shouldPause();
      return paused;
    }, resume ? opts.offset : 24);
    const packets = resume ? skip + walk.records : walk.records;
    return { packets, linkType, readError: false, ...(paused ? { paused, offset: walk.next } : {}) };
  };
}
