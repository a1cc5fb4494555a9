import type { PacketInfo } from './packet-info.js';
import { Status } from './status.js';

export const UDP_HEADER_LENGTH = 8;

/**
 * UDP header (RFC 768): source port (2) | destination port (2) | length (2) | checksum (2).
 * The length field must cover the header and fit in the IP payload, except in the first
 * fragment of a fragmented datagram, where it covers the whole reassembled datagram. The
 * payload ends at the UDP length, so Ethernet or IP padding never reaches the DNS parser.
 */
export function decodeUdp(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  if (end - offset < UDP_HEADER_LENGTH) return Status.TruncatedUdp;
  const length = (buf[offset + 4] << 8) | buf[offset + 5];
  if (length < UDP_HEADER_LENGTH) return Status.BadUdpLength;
  const wireEnd = out.ipOffset + out.ipLength;
  if (offset + length > wireEnd && !out.fragmented) return Status.BadUdpLength;

  out.srcPort = (buf[offset] << 8) | buf[offset + 1];
  out.dstPort = (buf[offset + 2] << 8) | buf[offset + 3];
  const payload = offset + UDP_HEADER_LENGTH;
  out.payloadOffset = payload;
  out.payloadLength = Math.min(offset + length, end) - payload;
  return payload;
}
