// Address text for /proc/net/* entries and for flows handed to the resolver. Both sides are
// brought to one canonical form (IPv4 dotted, IPv6 RFC 5952 lower-case) so matching is a
// string comparison.
import os from 'node:os';
import ipaddr from 'ipaddr.js';
import { addressToString, parseIPv6Plain } from '../decode/index.js';

const HEX8 = /^[0-9A-Fa-f]{8}$/;

export const HOST_LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * Decodes the hex address column of /proc/net/{tcp,udp}[6]. The kernel prints each 32-bit
 * word with %08X in host byte order (the __be32 is printed as a u32), so on little-endian
 * hosts every group of 8 hex digits has its bytes reversed. Returns false on bad text.
 */
export function decodeHexAddress(hex: string, littleEndian: boolean, out: Uint8Array): boolean {
  const words = hex.length / 8;
  if ((words !== 1 && words !== 4) || out.length < words * 4) return false;
  for (let w = 0; w < words; w++) {
    const text = hex.slice(w * 8, w * 8 + 8);
    if (!HEX8.test(text)) return false;
    const word = Number.parseInt(text, 16);
    for (let b = 0; b < 4; b++) {
      const shift = littleEndian ? b * 8 : (3 - b) * 8;
      out[w * 4 + b] = (word >>> shift) & 0xff;
    }
  }
  return true;
}

/** RFC 5952: lower-case, no leading zeros, longest run (>= 2) of zero groups as "::". IPv4-mapped as ::ffff:a.b.c.d. The text a packet's address gets. */
export function formatIPv6(bytes: Uint8Array): string {
  return addressToString(bytes, 0, 6);
}

/** Dotted IPv4 with no leading zeros (what the pipeline formats): already canonical. */
const CANONICAL_V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Canonical text of any IPv4/IPv6 literal (e.g. from a flow); undefined when it is not one. */
export function normaliseIp(text: string): string | undefined {
  // Called several times per connection: ipaddr.js takes ~10 µs for an IPv4 literal (measured),
  // this test ~0.1 µs, and as long for IPv6 (plain IPv6 text: ~0.5 µs). Other forms (leading
  // zeros, hex IPv4, zone ids, dotted tails) still go through ipaddr.js.
  if (CANONICAL_V4.test(text)) return text;
  const v6 = parseIPv6Plain(text);
  if (v6 !== undefined) return formatIPv6(v6);
  if (!ipaddr.isValid(text)) return undefined;
  const addr = ipaddr.parse(text);
  if (addr.kind() === 'ipv4') return addr.toString();
  return formatIPv6(Uint8Array.from(addr.toByteArray()));
}

/** "::ffff:192.0.2.1" → "192.0.2.1"; anything else unchanged. Dual-stack sockets show IPv4 peers this way. */
export function unmapIPv4(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}
