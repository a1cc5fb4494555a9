// Fixed fields of a DNS message (RFC 1035 §4.1) read from the capture buffer with absolute
// offsets: the message is buf[base, end), and compression pointers count from `base`.
// Readers return the next offset or a negative status from names.ts (no exceptions on the
// packet path: a malformed message is an ordinary, counted outcome).
import { E_BAD_LABEL, E_TOO_LONG, E_TRUNCATED } from './names.js';

/** Offset after a name, without reading it (sections we only count), or a negative status. */
export function skipName(buf: Buffer, off: number, end: number): number {
  // A name is at most 255 bytes (RFC 1035 §2.3.4), so 128 labels bound the loop.
  for (let labels = 0; labels < 128; labels++) {
    if (off >= end) return E_TRUNCATED;
    const len = buf[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 > end ? E_TRUNCATED : off + 2;
    if ((len & 0xc0) !== 0) return E_BAD_LABEL;
    off += 1 + len;
  }
  return E_TOO_LONG;
}

/** Fixed part of a resource record after its owner name (RFC 1035 §4.1.3). */
export interface RecordHeader {
  type: number;
  klass: number;
  ttl: number;
  rdStart: number;
  rdLength: number;
}

/**
 * Reads TYPE, CLASS, TTL, RDLENGTH at `off` into `out`; returns the offset after RDATA, or
 * E_TRUNCATED when the fixed part or RDATA does not fit before `end`.
 */
export function readRecordHeader(buf: Buffer, off: number, end: number, out: RecordHeader): number {
  if (off + 10 > end) return E_TRUNCATED;
  out.type = (buf[off] << 8) | buf[off + 1];
  out.klass = (buf[off + 2] << 8) | buf[off + 3];
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  const top = buf[off + 4];
  out.ttl = top > 0x7f ? 0 : top * 0x1000000 + ((buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]);
  out.rdLength = (buf[off + 8] << 8) | buf[off + 9];
  out.rdStart = off + 10;
  const next = out.rdStart + out.rdLength;
  return next > end ? E_TRUNCATED : next;
}

export { u16 } from '../decode/bytes.js';
