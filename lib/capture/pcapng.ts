// A pcapng reader for the one kind of file libpcap refuses: interfaces of different link types
// in one file. Wireshark writes those whenever it captures on several interfaces at once (an
// Ethernet NIC and `any`, a NIC and a VPN tunnel) and `mergecap` of captures of different link
// types does too; libpcap stops at the first interface block whose link type differs from the
// first one's. Every packet here carries its own interface's link type, which the decoder
// takes per packet anyway.
//
// Format: draft-ietf-opsawg-pcapng. Blocks: section header (its byte-order magic sets the
// order of the section), interface description (link type, snap length; options if_tsresol
// and if_tsoffset), enhanced packet, simple packet (interface 0, no timestamp), obsolete
// packet. Other blocks are skipped by their length. Interface ids restart with each section.
// Every length is checked against the block; a block that does not fit ends the read
// (`readError`), as libpcap would stop there.
import fs from 'node:fs';
import type { PacketCallback } from './callback.js';

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const OPB = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
/** Largest block read; libpcap's own bound for a pcapng block is 16 MiB. */
const MAX_BLOCK = 16 * 1024 * 1024;
/** The file is read in chunks of this size (a block larger than a chunk is read on its own). */
const CHUNK = 1 << 20;

interface Iface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per millisecond. */
  unitsPerMs: number;
  /** Seconds added to every timestamp (if_tsoffset). */
  offsetMs: number;
}

export interface PcapngResult {
  /** Packets handed to the callback (after `skip`). */
  packets: number;
  /** Packet records read from the start of the file, the skipped ones included. */
  records: number;
  /** Link types of the interfaces, in file order. */
  linkTypes: number[];
  /** The read stopped at a block that is cut short or malformed; the packets before it were delivered. */
  readError: boolean;
}

/**
 * Reads the pcapng file at `path` and calls `onPacket` for each packet, in file order, after
 * the first `skip` packets (those libpcap delivered before it gave up). Each packet is copied
 * into `packet` (the replay's buffer, which the binding filled before), at most its length,
 * and handed on in it. Throws only when the file cannot be opened or is not pcapng.
 */
export function replayPcapng(path: string, onPacket: PacketCallback, packet: Buffer, skip = 0): PcapngResult {
  const fd = fs.openSync(path, 'r');
  try {
    return new Reader(fd, fs.fstatSync(fd).size, packet).run(onPacket, skip);
  } finally {
    fs.closeSync(fd);
  }
}

class Reader {
  private chunk = Buffer.alloc(CHUNK);
  /** File offset of chunk[0] and the bytes of the chunk that are valid. */
  private chunkAt = 0;
  private chunkLength = 0;
  private le = true;
  private ifaces: Iface[] = [];
  private readonly linkTypes: number[] = [];
  private lastTsMs = 0;

  constructor(private readonly fd: number, private readonly size: number, private readonly packet: Buffer) {}

  run(onPacket: PacketCallback, skip: number): PcapngResult {
    let seen = 0;
    let delivered = 0;
    let off = 0;
    const head = this.block(0, 12);
    if (head === undefined || head.readUInt32LE(0) !== SHB) throw new Error('not a pcapng file');
    while (off < this.size) {
      const h = this.block(off, 12);
      if (h === undefined) return this.result(delivered, seen, true);
      if (h.readUInt32LE(0) === SHB) {
        const magic = h.readUInt32LE(8);
        if (magic === BYTE_ORDER_MAGIC) this.le = true;
        else if (h.readUInt32BE(8) === BYTE_ORDER_MAGIC) this.le = false;
        else return this.result(delivered, seen, true);
        this.ifaces = [];
      }
      const type = this.u32(h, 0);
      const length = this.u32(h, 4);
      if (length < 12 || length % 4 !== 0 || length > MAX_BLOCK || off + length > this.size) return this.result(delivered, seen, true);
      const b = this.block(off, length);
      if (b === undefined || this.u32(b, length - 4) !== length) return this.result(delivered, seen, true);
      if (type === IDB) {
        if (!this.interfaceBlock(b, length)) return this.result(delivered, seen, true);
      } else if (type === EPB || type === SPB || type === OPB) {
        const p = this.packetBlock(type, b, length);
        if (p === undefined) return this.result(delivered, seen, true);
        // A simple packet block has no timestamp: it keeps the time of the packet before it.
        if (type !== SPB) this.lastTsMs = p.tsMs;
        if (seen++ >= skip) {
          b.copy(this.packet, 0, p.dataAt, p.dataAt + p.caplen);
          delivered++;
          onPacket(this.packet, p.caplen, p.wireLen, this.lastTsMs, p.iface.linkType);
        }
      }
      off += length;
    }
    return this.result(delivered, seen, false);
  }

