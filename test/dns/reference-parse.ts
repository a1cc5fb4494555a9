// The dns stage's parser as it was before the hand-written name reader (dns-packet's name
// codec, Maps and per-record objects), kept verbatim as the reference the fast parser is
// checked against, message by message, in parse-diff.test.ts.
import dnsPacket from 'dns-packet';
import { addressToString } from '../../lib/decode/index.js';
import { DnsStats, textNameHash } from '../../lib/dns/index.js';
import type { DnsResponseInfo } from '../../lib/dns/index.js';

/** A wire-format problem; `kind` is the malformed-counter key. Never escapes the stage. */
class DnsWireError extends Error {
  constructor(readonly kind: string) {
    super(kind);
  }
}

// dns-packet exports its name codec (`exports.name` in its index.js) but @types/dns-packet
// does not declare it. It rejects forward and self pointers (so no pointer loops), names
// over 254 bytes, reserved label types, and reads past the end of the buffer it is given.
interface NameDecode {
  (buf: Buffer, offset: number): string;
  bytes: number;
}
const nameDecode = (dnsPacket as unknown as { name: { decode: NameDecode } }).name.decode;

/** Maps dns-packet's error texts and Buffer RangeErrors to counter kinds. */
function errorKind(err: unknown): string {
  if (err instanceof DnsWireError) return err.kind;
  const msg = err instanceof Error ? err.message : '';
  if (msg.includes('bad pointer')) return 'name-bad-pointer';
  if (msg.includes('bad label')) return 'name-bad-label';
  if (msg.includes('too long')) return 'name-too-long';
  if (msg.includes('overflow')) return 'truncated';
  return 'truncated';
}

/** Decoded name (lower-case, no trailing dot; root is ""); `pos.next` gets the offset after it. */
function readName(msg: Buffer, off: number, pos: { next: number }): string {
  const raw = nameDecode(msg, off);
  pos.next = off + nameDecode.bytes;
  return normaliseName(raw);
}

/** DNS names compare case-insensitively (RFC 4343); we keep them lower-case, no final dot. */
function normaliseName(raw: string): string {
  if (raw === '.') return '';
  const s = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  return s.toLowerCase();
}

/** Offset after a name, without building it (sections we only count). */
function skipName(msg: Buffer, off: number): number {
  // A name is at most 255 bytes (RFC 1035 §2.3.4), so 128 labels bound the loop.
  for (let labels = 0; labels < 128; labels++) {
    if (off >= msg.length) throw new DnsWireError('truncated');
    const len = msg[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > msg.length) throw new DnsWireError('truncated');
      return off + 2;
    }
    if ((len & 0xc0) !== 0) throw new DnsWireError('name-bad-label');
    off += 1 + len;
  }
  throw new DnsWireError('name-too-long');
}

/** Throws `truncated` unless `n` bytes are available at `off`. */
function need(msg: Buffer, off: number, n: number): void {
  if (off + n > msg.length) throw new DnsWireError('truncated');
}

/** Fixed part of a resource record after its owner name (RFC 1035 §4.1.3). */
interface RecordHeader {
  type: number;
  klass: number;
  ttl: number;
  rdStart: number;
  rdLength: number;
}

/** Reads TYPE, CLASS, TTL, RDLENGTH at `off` into `out` and checks RDATA fits. */
function readRecordHeader(msg: Buffer, off: number, out: RecordHeader): void {
  need(msg, off, 10);
  out.type = msg.readUInt16BE(off);
  out.klass = msg.readUInt16BE(off + 2);
  const ttl = msg.readUInt32BE(off + 4);
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  out.ttl = ttl > 0x7fffffff ? 0 : ttl;
  out.rdLength = msg.readUInt16BE(off + 8);
  out.rdStart = off + 10;
  need(msg, out.rdStart, out.rdLength);
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
/** Longest CNAME chain followed; resolvers stop around 8-16 (BIND: 16). */
const MAX_CNAME_CHAIN = 16;

interface AnswerRecord {
  owner: string;
  type: number;
  ttl: number;
  /** Address text for A/AAAA, target name for CNAME. */
  value: string;
}

/**
 * Parses the DNS message at buf[offset, offset + length). Returns null when it is not a
 * standard-query response or when the header or question section is malformed; both are
 * counted in `stats`. A malformed answer section keeps the answers before the bad record
 * (counted as `answers-<kind>`). Never throws on wire input.
 */
export function referenceParse(buf: Buffer, offset: number, length: number, stats: DnsStats): DnsResponseInfo | null {
  const end = Math.min(buf.length, offset + Math.max(0, length));
  if (offset < 0 || end - offset < 12) {
    stats.countMalformed('short-header');
    return null;
  }
  const msg = buf.subarray(offset, end);
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0) {
    stats.queries++;
    stats.notResponse++;
    return null;
  }
  if (((flags >> 11) & 0xf) !== 0) {
    stats.notResponse++;
    return null;
  }
  const info: DnsResponseInfo = { id: msg.readUInt16BE(0), queryName: '', queryType: 0, queryHash: 0, rcode: flags & 0xf, answers: [], cnames: 0 };
  const records: AnswerRecord[] = [];
  let next: number;
  try {
    next = readQuestions(msg, msg.readUInt16BE(4), info);
  } catch (err) {
    stats.countMalformed(errorKind(err));
    return null;
  }
  try {
    next = readAnswers(msg, next, msg.readUInt16BE(6), records, stats);
    countTrailing(msg, next, msg.readUInt16BE(8) + msg.readUInt16BE(10), stats);
  } catch (err) {
    // The records before the bad one are whole and bounds-checked: keep them, as tshark and
    // Zeek do (a snaplen-cut capture still names the first addresses).
    stats.countMalformed(`answers-${errorKind(err)}`);
  }
  stats.responses++;
  let start = info.queryName;
  if (msg.readUInt16BE(4) === 0) {
    // No question (allowed for some opcodes, seen in unsolicited answers): start the chain
    // at the first answer's owner.
    stats.noQuestion++;
    start = records.length > 0 ? records[0].owner : '';
  }
  resolveChain(start, records, info, stats);
  stats.answers += info.answers.length;
  return info;
}

