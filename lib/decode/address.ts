import ipaddr from 'ipaddr.js';
import { u16 } from './bytes.js';

/**
 * Text form of an address held in a packet buffer. Allocates a string, so call it only for
 * what is kept (a new flow, a DNS answer, an alert), never per packet.
 */
export function addressToString(buf: Uint8Array, offset: number, version: 4 | 6): string {
  if (version === 4) return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
  return ipv6ToString(buf, offset);
}

/** "203.0.113.5:3128", or "[2001:db8::8]:3128" for IPv6: an address and port as people and --proxy write them. */
export function endpointText(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Whether `ip`, as addressToString gives it (or canonicalAddress), is a loopback address:
 * 127.0.0.0/8, ::1, or 127/8 mapped into IPv6.
 */
export function isLoopbackText(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

/**
 * The text addressToString gives a packet's address, for an address written as text (a config
 * value, a hosts file line): IPv4 as four decimal parts, or IPv6 (a zone id, which no packet
 * carries, is dropped); undefined when it is neither. So text from elsewhere compares equal to
 * the addresses of flows and DNS answers.
 */
export function canonicalAddress(text: string): string | undefined {
  const bare = text.split('%')[0];
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return addressToString(Buffer.from(ipaddr.IPv4.parse(bare).toByteArray()), 0, 4);
  if (!ipaddr.IPv6.isValid(bare)) return undefined;
  return addressToString(Buffer.from(ipaddr.IPv6.parse(bare).toByteArray()), 0, 6);
}

/** Only hex digits and colons: the plain form parseIPv6Plain reads. */
const PLAIN_V6 = /^[0-9A-Fa-f:]{2,39}$/;

/**
 * The 16 bytes of an IPv6 address in its plain text form: eight groups of one to four hex digits,
 * or fewer with one "::" standing for the zero groups left out (what packets, /proc and most
 * configs give). undefined for any other text, valid or not (a zone id, a dotted IPv4 tail):
 * ipaddr.js reads those, at ~10 µs an address against ~0.5 µs here, which a host opening
 * thousands of IPv6 connections a second pays several times for each.
 */
export function parseIPv6Plain(text: string): Uint8Array | undefined {
  if (!PLAIN_V6.test(text)) return undefined;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return undefined;
  const head = gap < 0 ? text.split(':') : gap === 0 ? [] : text.slice(0, gap).split(':');
  const tail = gap < 0 || gap + 2 === text.length ? [] : text.slice(gap + 2).split(':');
  if (gap < 0 ? head.length !== 8 : head.length + tail.length > 7) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < head.length + tail.length; i++) {
    const g = i < head.length ? head[i] : tail[i - head.length];
    if (g.length < 1 || g.length > 4) return undefined;
    const at = i < head.length ? i : 8 - tail.length + (i - head.length);
    const v = Number.parseInt(g, 16);
    out[2 * at] = v >> 8;
    out[2 * at + 1] = v & 0xff;
  }
  return out;
}

/**
 * RFC 5952: lower-case hex without leading zeros; the longest run of two or more zero groups
 * (the first one on a tie) becomes "::"; IPv4-mapped addresses (::ffff:0:0/96) end in dotted
 * quad. Written into a scratch buffer and sliced out in one piece: text built by concatenation
 * is a tree of string pieces in V8 (four objects for "2001:db8:1::5:a", three times the bytes),
 * and a flow keeps its addresses for as long as it lives.
 */
function ipv6ToString(buf: Uint8Array, offset: number): string {
  const groups = GROUPS;
  for (let i = 0; i < 8; i++) groups[i] = u16(buf, offset + 2 * i);

  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${addressToString(buf, offset + 12, 4)}`;
  }

  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (RFC 5952 section 4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }

  const out = TEXT;
  let n = 0;
  let afterGap = false;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out[n++] = COLON;
      out[n++] = COLON;
      i += bestLength - 1;
      afterGap = true;
      continue;
    }
    if (i > 0 && !afterGap) out[n++] = COLON;
    afterGap = false;
    const g = groups[i];
    // Hex digits without leading zeros.
    for (let shift = g > 0xfff ? 12 : g > 0xff ? 8 : g > 0xf ? 4 : 0; shift >= 0; shift -= 4) out[n++] = HEX[(g >> shift) & 0xf];
  }
  return out.toString('latin1', 0, n);
}

/** The 16-bit groups of the address being formatted (reused: formatting allocates only the text). */
const GROUPS = new Uint16Array(8);
/** The text being formatted (39 characters at most). */
const TEXT = Buffer.alloc(40);
const COLON = 0x3a;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * A Map key for a pair of IPv6 addresses (buf[a, a + 16), buf[b, b + 16)) after three small
 * integers (protocol, ports): one character per 16 bits, made by one call. Two latin1 slices
 * and a concatenation cost about twice as much, and their cons string is flattened again when
 * the Map hashes it.
 */
export function ipv6PairKey(x: number, y: number, z: number, buf: Buffer, a: number, b: number): string {
  return String.fromCharCode(x, y, z,
    u16(buf, a), u16(buf, a + 2), u16(buf, a + 4), u16(buf, a + 6), u16(buf, a + 8), u16(buf, a + 10), u16(buf, a + 12), u16(buf, a + 14),
    u16(buf, b), u16(buf, b + 2), u16(buf, b + 4), u16(buf, b + 6), u16(buf, b + 8), u16(buf, b + 10), u16(buf, b + 12), u16(buf, b + 14));
}
