// decode: link, network and transport headers of one captured frame into a reused
// PacketInfo. Pure, synchronous, allocation-free on the packet path, never throws on wire
// input: malformed frames are counted in DecodeStats.errors, frames the pipeline has no use
// for in DecodeStats.skipped.
import { decodeEthernet } from './ethernet.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { EtherType, LinkType } from './link-types.js';
import { decodeNflog, nflogSpan } from './nflog.js';
import { decodeNull, decodeRaw } from './null.js';
import { DecodeStats, PacketInfo } from './packet-info.js';
import { decodeSll, decodeSll2 } from './sll.js';
import { Status } from './status.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';

export { LinkType, EtherType } from './link-types.js';
export { PacketInfo, DecodeStats } from './packet-info.js';
export { Status, STATUS_NAMES } from './status.js';
export { addressToString, canonicalAddress, endpointText, ipv6PairKey, isLoopbackText, parseIPv6Plain } from './address.js';
export { u16, u32, u48 } from './bytes.js';
export { AddressMemo } from './memo.js';
export { MAX_VLAN_TAGS } from './ethernet.js';
export { MAX_IPV6_EXTENSIONS } from './ipv6.js';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/**
 * Decode one frame. Returns true when `out` holds a TCP or UDP packet. Never throws:
 * malformed input is counted in stats.errors by kind and false is returned; non-IP frames and
 * other protocols are counted in stats.skipped. `caplen` is the captured length (libpcap's
 * buffer may be larger than the frame). `wireLen`, when given, is the frame's length on the
 * wire: with it, an IP length beyond a complete capture is told apart from snaplen
 * truncation and counted as malformed; without it, it is taken as truncation. The frame is
 * buf[offset, offset + caplen): a replay hands records over where they lie in its read chunk.
 */
export function decodePacket(linkType: number, buf: Buffer, caplen: number, out: PacketInfo, stats: DecodeStats, wireLen = -1, offset = 0): boolean {
  stats.packets++;
  out.reset(buf, offset);
  out.captureComplete = wireLen >= 0 && caplen >= wireLen;
  let status: number;
  try {
    status = decodeLayers(linkType, buf, offset, Math.max(offset, Math.min(offset + caplen, buf.length)), out);
  } catch {
    // Every read is bounds-checked; this is the backstop for a decoder bug, counted so the
    // fuzz test and the metrics see it, instead of killing the capture callback.
    status = Status.Internal;
  }
  if (status < 0) {
    stats.count(status);
    return false;
  }
  stats.decoded++;
  return true;
}

function decodeLayers(linkType: number, buf: Buffer, start: number, end: number, out: PacketInfo): number {
  let offset = decodeLink(linkType, buf, start, end, out);
  if (offset < 0) return offset;
  // NFLOG: the IP packet is one attribute among others; it ends where that attribute does.
  if (linkType === LinkType.NFLOG) end = nflogSpan.end;

  if (out.etherType === EtherType.IPV4) offset = decodeIpv4(buf, offset, end, out);
  else if (out.etherType === EtherType.IPV6) offset = decodeIpv6(buf, offset, end, out);
  else return Status.NonIp;
  if (offset < 0) return offset;

  // Transport bytes end at the IP length (drops Ethernet padding) or the capture, whichever is first.
  const l4End = Math.min(end, out.ipOffset + out.ipLength);
  if (out.protocol === IPPROTO_TCP) return decodeTcp(buf, offset, l4End, out);
  if (out.protocol === IPPROTO_UDP) return decodeUdp(buf, offset, l4End, out);
  return Status.OtherTransport;
}

function decodeLink(linkType: number, buf: Buffer, start: number, end: number, out: PacketInfo): number {
  switch (linkType) {
    case LinkType.ETHERNET:
      return decodeEthernet(buf, start, end, out);
    case LinkType.LINUX_SLL:
      return decodeSll(buf, start, end, out);
    case LinkType.LINUX_SLL2:
      return decodeSll2(buf, start, end, out);
    case LinkType.RAW:
    case LinkType.RAW_101:
      return decodeRaw(buf, start, end, out, 0);
    case LinkType.IPV4:
      return decodeRaw(buf, start, end, out, 4);
    case LinkType.IPV6:
      return decodeRaw(buf, start, end, out, 6);
    case LinkType.NULL:
    case LinkType.LOOP:
      return decodeNull(buf, start, end, out);
    case LinkType.NFLOG:
      return decodeNflog(buf, start, end, out);
    default:
      return Status.UnsupportedLinkType;
  }
}
