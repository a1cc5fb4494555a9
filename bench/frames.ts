// Writes one Ethernet frame (optionally 802.1Q-tagged) with an IPv4 or IPv6 header and a
// TCP or UDP header plus payload, straight into the writer's chunk. Checksums stay zero (the
// agent does not verify them, and checksum offload delivers them unset in real captures too),
// except UDP over IPv6, where zero is illegal (RFC 8200 §8.1) and tshark would flag it.

export const TCP = 6;
export const UDP = 17;
export const FIN = 0x01;
export const SYN = 0x02;
export const PSH = 0x08;
export const ACK = 0x10;

const VLAN_TAG = 4;
const IPV4 = 20;
const IPV6 = 40;
const UDP_HDR = 8;
const TCP_HDR = 20;
/** MSS option on SYN and SYN-ACK, as every real stack sends one (kind 2, length 4, 1460). */
const TCP_MSS_OPTION = 4;

/** Locally administered MACs 02:00:00:00:00:01 (the host) and :02 (its gateway). */
const MAC_HIGH = 0x02000000;
const HOST_MAC_LOW = 0x0001;
const GATEWAY_MAC_LOW = 0x0002;

/** One packet to write; a single instance is filled and reused by the traffic model. */
export class PacketSpec {
  v6 = false;
  vlan = -1;
  proto = TCP;
  /** 4 or 16 bytes each. */
  src: Buffer = Buffer.alloc(4);
  dst: Buffer = Buffer.alloc(4);
  sport = 0;
  dport = 0;
  flags = 0;
  seq = 0;
  ack = 0;
  /** Payload bytes are payload[0 .. payloadLength). */
  payload: Buffer | null = null;
  payloadLength = 0;
  /** Sent by the monitored host (decides which MAC is the source). */
  outbound = true;
  /** IPv4 identification, advanced per IPv4 packet written. */
  ipId = 0;
}

/** Writes `p` at buf[off]; returns the frame length. */
export function writeFrame(buf: Buffer, off: number, p: PacketSpec): number {
  let o = off;
  buf.writeUInt32BE(MAC_HIGH, o);
  buf.writeUInt16BE(p.outbound ? GATEWAY_MAC_LOW : HOST_MAC_LOW, o + 4);
  buf.writeUInt32BE(MAC_HIGH, o + 6);
  buf.writeUInt16BE(p.outbound ? HOST_MAC_LOW : GATEWAY_MAC_LOW, o + 10);
  o += 12;
  if (p.vlan >= 0) {
    buf.writeUInt16BE(0x8100, o);
    buf.writeUInt16BE(p.vlan & 0x0fff, o + 2);
    o += VLAN_TAG;
  }
  buf.writeUInt16BE(p.v6 ? 0x86dd : 0x0800, o);
  o += 2;

  const options = p.proto === TCP && (p.flags & SYN) !== 0 ? TCP_MSS_OPTION : 0;
  const l4 = (p.proto === TCP ? TCP_HDR + options : UDP_HDR) + p.payloadLength;
  o = p.v6 ? writeIpv6(buf, o, p, l4) : writeIpv4(buf, o, p, l4);

  buf.writeUInt16BE(p.sport, o);
  buf.writeUInt16BE(p.dport, o + 2);
  if (p.proto === TCP) {
    buf.writeUInt32BE(p.seq >>> 0, o + 4);
    buf.writeUInt32BE((p.flags & ACK) !== 0 ? p.ack >>> 0 : 0, o + 8);
    buf[o + 12] = ((TCP_HDR + options) / 4) << 4;
    buf[o + 13] = p.flags;
    buf.writeUInt32BE(0xffff0000, o + 14); // window 65535, checksum 0
    buf.writeUInt16BE(0, o + 18);
    o += TCP_HDR;
    if (options > 0) {
      buf.writeUInt32BE(0x020405b4, o);
      o += options;
    }
  } else {
    buf.writeUInt16BE(UDP_HDR + p.payloadLength, o + 4);
    buf.writeUInt16BE(0, o + 6);
    o += UDP_HDR;
  }
  const l4Start = o - (l4 - p.payloadLength);
  if (p.payload !== null && p.payloadLength > 0) {
    p.payload.copy(buf, o, 0, p.payloadLength);
    o += p.payloadLength;
  }
  if (p.v6 && p.proto === UDP) buf.writeUInt16BE(udp6Checksum(buf, l4Start - IPV6, l4Start, l4), l4Start + 6);
  return o - off;
}

function writeIpv4(buf: Buffer, o: number, p: PacketSpec, l4: number): number {
  buf[o] = 0x45;
  buf[o + 1] = 0;
  buf.writeUInt16BE(IPV4 + l4, o + 2);
  p.ipId = (p.ipId + 1) & 0xffff;
  buf.writeUInt16BE(p.ipId, o + 4);
  buf.writeUInt16BE(0x4000, o + 6); // DF, not fragmented
  buf[o + 8] = 64;
  buf[o + 9] = p.proto;
  buf.writeUInt16BE(0, o + 10);
  copySmall(p.src, buf, o + 12, 4);
  copySmall(p.dst, buf, o + 16, 4);
  return o + IPV4;
}

function writeIpv6(buf: Buffer, o: number, p: PacketSpec, l4: number): number {
  buf.writeUInt32BE(0x60000000, o);
  buf.writeUInt16BE(l4, o + 4);
  buf[o + 6] = p.proto;
  buf[o + 7] = 64;
  copySmall(p.src, buf, o + 8, 16);
  copySmall(p.dst, buf, o + 24, 16);
  return o + IPV6;
}

/** Byte loop for addresses: Buffer#copy's native call costs more than 4–16 plain stores. */
function copySmall(from: Buffer, to: Buffer, at: number, n: number): void {
  for (let i = 0; i < n; i++) to[at + i] = from[i];
}

/** RFC 768 / RFC 8200 §8.1 checksum: pseudo-header (addresses, length, next header) + datagram. */
function udp6Checksum(buf: Buffer, ip: number, udp: number, length: number): number {
  let sum = length + UDP;
  for (let i = ip + 8; i < ip + 40; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  const end = udp + length;
  let i = udp;
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  return c === 0 ? 0xffff : c;
}
