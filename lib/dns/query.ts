// DNS queries (QR=0, OPCODE 0) read far enough to match the answer to them later: the
// transaction id and the first question (RFC 1035 §4.1.1, §4.1.2). Queries are what a client
// on this host sends to port 53; QueryTracker (query-tracker.ts) keeps them so that only
// answers somebody asked for feed the name cache.
import { NameTable } from './names.js';
import { u16 } from './wire.js';

/** What the packet path keeps of a query: no text. */
export interface DnsQueryHead {
  id: number;
  /** First question's QTYPE. */
  type: number;
  /** NameTable.hash of the first question's name (0 for the root): what answers are matched by. */
  nameHash: number;
}

export interface DnsQueryInfo extends DnsQueryHead {
  /** First question's name: lower-case, no trailing dot ("" for the root). */
  name: string;
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
  const head: DnsQueryHead = { id: 0, type: 0, nameHash: 0 };
  const id = readQuestion(buf, offset, length, head);
  return id < 0 ? null : { ...head, name: names.string(id) };
}

/**
 * parseDnsQuery without the name's text, into `out` (the packet path reuses one): true when
 * `out` holds the query, false for what parseDnsQuery returns null for.
 */
export function readDnsQuery(buf: Buffer, offset: number, length: number, out: DnsQueryHead): boolean {
  return readQuestion(buf, offset, length, out) >= 0;
}

/** Fills `out`; returns the question name's id in the module's table, or -1. */
function readQuestion(buf: Buffer, offset: number, length: number, out: DnsQueryHead): number {
  const end = Math.min(buf.length, offset + Math.max(0, length));
  if (!(offset >= 0) || end - offset < 12) return -1;
  const flags = u16(buf, offset + 2);
  // QR (0x8000) clear and OPCODE (bits 11-14) 0: a standard query.
  if ((flags & 0xf800) !== 0) return -1;
  if (u16(buf, offset + 4) === 0) return -1;
  names.reset();
  let next: number;
  try {
    next = names.read(buf, offset, offset + 12, end);
  } catch {
    // The reader is bounds-checked; only its non-ASCII path calls into dns-packet, which
    // throws on what it rejects. A query we cannot read is simply not tracked.
    return -1;
  }
  if (next < 0 || next + 4 > end) return -1;
  const id = names.add();
  out.id = u16(buf, offset);
  out.type = u16(buf, next);
  out.nameHash = names.hash(id);
  return id;
}
