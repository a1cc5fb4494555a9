// DNS response parsing for the name cache: the question, and every A/AAAA answer reachable
// from the question name through the CNAME chain.
//
// Why a record walker of our own rather than dnsPacket.decode():
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
// Every RDATA is bounded by its RDLENGTH; records of other classes than IN (cache-flush bit
// masked) and other types are skipped by RDLENGTH.
//
// Speed (bench capture, 2M packets, 10% DNS responses with CNAME chains): names are read into
// a reused arena and compared as bytes (names.ts); records are rows of reused arrays, not
// objects; strings are made only for the query name, the chain and the addresses returned,
// and most IPv4 address strings come from a memo of earlier ones (memo.ts).
// Parsing went from ~8.3 µs to ~1 µs a response (see the commit message for the runs).
import { DnsStats } from './stats.js';
import { AddressMemo } from '../decode/index.js';
import { E_TRUNCATED, NameTable, statusKind } from './names.js';
import { readRecordHeader, skipName, u16 } from './wire.js';
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
  /** NameTable.hash of the first question's name (0 for the root or when there is none). */
  queryHash: number;
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

/**
 * One message's working state, reused for every message. Parsing is synchronous, never
 * re-entered and resets all of it first, so nothing carries from one message to the next and
 * nothing of it is returned; one per module keeps parseDnsResponse a plain function. The
 * answer section's kept records (A/AAAA/CNAME of class IN) are rows of the typed arrays.
 * Only the address memo outlives a message, and it only hands out the right text (memo.ts).
 */
class Scratch {
  readonly names = new NameTable();
  readonly addresses = new AddressMemo();
  readonly rr: RecordHeader = { type: 0, klass: 0, ttl: 0, rdStart: 0, rdLength: 0 };
  count = 0;
  type = new Int32Array(32);
  ttl = new Int32Array(32);
  /** Name id of the owner. */
  owner = new Int32Array(32);
  /** Name id of a CNAME target; offset of an A/AAAA address in the buffer. */
  value = new Int32Array(32);
  /** Name ids of the CNAME chain, the start first. */
  readonly chain = new Int32Array(MAX_CNAME_CHAIN + 1);

  reset(): void {
    this.names.reset();
    this.count = 0;
  }

  push(type: number, ttl: number, owner: number, value: number): void {
    if (this.count === this.type.length) this.grow();
    const i = this.count++;
    this.type[i] = type;
    this.ttl[i] = ttl;
    this.owner[i] = owner;
    this.value[i] = value;
  }

  private grow(): void {
    const twice = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.type = twice(this.type);
    this.ttl = twice(this.ttl);
    this.owner = twice(this.owner);
    this.value = twice(this.value);
  }
}

const scratch = new Scratch();

/**
 * Parses the DNS message at buf[offset, offset + length). Returns null when it is not a
 * standard-query response or when the header or question section is malformed; both are
 * counted in `stats`. A malformed answer section keeps the answers before the bad record
 * (counted as `answers-<kind>`). Never throws on wire input.
 */
export function parseDnsResponse(buf: Buffer, offset: number, length: number, stats: DnsStats, addresses: AddressMemo = scratch.addresses): DnsResponseInfo | null {
  const end = Math.min(buf.length, offset + Math.max(0, length));
  if (offset < 0 || end - offset < 12) {
    stats.countMalformed('short-header');
    return null;
  }
  const flags = u16(buf, offset + 2);
  if ((flags & 0x8000) === 0) {
    stats.queries++;
    stats.notResponse++;
    return null;
  }
  if (((flags >> 11) & 0xf) !== 0) {
    stats.notResponse++;
    return null;
  }
  const s = scratch;
  s.reset();
  const info: DnsResponseInfo = { id: u16(buf, offset), queryName: '', queryType: 0, queryHash: 0, rcode: flags & 0xf, answers: [], cnames: 0 };
  const questions = u16(buf, offset + 4);
  let next = readQuestions(buf, offset, end, questions, info, s);
  if (next < 0) {
    stats.countMalformed(statusKind(next));
    return null;
  }
  next = readAnswers(buf, offset, end, next, u16(buf, offset + 6), s, stats);
  // A bad record ends the answer section, but the records before it are whole and
  // bounds-checked: keep them, as tshark and Zeek do (a snaplen-cut capture still names the
  // first addresses).
  if (next < 0) stats.countMalformed(`answers-${statusKind(next)}`);
  else countTrailing(buf, next, end, u16(buf, offset + 8) + u16(buf, offset + 10), s.rr, stats);
  stats.responses++;
  let start = 0; // the question's name id
  if (questions === 0) {
    // No question (allowed for some opcodes, seen in unsolicited answers): start the chain
    // at the first answer's owner.
    stats.noQuestion++;
    start = s.count > 0 ? s.owner[0] : -1;
  }
  if (start >= 0) resolveChain(buf, start, info, s, stats, addresses);
  stats.answers += info.answers.length;
  return info;
}

