// Internal vs external addresses. Called once per new connection (internal ones included), so
// the rules are parsed once into 32-bit words. An address read from a packet is judged from
// its bytes with no string and no cache (isExternalAt: ~20 integer compares for IPv4); text
// addresses keep each verdict in a bounded LRU: a cache hit is one Map lookup, while a miss
// costs an ipaddr.js parse (a few microseconds).
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';
import { BUILTIN_IPV4, BUILTIN_IPV6 } from './ranges.js';
import { parseIPv6Plain, u32 } from '../decode/index.js';

/** Bad --internal-cidr / --external-cidr value; `setting` is the flag name. */
export class ClassifyConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = 'ClassifyConfigError';
    this.setting = setting;
  }
}

export interface AddressClassifierOptions {
  internalCidrs?: string[];
  externalCidrs?: string[];
  /** Per-address verdict cache bound (default 16384 addresses, about 1.5 MB). */
  cacheSize?: number;
}

type Family = 4 | 6;
type Kind = 'internal' | 'external';

/** A prefix as 32-bit words: 1 word for IPv4, 4 for IPv6. */
interface Prefix {
  family: Family;
  words: number[];
  bits: number;
}

interface ConfiguredRule extends Prefix {
  kind: Kind;
}

export const DEFAULT_ADDRESS_CACHE_SIZE = 16384;

const EXAMPLE = '203.0.113.0/24';

export class AddressClassifier {
  /** Counters for metrics: verdict-cache evictions and unparseable addresses. */
  readonly counters = { cacheEvictions: 0, invalidAddresses: 0 };
  private readonly builtin: Prefix[];
  private readonly configured: ConfiguredRule[];
  private readonly cache: LRUCache<string, boolean>;
  /** IPv4 rules as parallel word / mask arrays (configured ones with their prefix length and kind). */
  private readonly v4Builtin: { word: Uint32Array; mask: Uint32Array };
  private readonly v4Configured: { word: Uint32Array; mask: Uint32Array; bits: Uint8Array; external: Uint8Array };
  /** The IPv6 address being judged by isExternalAt (reused: judging allocates nothing). */
  private readonly v6Scratch: Prefix = { family: 6, words: [0, 0, 0, 0], bits: 128 };

  constructor(opts: AddressClassifierOptions = {}) {
    this.builtin = [...BUILTIN_IPV4, ...BUILTIN_IPV6].map((r) => parsePrefix(r.cidr)!);
    const configured: ConfiguredRule[] = [];
    for (const text of opts.externalCidrs ?? []) {
      configured.push({ ...parseConfigured(text, '--external-cidr'), kind: 'external' });
    }
    for (const text of opts.internalCidrs ?? []) {
      configured.push({ ...parseConfigured(text, '--internal-cidr'), kind: 'internal' });
    }
    this.configured = configured;
    const b4 = this.builtin.filter((p) => p.family === 4);
    this.v4Builtin = { word: Uint32Array.from(b4, (p) => p.words[0]), mask: Uint32Array.from(b4, (p) => maskFor(p.bits)) };
    const c4 = configured.filter((p) => p.family === 4);
    this.v4Configured = {
      word: Uint32Array.from(c4, (p) => p.words[0]),
      mask: Uint32Array.from(c4, (p) => maskFor(p.bits)),
      bits: Uint8Array.from(c4, (p) => p.bits),
      external: Uint8Array.from(c4, (p) => (p.kind === 'external' ? 1 : 0)),
    };
    this.cache = new LRUCache<string, boolean>({
      max: opts.cacheSize ?? DEFAULT_ADDRESS_CACHE_SIZE,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.counters.cacheEvictions++;
      },
    });
  }

  /**
   * True when `ip` (IPv4 or IPv6 text, zone id allowed) is external. An unparseable
   * address is counted and judged internal: nothing is alerted on an address we cannot read.
   */
  isExternal(ip: string): boolean {
    const hit = this.cache.get(ip);
    if (hit !== undefined) return hit;
    const verdict = this.judge(ip);
    this.cache.set(ip, verdict);
    return verdict;
  }

  /**
   * isExternal() of the address at buf[off] in a packet (`version` 4: four bytes, else
   * sixteen), judged from its 32-bit words: no text, no cache.
   */
  isExternalAt(buf: Buffer, off: number, version: number): boolean {
    if (version === 4) return this.judgeV4(u32(buf, off));
    const w = this.v6Scratch.words;
    for (let i = 0; i < 4; i++) w[i] = u32(buf, off + 4 * i);
    if (isMapped(w) || isNat64(w)) return this.judgeV4(w[3]);
    return this.judgeWords(this.v6Scratch);
  }

  /** The IPv4 rules of judge(), on the address as an unsigned 32-bit word. */
  private judgeV4(word: number): boolean {
    const c = this.v4Configured;
    let bestBits = -1;
    let bestExternal = false;
    for (let i = 0; i < c.word.length; i++) {
      if (((word & c.mask[i]) >>> 0) !== c.word[i]) continue;
      const external = c.external[i] === 1;
      if (c.bits[i] > bestBits || (c.bits[i] === bestBits && external)) {
        bestBits = c.bits[i];
        bestExternal = external;
      }
    }
    if (bestBits >= 0) return bestExternal;
    const b = this.v4Builtin;
    for (let i = 0; i < b.word.length; i++) if (((word & b.mask[i]) >>> 0) === b.word[i]) return false;
    return true;
  }

  private judge(ip: string): boolean {
    const addr = parseAddress(ip);
    if (addr === undefined) {
      this.counters.invalidAddresses++;
      return false;
    }
    return addr.family === 4 ? this.judgeV4(addr.words[0]) : this.judgeWords(addr);
  }

  /** The rules on an address in words (IPv6; IPv4-mapped and NAT64 forms already made IPv4). */
  private judgeWords(addr: Prefix): boolean {
    // Configured ranges first: the longest matching prefix decides, a tie goes to external.
    let best: ConfiguredRule | undefined;
    for (const rule of this.configured) {
      if (!matches(rule, addr)) continue;
      if (best === undefined || rule.bits > best.bits || (rule.bits === best.bits && rule.kind === 'external')) {
        best = rule;
      }
    }
    if (best !== undefined) return best.kind === 'external';
    for (const p of this.builtin) if (matches(p, addr)) return false;
    return true;
  }
}

