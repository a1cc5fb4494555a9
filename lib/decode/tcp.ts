import type { PacketInfo } from './packet-info.js';
import { Status } from './status.js';
import { u32 } from './bytes.js';

/** RFC 9293 header without options. */
export const TCP_MIN_HEADER_LENGTH = 20;

/**
 * TCP header. `end` is the end of the L4 bytes we hold (captured bytes clamped to the IP
 * length). The data offset is checked against the IP layer's wire length; options cut off by
 * the snaplen are not an error (ports, flags and sequence number are all in the first 20
 * bytes), the payload is then empty.
 *
 *   0: source port   2: destination port   4: sequence number   8: acknowledgment number
 *  12: data offset (4 bits, 32-bit words) | reserved / AE (4)   13: flags (CWR ECE URG ACK PSH RST SYN FIN)
 */
export function decodeTcp(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  if (end - offset < TCP_MIN_HEADER_LENGTH) return Status.TruncatedTcp;
  const headerLength = (buf[offset + 12] >> 4) * 4;
  if (headerLength < TCP_MIN_HEADER_LENGTH) return Status.BadTcpDataOffset;
  const wireEnd = out.ipOffset + out.ipLength;
  if (offset + headerLength > wireEnd && !out.fragmented) return Status.BadTcpDataOffset;

  out.srcPort = (buf[offset] << 8) | buf[offset + 1];
  out.dstPort = (buf[offset + 2] << 8) | buf[offset + 3];
  out.tcpSeq = u32(buf, offset + 4);
  out.tcpAck = u32(buf, offset + 8);
  out.tcpFlags = buf[offset + 13];
  const payload = Math.min(offset + headerLength, end);
  out.payloadOffset = payload;
  out.payloadLength = end - payload;
  return payload;
}
