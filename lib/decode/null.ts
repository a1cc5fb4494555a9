import { EtherType } from './link-types.js';
import type { PacketInfo } from './packet-info.js';
import { Status } from './status.js';

/** BSD loopback (NULL) and OpenBSD LOOP: a 4-byte address family, then the IP packet. */
export const NULL_HEADER_LENGTH = 4;

const AF_INET = 2;
// AF_INET6 differs per BSD: 24 NetBSD/OpenBSD, 28 FreeBSD/DragonFly, 30 macOS (10 is Linux,
// which never writes this link type).
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

/**
 * The family is in the byte order of the machine that captured (NULL) or in network order
 * (LOOP). Families are small numbers, so whichever reading fits in 16 bits is the right one;
 * the same rule serves both link types.
 */
export function decodeNull(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  if (end - offset < NULL_HEADER_LENGTH) return Status.TruncatedNull;
  let family = buf.readUInt32LE(offset);
  if (family > 0xffff) family = buf.readUInt32BE(offset);
  if (family === AF_INET) out.etherType = EtherType.IPV4;
  else if (family === AF_INET6_BSD || family === AF_INET6_FREEBSD || family === AF_INET6_DARWIN) {
    out.etherType = EtherType.IPV6;
  } else out.etherType = 0;
  return offset + NULL_HEADER_LENGTH;
}

/**
 * Raw IP: no link header. `expect` is 4 or 6 for LINKTYPE_IPV4 / LINKTYPE_IPV6, 0 to take
 * the version from the first nibble (LINKTYPE_RAW). A mismatch is left to the IP decoder,
 * which counts the bad version.
 */
export function decodeRaw(buf: Buffer, offset: number, end: number, out: PacketInfo, expect: 0 | 4 | 6): number {
  if (expect === 4) out.etherType = EtherType.IPV4;
  else if (expect === 6) out.etherType = EtherType.IPV6;
  else {
    if (end - offset < 1) return Status.TruncatedIp;
    const version = buf[offset] >> 4;
    if (version === 4) out.etherType = EtherType.IPV4;
    else if (version === 6) out.etherType = EtherType.IPV6;
    else return Status.BadIpVersion;
  }
  return offset;
}
