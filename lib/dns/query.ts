// DNS queries (QR=0, OPCODE 0) read far enough to match the answer to them later: the
// transaction id and the first question (RFC 1035 §4.1.1, §4.1.2). Queries are what a client
// on this host sends to port 53; QueryTracker (query-tracker.ts) keeps them so that only
// answers somebody asked for feed the name cache.
import { NameTable } from './names.js';
import { u16 } from './wire.js';

export interface DnsQueryInfo {
  id: number;
  /** First question's name: lower-case, no trailing dot ("" for the root). */
  name: string;
  /** First question's QTYPE. */
  type: number;
}

// One reused name arena for the module, as parse.ts has: parsing is synchronous, never
// re-entered, and reset() before every message, so nothing carries over between calls and
// the 8 KB arena is not allocated per query.
const names = new NameTable();

/**
 * Header and first question of the standard query at buf[offset, offset + length). Returns
 * null for a response (QR=1), another opcode (NOTIFY, UPDATE, ...), no question, or a
 * malformed header / name (truncated, bad pointer or label, too long). Never throws.
 */
export function parseDnsQuery(buf: Buffer, offset: number, length: number): DnsQueryInfo | null {
  const end = Math.min(buf.length, offset + Math.max(0, length));
  if (!(offset >= 0) || end - offset < 12) return null;
  const flags = u16(buf, offset + 2);
  // QR (0x8000) clear and OPCODE (bits 11-14) 0: a standard query.
  if ((flags & 0xf800) !== 0) return null;
  if (u16(buf, offset + 4) === 0) return null;
  names.reset();
  let next: number;
  try {
    next = names.read(buf, offset, offset + 12, end);
  } catch {
    // The reader is bounds-checked; only its non-ASCII path calls into dns-packet, which
    // throws on what it rejects. A query we cannot read is simply not tracked.
    return null;
  }
  if (next < 0 || next + 4 > end) return null;
  const name = names.string(names.add());
  return { id: u16(buf, offset), name, type: u16(buf, next) };
}