function parseConfigured(text: unknown, setting: string): Prefix {
  const p = typeof text === 'string' ? parsePrefix(text.trim()) : undefined;
  if (p === undefined) {
    throw new ClassifyConfigError(setting, `${setting} '${String(text)}': not a CIDR (expected e.g. ${EXAMPLE})`);
  }
  return p;
}

/**
 * "a.b.c.d/n" or "v6/n"; a bare address is a host prefix (/32, /128). Host bits are
 * masked off. IPv4 must be four decimal parts: ipaddr.js would otherwise read "10/8" as
 * 0.0.0.10/8. An IPv4-mapped IPv6 prefix (::ffff:a.b.c.d/96+) becomes its IPv4 prefix.
 */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) return undefined;
  let family: Family;
  let words: number[];
  if (ipaddr.IPv4.isValidFourPartDecimal(addrText)) {
    family = 4;
    words = [v4Word(ipaddr.IPv4.parse(addrText).toByteArray())];
  } else if (ipaddr.IPv6.isValid(addrText) && !addrText.includes('%')) {
    family = 6;
    words = v6Words(ipaddr.IPv6.parse(addrText).parts);
  } else {
    return undefined;
  }
  const max = family === 4 ? 32 : 128;
  let bits = lenText === undefined ? max : Number(lenText);
  if (bits > max) return undefined;
  if (family === 6 && bits >= 96 && isMapped(words)) {
    family = 4;
    words = [words[3]];
    bits -= 96;
  }
  return { family, words: maskWords(words, bits), bits };
}

/** An address as words; IPv4-mapped and NAT64 well-known-prefix (RFC 6052) IPv6 → IPv4. */
function parseAddress(ip: string): Prefix | undefined {
  const v4 = fastDottedQuad(ip);
  if (v4 >= 0) return { family: 4, words: [v4], bits: 32 };
  const plain = parseIPv6Plain(ip);
  if (plain !== undefined) return v6Prefix([0, 1, 2, 3].map((i) => u32(plain, 4 * i)));
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(ip);
  } catch {
    return undefined;
  }
  if (parsed.kind() === 'ipv4') return { family: 4, words: [v4Word(parsed.toByteArray())], bits: 32 };
  return v6Prefix(v6Words((parsed as ipaddr.IPv6).parts));
}

/** An IPv6 address as words; IPv4-mapped and NAT64 ones as the IPv4 address they carry. */
function v6Prefix(words: number[]): Prefix {
  if (isMapped(words) || isNat64(words)) {
    return { family: 4, words: [words[3]], bits: 32 };
  }
  return { family: 6, words, bits: 128 };
}

/**
 * "a.b.c.d" in plain decimal as an unsigned word, else -1. The flow stage formats IPv4 this
 * way, and this path is ~20x faster than ipaddr.parse(), which tries every inet_aton form.
 */
function fastDottedQuad(s: string): number {
  let word = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return -1; // leading zero: octal to inet_aton
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      word = word * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return word * 256 + part;
}

function isMapped(words: number[]): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

/** 64:ff9b::/96 carries an IPv4 address that a NAT64 gateway will reach (RFC 6052 §3.1). */
function isNat64(words: number[]): boolean {
  return words[0] === 0x0064ff9b && words[1] === 0 && words[2] === 0;
}

function v4Word(bytes: number[]): number {
  return ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
}

function v6Words(parts: number[]): number[] {
  return [0, 1, 2, 3].map((i) => ((parts[2 * i] << 16) | parts[2 * i + 1]) >>> 0);
}

