// Frame builders for tests: Ethernet (with VLAN tags), Linux cooked v1/v2, BSD NULL, IPv4,
// IPv6 (with extension headers), TCP, UDP, and a pcap file writer. Lengths are computed
// unless a test overrides them to build a malformed frame. Addresses: RFC 5737 / RFC 3849.
import fs from 'node:fs';
import ipaddr from 'ipaddr.js';

/** Bytes from a tcpdump -X style dump: hex digits, whitespace ignored, `#` starts a comment. */
export function hex(dump: string): Buffer {
  const digits = dump.split('\n').map((line) => line.replace(/#.*/, '')).join('').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex dump: ${digits}`);
  return Buffer.from(digits, 'hex');
}

export function addressBytes(address: string): Buffer {
  return Buffer.from(ipaddr.parse(address).toByteArray());
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_ARP = 0x0806;

export interface VlanTag { tpid?: number; id: number; pcp?: number }

export interface EthernetOptions {
  dst?: string; // aa:bb:cc:dd:ee:ff
  src?: string;
  type: number;
  vlans?: VlanTag[]; // outermost first
}

const mac = (s: string): Buffer => Buffer.from(s.replace(/:/g, ''), 'hex');

export function ethernet(o: EthernetOptions, payload: Buffer): Buffer {
  const tags = (o.vlans ?? []).map((t, i, all) => {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(((t.pcp ?? 0) << 13) | t.id, 0);
    b.writeUInt16BE(i + 1 < all.length ? (all[i + 1].tpid ?? 0x8100) : o.type, 2);
    return b;
  });
  const firstType = o.vlans && o.vlans.length > 0 ? (o.vlans[0].tpid ?? 0x8100) : o.type;
  const head = Buffer.alloc(14);
  mac(o.dst ?? '02:00:00:00:00:02').copy(head, 0);
  mac(o.src ?? '02:00:00:00:00:01').copy(head, 6);
  head.writeUInt16BE(firstType, 12);
  return Buffer.concat([head, ...tags, payload]);
}

/** Linux cooked capture v1 header + payload. packetType: 0 host, 4 outgoing. */
export function sll(o: { packetType?: number; protocol: number; arphrd?: number }, payload: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(o.packetType ?? 0, 0);
  h.writeUInt16BE(o.arphrd ?? 1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  mac('02:00:00:00:00:01').copy(h, 6);
  h.writeUInt16BE(o.protocol, 14);
  return Buffer.concat([h, payload]);
}

/** Linux cooked capture v2 header + payload. */
export function sll2(o: { packetType?: number; protocol: number; ifindex?: number; arphrd?: number }, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(o.protocol, 0);
  h.writeUInt32BE(o.ifindex ?? 2, 4);
  h.writeUInt16BE(o.arphrd ?? 1, 8); // ARPHRD_ETHER
  h.writeUInt8(o.packetType ?? 0, 10);
  h.writeUInt8(6, 11);
  mac('02:00:00:00:00:01').copy(h, 12);
  return Buffer.concat([h, payload]);
}

/** BSD loopback header: address family as 4 bytes, little- or big-endian. */
export function nullHeader(family: number, littleEndian: boolean, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  if (littleEndian) h.writeUInt32LE(family, 0);
  else h.writeUInt32BE(family, 0);
  return Buffer.concat([h, payload]);
}

export interface Ipv4Options {
  src: string;
  dst: string;
  protocol: number;
  ttl?: number;
  id?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  fragmentOffset?: number; // in 8-byte units
  options?: Buffer; // multiple of 4 bytes
  totalLength?: number; // override
  ihl?: number; // override, in 32-bit words
}

export function ipv4(o: Ipv4Options, payload: Buffer): Buffer {
  const options = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + options.length);
  h[0] = 0x40 | (o.ihl ?? h.length / 4);
  h.writeUInt16BE(o.totalLength ?? h.length + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  const flags = (o.dontFragment ? 0x4000 : 0) | (o.moreFragments ? 0x2000 : 0);
  h.writeUInt16BE(flags | (o.fragmentOffset ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.protocol;
  addressBytes(o.src).copy(h, 12);
  addressBytes(o.dst).copy(h, 16);
  options.copy(h, 20);
  h.writeUInt16BE(ipv4Checksum(h), 10);
  return Buffer.concat([h, payload]);
}

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv6 extension header: `data` follows the (next header, length) pair; padded to 8 bytes. */
export interface Ipv6Extension { type: number; data?: Buffer }

export interface Ipv6Options {
  src: string;
  dst: string;
  nextHeader: number; // upper-layer protocol after the extensions
  extensions?: Ipv6Extension[];
  hopLimit?: number;
  payloadLength?: number; // override
}

export function ipv6(o: Ipv6Options, payload: Buffer): Buffer {
  const exts = o.extensions ?? [];
  const parts = exts.map((e, i) => {
    const next = i + 1 < exts.length ? exts[i + 1].type : o.nextHeader;
    return extensionBytes(e, next);
  });
  const body = Buffer.concat([...parts, payload]);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(o.payloadLength ?? body.length, 4);
  h[6] = exts.length > 0 ? exts[0].type : o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  addressBytes(o.src).copy(h, 8);
  addressBytes(o.dst).copy(h, 24);
  return Buffer.concat([h, body]);
}

function extensionBytes(e: Ipv6Extension, next: number): Buffer {
  const data = e.data ?? Buffer.alloc(e.type === 44 ? 6 : 0);
  if (e.type === 44) {
    // Fragment header is fixed: next header, reserved, then 6 bytes (offset/flags, identification).
    return Buffer.concat([Buffer.from([next, 0]), data.subarray(0, 6), Buffer.alloc(Math.max(0, 6 - data.length))]);
  }
  if (e.type === 51) {
    // AH: length in 4-byte units minus 2.
    const total = Math.ceil((2 + data.length) / 4) * 4;
    const b = Buffer.alloc(total);
    b[0] = next;
    b[1] = total / 4 - 2;
    data.copy(b, 2);
    return b;
  }
  const total = Math.ceil((2 + data.length) / 8) * 8;
  const b = Buffer.alloc(total);
  b[0] = next;
  b[1] = total / 8 - 1;
  data.copy(b, 2);
  return b;
}

/** Data of an IPv6 fragment header: offset in 8-byte units, M flag, identification. */
export function fragmentData(offset: number, more: boolean, id = 0x01020304): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE((offset << 3) | (more ? 1 : 0), 0);
  b.writeUInt32BE(id, 2);
  return b;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpOptions {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: Buffer; // multiple of 4 bytes
  dataOffset?: number; // override, in 32-bit words
}

export function tcp(o: TcpOptions, payload: Buffer = Buffer.alloc(0)): Buffer {
  const options = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + options.length);
  h.writeUInt16BE(o.srcPort, 0);
  h.writeUInt16BE(o.dstPort, 2);
  h.writeUInt32BE(o.seq ?? 1000, 4);
  h.writeUInt32BE(o.ack ?? 0, 8);
  h[12] = (o.dataOffset ?? h.length / 4) << 4;
  h[13] = o.flags;
  h.writeUInt16BE(o.window ?? 65535, 14);
  options.copy(h, 20);
  return Buffer.concat([h, payload]);
}

export function udp(o: { srcPort: number; dstPort: number; length?: number }, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(o.srcPort, 0);
  h.writeUInt16BE(o.dstPort, 2);
  h.writeUInt16BE(o.length ?? 8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export interface PcapFrame {
  /** Milliseconds since the epoch (sub-millisecond part kept to the microsecond). */
  ts: number;
  data: Buffer;
  /** Wire length when the frame was cut by the snaplen; default data.length. */
  wireLength?: number;
}

/** Write a classic little-endian microsecond pcap file. */
export function writePcap(path: string, linkType: number, frames: PcapFrame[], snapLength = 262144): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(snapLength, 16);
  header.writeUInt32LE(linkType, 20);
  const records = frames.map((f) => {
    const r = Buffer.alloc(16);
    const sec = Math.floor(f.ts / 1000);
    r.writeUInt32LE(sec, 0);
    r.writeUInt32LE(Math.round((f.ts - sec * 1000) * 1000), 4);
    r.writeUInt32LE(f.data.length, 8);
    r.writeUInt32LE(f.wireLength ?? f.data.length, 12);
    return Buffer.concat([r, f.data]);
  });
  fs.writeFileSync(path, Buffer.concat([header, ...records]));
}
