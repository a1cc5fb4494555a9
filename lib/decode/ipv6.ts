import type { PacketInfo } from './packet-info.js';
import { Status } from './status.js';

/** RFC 8200 fixed header. */
export const IPV6_HEADER_LENGTH = 40;
/**
 * Extension headers walked before giving up. RFC 8200 section 4.1 recommends each at most
 * once (destination options twice), so 8 covers every legitimate chain.
 */
export const MAX_IPV6_EXTENSIONS = 8;

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const ESP = 50;
const AH = 51;
const NO_NEXT_HEADER = 59;
const DESTINATION_OPTIONS = 60;
// RFC 7045 lists these as extension headers in the same (next header, length in 8-octet
// units minus one) format.
const MOBILITY = 135;
const HIP = 139;
const SHIM6 = 140;

/**
 * IPv6 fixed header and extension-header chain. Fills the IP fields of `out` (out.protocol is
 * the upper-layer next header) and returns the offset of the transport header.
 *
 *   0: version (4) | traffic class (8) | flow label (20)   4: payload length
 *   6: next header   7: hop limit   8: source (16)   24: destination (16)
 */
export function decodeIpv6(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  const available = end - offset;
  if (available < IPV6_HEADER_LENGTH) return Status.TruncatedIpv6;
  if (buf[offset] >> 4 !== 6) return Status.BadIpv6Version;
  const payloadLength = (buf[offset + 4] << 8) | buf[offset + 5];

  out.ipVersion = 6;
  out.ipOffset = offset;
  out.srcOffset = offset + 8;
  out.dstOffset = offset + 24;
  // 0 is a jumbogram (RFC 2675) or a Linux BIG TCP capture with the jumbo option already
  // stripped: the capture is the only length there is.
  out.ipLength = payloadLength === 0 ? available : IPV6_HEADER_LENGTH + payloadLength;
  // Longer than the whole frame: the kernel would drop it (ipv6_rcv), so do we.
  if (IPV6_HEADER_LENGTH + payloadLength > available && out.captureComplete) return Status.BadIpv6PayloadLength;

  const limit = Math.min(end, offset + out.ipLength);
  return walkExtensions(buf, buf[offset + 6], offset + IPV6_HEADER_LENGTH, limit, out);
}

function walkExtensions(buf: Buffer, next: number, offset: number, limit: number, out: PacketInfo): number {
  for (let depth = 0; depth <= MAX_IPV6_EXTENSIONS; depth++) {
    let length: number;
    switch (next) {
      case HOP_BY_HOP:
      case ROUTING:
      case DESTINATION_OPTIONS:
      case MOBILITY:
      case HIP:
      case SHIM6:
        if (limit - offset < 2) return Status.TruncatedIpv6Ext;
        length = (buf[offset + 1] + 1) * 8;
        break;
      case FRAGMENT: {
        // next header (1) | reserved (1) | offset (13 bits) | res (2) | M (1) | identification (4)
        if (limit - offset < 8) return Status.TruncatedIpv6Ext;
        const word = (buf[offset + 2] << 8) | buf[offset + 3];
        if (word >>> 3 !== 0) return Status.Ipv6Fragment;
        // Offset 0 and M clear is an atomic fragment (RFC 6946): a whole datagram.
        out.fragmented = (word & 1) !== 0;
        length = 8;
        break;
      }
      case AH: // RFC 4302: payload length in 32-bit words minus 2
        if (limit - offset < 2) return Status.TruncatedIpv6Ext;
        length = (buf[offset + 1] + 2) * 4;
        break;
      case ESP:
        return Status.Ipv6Esp;
      case NO_NEXT_HEADER:
        return Status.Ipv6NoNextHeader;
      default:
        out.protocol = next;
        return offset;
    }
    if (length > limit - offset) return Status.TruncatedIpv6Ext;
    next = buf[offset];
    offset += length;
  }
  return Status.TooManyIpv6Ext;
}
