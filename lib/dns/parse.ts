// DNS response parsing for the name cache: the question, and every A/AAAA answer reachable
// from the question name through the CNAME chain.
//
// Why a record walker around dns-packet's name codec rather than dnsPacket.decode():
// - dnsPacket.decode ignores RDLENGTH for the types it knows: an A record with RDLENGTH 8
//   shifts every later record, and an A record cut short at the end of the buffer decodes
//   as "1.2.undefined.undefined" without an error;
// - it decodes every record of every section (RRSIG, SVCB, OPT options, ...) and throws on
//   any of them, so a corrupt EDNS option or additional record loses the answers; the
//   authority and additional sections are only counted here (corruption there counts as
//   `trailing-<kind>` and the response is kept, as Zeek and tshark keep it), and an answer
//   section cut short keeps the records before the cut (`answers-<kind>`);
// - it formats AAAA without RFC 5952's longest-zero-run rule ("2001:db8:0:0:1:0:0:0" comes
//   out as "2001:db8::1:0:0:0"); the cache is keyed by address text and looked up with the
//   text the decode stage makes for flows, so both use decode's addressToString.
// Names, the fiddly part (compression, backward-only pointers, length limits), still go
// through dns-packet. Every RDATA is bounded by its RDLENGTH; records of other classes than
// IN (cache-flush bit masked) and other types are skipped by RDLENGTH.
import { DnsStats } from './stats.js';
import { addressToString } from '../decode/index.js';
import { errorKind, need, readName, readRecordHeader, skipName } from './wire.js';
import type { RecordHeader } from './wire.js';

export interface DnsAddressAnswer {
  /** "192.0.2.1" / "2001:db8::1": RFC 5952 text, IPv4-mapped as ::ffff:a.b.c.d, the same
   * text as decode's addressToString gives for packet addresses. */
  ip: string;
  /** Seconds, of the A/AAAA record. */
  ttl: number;
  /** The names that lead to this address: chain[0] is the name the client asked for, then
   * each CNAME target on the way, ending with the owner name of the A/AAAA record. All
   * lower-case, no trailing dot. Answers with the same owner share one array: do not mutate. */
  chain: string[];
}

export interface DnsResponseInfo {
  id: number;
  /** First question's name ("" for the root, or when the response has no question). */
  queryName: string;
  /** First question's QTYPE (0 when there is no question). */
  queryType: number;
  /** Header RCODE (4 bits; EDNS extended bits not merged). 3 = NXDOMAIN. */
  rcode: number;
  answers: DnsAddressAnswer[];
  /** CNAME records in the answer section. */
  cnames: number;
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
/** Longest CNAME chain followed; resolvers stop around 8-16 (BIND: 16). */
export const MAX_CNAME_CHAIN = 16;

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
export function parseDnsResponse(buf: Buffer, offset: number, length: number, stats: DnsStats): DnsResponseInfo | null {
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
  const info: DnsResponseInfo = { id: msg.readUInt16BE(0), queryName: '', queryType: 0, rcode: flags & 0xf, answers: [], cnames: 0 };
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