function maskFor(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

function maskWords(words: number[], bits: number): number[] {
  return words.map((w, i) => (w & maskFor(bits - 32 * i)) >>> 0);
}

function matches(p: Prefix, addr: Prefix): boolean {
  if (p.family !== addr.family) return false;
  for (let i = 0; i < p.words.length; i++) {
    const mask = maskFor(p.bits - 32 * i);
    if (mask === 0) return true;
    if (((addr.words[i] & mask) >>> 0) !== p.words[i]) return false;
  }
  return true;
}

const LOOPBACK_V4: Prefix = { family: 4, words: [0x7f000000], bits: 8 };
const LOOPBACK_V6: Prefix = { family: 6, words: [0, 0, 0, 1], bits: 128 };

/**
 * True when some of `externalCidrs` (--external-cidr) takes in a loopback address (127.0.0.0/8,
 * ::1): the operator made loopback traffic external, so the capture must keep it (a test
 * world on lo does).
 */
export function externalCoversLoopback(externalCidrs: readonly string[]): boolean {
  return externalCidrs.some((text) => {
    const p = parsePrefix(text.trim());
    return p !== undefined && overlaps(p, p.family === 4 ? LOOPBACK_V4 : LOOPBACK_V6);
  });
}

/** Two prefixes overlap when the shorter one holds the longer one's start. */
function overlaps(a: Prefix, b: Prefix): boolean {
  return a.bits <= b.bits ? matches(a, b) : matches(b, a);
}

/**
 * The built-in ranges a host's own traffic among itself mostly stays in: RFC 1918, the shared
 * (CGNAT) space, link-local and IPv6 unique local and link-local addresses. Pods, nodes,
 * databases and storage talk over these, often at far higher rates than anything goes out.
 */
const PRIVATE_PAIR_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'];
/**
 * IPv6 space the classifier judges by the IPv4 address inside (isExternalAt: IPv4-mapped, NAT64
 * 64:ff9b::/96): an IPv6 rule over it does not apply there, so no range that overlaps it is
 * left out of the capture (an IPv6-only pod reaching the internet through NAT64 is judged).
 */
const EMBEDDED_V4: readonly Prefix[] = [
  { family: 6, words: [0, 0, 0xffff, 0], bits: 96 },
  { family: 6, words: [0x0064ff9b, 0, 0, 0], bits: 96 },
];
/** --internal-cidr ranges taken into internalPairRanges at most (each adds to the kernel filter's length). */
export const MAX_PAIR_RANGES = 32;

/**
 * Ranges where a packet between two addresses of them (any two: 10.0.0.1 to 192.168.1.1 too)
 * belongs to a connection that is never judged: its responder is internal. For the capture
 * filter, to leave such traffic in the kernel. The private ranges above and the --internal-cidr
 * ones (the first MAX_PAIR_RANGES), as canonical CIDR text (host bits cleared), less every one
 * that overlaps an --external-cidr (where the operator made part of a range external, all of
 * the range's traffic is kept and the classifier decides, as before) or IPv6 space with an IPv4
 * address inside (EMBEDDED_V4). Unparseable values are left out (the classifier rejects them at
 * start).
 */
export function internalPairRanges(internalCidrs: readonly string[], externalCidrs: readonly string[]): string[] {
  const external = externalCidrs.map((t) => parsePrefix(t.trim())).filter((p): p is Prefix => p !== undefined);
  const own = internalCidrs.slice(0, MAX_PAIR_RANGES).map((t) => parsePrefix(t.trim())).filter((p): p is Prefix => p !== undefined);
  const out: string[] = [];
  for (const p of [...PRIVATE_PAIR_RANGES.map((t) => parsePrefix(t) as Prefix), ...own]) {
    if (external.some((e) => overlaps(p, e)) || EMBEDDED_V4.some((e) => overlaps(p, e))) continue;
    const text = prefixText(p);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

function prefixText(p: Prefix): string {
  if (p.family === 4) {
    const w = p.words[0];
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${p.bits}`;
  }
  const parts = p.words.flatMap((w) => [w >>> 16, w & 0xffff]);
  return `${new ipaddr.IPv6(parts).toString()}/${p.bits}`;
}

/**
 * True when the address at buf[off] (`version` 4: four bytes, else sixteen) is a loopback
 * address: 127.0.0.0/8, ::1, or 127.0.0.0/8 IPv4-mapped (::ffff:127.x.y.z).
 */
export function isLoopbackAt(buf: Buffer, off: number, version: number): boolean {
  if (version === 4) return buf[off] === 127;
  for (let i = 0; i < 10; i++) if (buf[off + i] !== 0) return false;
  if (buf[off + 10] === 0xff && buf[off + 11] === 0xff) return buf[off + 12] === 127;
  for (let i = 10; i < 15; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 15] === 1;
}

/**
 * A test "is this address (IPv4 or IPv6 text) inside `cidr`", for suppression rules; a bare
 * address is a host prefix. undefined when `cidr` is neither a CIDR nor an address.
 */
export function cidrTest(cidr: string): ((ip: string) => boolean) | undefined {
  const p = parsePrefix(cidr);
  if (p === undefined) return undefined;
  return (ip) => {
    const a = parseAddress(ip);
    return a !== undefined && matches(p, a);
  };
}