function readQuestions(msg: Buffer, count: number, info: DnsResponseInfo): number {
  const pos = { next: 12 };
  let off = 12;
  for (let i = 0; i < count; i++) {
    const name = readName(msg, off, pos);
    need(msg, pos.next, 4);
    if (i === 0) {
      info.queryName = name;
      info.queryHash = textNameHash(name);
      info.queryType = msg.readUInt16BE(pos.next);
    }
    off = pos.next + 4;
  }
  return off;
}

function readAnswers(msg: Buffer, off: number, count: number, records: AnswerRecord[], stats: DnsStats): number {
  const pos = { next: 0 };
  const rr: RecordHeader = { type: 0, klass: 0, ttl: 0, rdStart: 0, rdLength: 0 };
  for (let i = 0; i < count; i++) {
    const owner = readName(msg, off, pos);
    readRecordHeader(msg, pos.next, rr);
    off = rr.rdStart + rr.rdLength;
    // mDNS sets the top bit of CLASS (cache flush, RFC 6762 §10.2); mask it.
    if ((rr.klass & 0x7fff) !== CLASS_IN) continue;
    const value = recordValue(msg, rr, pos, stats);
    if (value !== undefined) records.push({ owner, type: rr.type, ttl: rr.ttl, value });
  }
  return off;
}

/** Address text or CNAME target, undefined for other types or a bad RDLENGTH (counted). */
function recordValue(msg: Buffer, rr: RecordHeader, pos: { next: number }, stats: DnsStats): string | undefined {
  if (rr.type === TYPE_A || rr.type === TYPE_AAAA) {
    const want = rr.type === TYPE_A ? 4 : 16;
    if (rr.rdLength !== want) {
      stats.countMalformed('bad-rdlength');
      return undefined;
    }
    return addressToString(msg, rr.rdStart, want === 4 ? 4 : 6);
  }
  if (rr.type !== TYPE_CNAME) return undefined;
  // The target may point anywhere earlier in the message but its own bytes must stay
  // inside RDATA; a mismatch means the record is not what it claims (skip it, keep going).
  const target = readName(msg.subarray(0, rr.rdStart + rr.rdLength), rr.rdStart, pos);
  if (pos.next !== rr.rdStart + rr.rdLength) {
    stats.countMalformed('bad-rdlength');
    return undefined;
  }
  return target;
}

/** Walks the authority and additional sections only to count addresses that we ignore. */
function countTrailing(msg: Buffer, off: number, count: number, stats: DnsStats): void {
  const rr: RecordHeader = { type: 0, klass: 0, ttl: 0, rdStart: 0, rdLength: 0 };
  try {
    for (let i = 0; i < count; i++) {
      readRecordHeader(msg, skipName(msg, off), rr);
      off = rr.rdStart + rr.rdLength;
      if (rr.type === TYPE_A || rr.type === TYPE_AAAA) stats.offChainAddresses++;
    }
  } catch (err) {
    stats.countMalformed(`trailing-${errorKind(err)}`);
  }
}

/** Follows CNAMEs from `start` (records in any order) and keeps addresses on the chain. */
function resolveChain(start: string, records: AnswerRecord[], info: DnsResponseInfo, stats: DnsStats): void {
  const cnameOf = new Map<string, string>();
  for (const r of records) {
    if (r.type !== TYPE_CNAME) continue;
    info.cnames++;
    // RFC 2181 §10.1: one CNAME per owner; with several, the first one counts.
    if (!cnameOf.has(r.owner)) cnameOf.set(r.owner, r.value);
  }
  const chain = [start];
  const index = new Map<string, number>([[start, 0]]);
  for (let target = cnameOf.get(start); target !== undefined; target = cnameOf.get(target)) {
    if (index.has(target)) {
      stats.cnameLoops++;
      break;
    }
    if (chain.length > MAX_CNAME_CHAIN) {
      stats.cnameTooLong++;
      break;
    }
    index.set(target, chain.length);
    chain.push(target);
  }
  const prefixes: string[][] = [];
  for (const r of records) {
    if (r.type === TYPE_CNAME) continue;
    const at = index.get(r.owner);
    if (at === undefined) {
      stats.offChainAddresses++;
      continue;
    }
    prefixes[at] ??= at === chain.length - 1 ? chain : chain.slice(0, at + 1);
    info.answers.push({ ip: r.value, ttl: r.ttl, chain: prefixes[at] });
  }
}
