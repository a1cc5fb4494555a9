import type { PacketInfo } from './packet-info.js';
import { Status } from './status.js';

/** RFC 791 header without options. */
export const IPV4_MIN_HEADER_LENGTH = 20;

/**
 * IPv4 header (RFC 791), options skipped by IHL. Fills the IP fields of `out` and returns the
 * offset of the transport header. A non-first fragment has no transport header and is
 * skipped; the first fragment (offset 0, MF set) is decoded with out.fragmented = true.
 *
 *   0: version (4 bits) | IHL (4 bits, 32-bit words)   2: total length
 *   6: flags (3 bits) | fragment offset (13 bits)       9: protocol
 *  12: source address                                  16: destination address
 */
export function decodeIpv4(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  const available = end - offset;
  if (available < IPV4_MIN_HEADER_LENGTH) return Status.TruncatedIpv4;
  if (buf[offset] >> 4 !== 4) return Status.BadIpv4Version;
  const headerLength = (buf[offset] & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER_LENGTH) return Status.BadIpv4HeaderLength;
  let totalLength = (buf[offset + 2] << 8) | buf[offset + 3];
  // 0 is what Linux writes for BIG TCP / TSO super-packets above 64 KiB (tcpdump and
  // Wireshark treat it the same way): the capture is the only length there is.
  if (totalLength === 0) totalLength = available;
  if (totalLength < headerLength) return Status.BadIpv4TotalLength;
  if (headerLength > available) return Status.TruncatedIpv4;

  out.ipVersion = 4;
  out.ipOffset = offset;
  out.srcOffset = offset + 12;
  out.dstOffset = offset + 16;
  out.protocol = buf[offset + 9];
  out.ipLength = totalLength;
  // Longer than the whole frame: the kernel would drop it (ip_rcv), so do we.
  if (totalLength > available && out.captureComplete) return Status.BadIpv4TotalLength;

  const fragment = (buf[offset + 6] << 8) | buf[offset + 7];
  if ((fragment & 0x1fff) !== 0) return Status.Ipv4Fragment;
  out.fragmented = (fragment & 0x2000) !== 0; // MF
  return offset + headerLength;
}