function readQuestions(buf: Buffer, base: number, end: number, count: number, info: DnsResponseInfo, s: Scratch): number {
  let off = base + 12;
  for (let i = 0; i < count; i++) {
    const next = s.names.read(buf, base, off, end);
    if (next < 0) return next;
    if (next + 4 > end) return E_TRUNCATED;
    if (i === 0) {
      const id = s.names.add();
      info.queryName = s.names.string(id);
      info.queryHash = s.names.hash(id);
      info.queryType = u16(buf, next);
    }
    off = next + 4;
  }
  return off;
}

/** Keeps the answer section's A/AAAA/CNAME records of class IN as rows of `s`. */
function readAnswers(buf: Buffer, base: number, end: number, off: number, count: number, s: Scratch, stats: DnsStats): number {
  const names = s.names;
  const rr = s.rr;
  for (let i = 0; i < count; i++) {
    const next = names.read(buf, base, off, end);
    if (next < 0) return next;
    off = readRecordHeader(buf, next, end, rr);
    if (off < 0) return off;
    // mDNS sets the top bit of CLASS (cache flush, RFC 6762 §10.2); mask it.
    if ((rr.klass & 0x7fff) !== CLASS_IN) continue;
    if (rr.type === TYPE_A || rr.type === TYPE_AAAA) {
      if (rr.rdLength !== (rr.type === TYPE_A ? 4 : 16)) stats.countMalformed('bad-rdlength');
      else s.push(rr.type, rr.ttl, names.add(), rr.rdStart);
    } else if (rr.type === TYPE_CNAME) {
      const owner = names.add();
      // The target may point anywhere earlier in the message but its own bytes must stay
      // inside RDATA; a mismatch means the record is not what it claims (skip it, keep going).
      const target = names.read(buf, base, rr.rdStart, off);
      if (target < 0) return target;
      if (target !== off) {
        names.drop();
        stats.countMalformed('bad-rdlength');
      } else {
        s.push(TYPE_CNAME, rr.ttl, owner, names.add());
      }
    }
  }
  return off;
}

/** Walks the authority and additional sections only to count addresses that we ignore. */
function countTrailing(buf: Buffer, off: number, end: number, count: number, rr: RecordHeader, stats: DnsStats): void {
  for (let i = 0; i < count; i++) {
    const next = skipName(buf, off, end);
    off = next < 0 ? next : readRecordHeader(buf, next, end, rr);
    if (off < 0) {
      stats.countMalformed(`trailing-${statusKind(off)}`);
      return;
    }
    if (rr.type === TYPE_A || rr.type === TYPE_AAAA) stats.offChainAddresses++;
  }
}

/** Follows CNAMEs from name `start` (records in any order) and keeps addresses on the chain. */
function resolveChain(buf: Buffer, start: number, info: DnsResponseInfo, s: Scratch, stats: DnsStats, addresses: AddressMemo): void {
  const names = s.names;
  const chain = s.chain;
  let cnames = 0;
  for (let r = 0; r < s.count; r++) if (s.type[r] === TYPE_CNAME) cnames++;
  info.cnames = cnames;
  chain[0] = start;
  let length = 1;
  while (cnames > 0) {
    // RFC 2181 §10.1: one CNAME per owner; with several, the first one counts.
    const target = cnameOf(s, chain[length - 1]);
    if (target < 0) break;
    if (indexOf(names, chain, length, target) >= 0) {
      stats.cnameLoops++;
      break;
    }
    if (length > MAX_CNAME_CHAIN) {
      stats.cnameTooLong++;
      break;
    }
    chain[length++] = target;
  }
  let text: string[] | undefined;
  // Answers owned by the same chain position share one array; the last position (the usual
  // owner) is the whole chain, so the per-position table is only made for the others.
  let prefixes: string[][] | undefined;
  for (let r = 0; r < s.count; r++) {
    const type = s.type[r];
    if (type === TYPE_CNAME) continue;
    const at = indexOf(names, chain, length, s.owner[r]);
    if (at < 0) {
      stats.offChainAddresses++;
      continue;
    }
    if (text === undefined) {
      // Strings only now, for a chain that names at least one address.
      text = new Array<string>(length);
      for (let j = 0; j < length; j++) text[j] = names.string(chain[j]);
    }
    let prefix = text;
    if (at !== length - 1) {
      prefixes ??= [];
      prefix = prefixes[at] ??= text.slice(0, at + 1);
    }
    const ip = addresses.text(buf, s.value[r], type === TYPE_A ? 4 : 6);
    info.answers.push({ ip, ttl: s.ttl[r], chain: prefix });
  }
}

/** Target name id of the first CNAME owned by `name`, or -1. */
function cnameOf(s: Scratch, name: number): number {
  for (let r = 0; r < s.count; r++) if (s.type[r] === TYPE_CNAME && s.names.equal(s.owner[r], name)) return s.value[r];
  return -1;
}

/** Position of `name` in chain[0, length), or -1. */
function indexOf(names: NameTable, chain: Int32Array, length: number, name: number): number {
  for (let j = 0; j < length; j++) if (names.equal(chain[j], name)) return j;
  return -1;
}