  private result(packets: number, records: number, readError: boolean): PcapngResult {
    return { packets, records, linkTypes: this.linkTypes, readError };
  }

  private interfaceBlock(b: Buffer, length: number): boolean {
    if (length < 20) return false;
    const iface: Iface = { linkType: this.u16(b, 8), snapLength: this.u32(b, 12), unitsPerMs: 1000, offsetMs: 0 };
    // Options: code u16, length u16, value padded to 4 bytes; up to the trailing length.
    for (let at = 16; at + 4 <= length - 4;) {
      const code = this.u16(b, at);
      const len = this.u16(b, at + 2);
      const value = at + 4;
      if (value + len > length - 4) return false;
      if (code === OPT_END) break;
      if (code === IF_TSRESOL && len >= 1) {
        const r = b[value];
        const exp = r & 0x7f;
        // 10^-n or 2^-n seconds per unit; 10^-3 (ms) and beyond, units per ms is 10^(n-3).
        const unitsPerSecond = (r & 0x80) === 0 ? 10 ** exp : 2 ** exp;
        iface.unitsPerMs = unitsPerSecond / 1000;
      } else if (code === IF_TSOFFSET && len >= 8) {
        iface.offsetMs = this.i64(b, value) * 1000;
      }
      at = value + ((len + 3) & ~3);
    }
    this.ifaces.push(iface);
    this.linkTypes.push(iface.linkType);
    return true;
  }

  private packetBlock(type: number, b: Buffer, length: number): { iface: Iface; dataAt: number; caplen: number; wireLen: number; tsMs: number } | undefined {
    if (type === SPB) {
      const iface = this.ifaces[0];
      if (iface === undefined || length < 16) return undefined;
      const wireLen = this.u32(b, 8);
      let caplen = Math.min(wireLen, length - 16);
      if (iface.snapLength > 0) caplen = Math.min(caplen, iface.snapLength);
      return { iface, dataAt: 12, caplen: Math.min(caplen, this.packet.length), wireLen, tsMs: 0 };
    }
    if (length < 32) return undefined;
    const id = type === EPB ? this.u32(b, 8) : this.u16(b, 8);
    const iface = this.ifaces[id];
    if (iface === undefined) return undefined;
    const units = this.u32(b, 12) * 2 ** 32 + this.u32(b, 16);
    const caplen = this.u32(b, 20);
    const wireLen = this.u32(b, 24);
    if (28 + caplen > length - 4) return undefined;
    return { iface, dataAt: 28, caplen: Math.min(caplen, this.packet.length), wireLen, tsMs: units / iface.unitsPerMs + iface.offsetMs };
  }

  /** Bytes [at, at + length) of the file, or undefined past its end. Valid until the next call. */
  private block(at: number, length: number): Buffer | undefined {
    if (at + length > this.size) return undefined;
    if (at < this.chunkAt || at + length > this.chunkAt + this.chunkLength) {
      if (length > this.chunk.length) this.chunk = Buffer.alloc(length);
      this.chunkAt = at;
      this.chunkLength = fs.readSync(this.fd, this.chunk, 0, Math.min(this.chunk.length, this.size - at), at);
      if (this.chunkLength < length) return undefined;
    }
    return this.chunk.subarray(at - this.chunkAt, at - this.chunkAt + length);
  }

  private u16(b: Buffer, at: number): number {
    return this.le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }

  private u32(b: Buffer, at: number): number {
    return this.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }

  private i64(b: Buffer, at: number): number {
    return Number(this.le ? b.readBigInt64LE(at) : b.readBigInt64BE(at));
  }
}
