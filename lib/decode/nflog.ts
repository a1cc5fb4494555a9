// Linux NFLOG (LINKTYPE_NFLOG, 239): what `tcpdump -i nflog:N` writes for packets an
// iptables / nftables `log group N` rule hands to user space (firewall logging). A 4-byte
// header (address family, version 0, resource id), then type-length-value attributes; the
// NFULA_PAYLOAD attribute holds the packet from its IP header on. Every attribute is padded to
// 4 bytes. Length and type are in the capturing host's byte order, which libpcap turns into
// the reading host's (tcpdump's print-nflog.c; libpcap's swap_nflog_header); both are tried,
// so a file read by our own pcapng reader decodes too.
import os from 'node:os';
import { EtherType } from './link-types.js';
import type { PacketInfo } from './packet-info.js';
import { Status } from './status.js';

const HEADER_LENGTH = 4;
const TLV_HEADER_LENGTH = 4;
const NFULA_PAYLOAD = 9;
const HOST_LE = os.endianness() === 'LE';

/** Where the payload attribute's value ends (the IP packet's end), set by decodeNflog. */
export const nflogSpan = { end: 0 };

/**
 * Returns the offset of the IP packet in the NFULA_PAYLOAD attribute and sets nflogSpan.end,
 * or a negative status: truncated header, a version other than 0 or attributes that do not
 * add up (bad-nflog), no payload attribute (a rule that logs no packet bytes: skipped).
 */
export function decodeNflog(buf: Buffer, offset: number, end: number, out: PacketInfo): number {
  if (end - offset < HEADER_LENGTH) return Status.TruncatedNflog;
  if (buf[offset + 1] !== 0) return Status.BadNflog;
  let at = payloadAttribute(buf, offset + HEADER_LENGTH, end, HOST_LE);
  if (at === Status.BadNflog) at = payloadAttribute(buf, offset + HEADER_LENGTH, end, !HOST_LE);
  if (at < 0) return at;
  // The rule's copy range may have cut the packet: its IP length says more than the payload
  // holds, which is truncation, not a malformed packet.
  out.captureComplete = false;
  out.etherType = 0;
  const version = nflogSpan.end > at ? buf[at] >> 4 : 0;
  if (version === 4) out.etherType = EtherType.IPV4;
  else if (version === 6) out.etherType = EtherType.IPV6;
  return at;
}

/** Offset of the payload attribute's value (nflogSpan.end set), or a negative status. */
function payloadAttribute(buf: Buffer, off: number, end: number, le: boolean): number {
  while (off < end) {
    if (end - off < TLV_HEADER_LENGTH) return Status.BadNflog;
    const length = le ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
    const type = le ? buf.readUInt16LE(off + 2) : buf.readUInt16BE(off + 2);
    if (length < TLV_HEADER_LENGTH || off + length > end) return Status.BadNflog;
    if (type === NFULA_PAYLOAD) {
      nflogSpan.end = off + length;
      return off + TLV_HEADER_LENGTH;
    }
    off += (length + 3) & ~3;
  }
  return Status.NflogNoPayload;
}
