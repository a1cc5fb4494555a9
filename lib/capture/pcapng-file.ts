// The replay's own reader of the pcapng files Wireshark, dumpcap, tshark and editcap write in
// the common form: one section (version 1.0, either byte order), interfaces of one link type
// with microsecond or nanosecond timestamps, enhanced packet blocks; other block types (name
// resolution, interface statistics, decryption secrets, custom) are skipped, as libpcap skips
// them. Like pcap-file.ts it reads 1 MiB chunks and hands each packet over where it lies: ~230
// ns a packet on the bench machine against libpcap's ~520 (the bench capture converted by
// editcap). A paused replay goes on from the block where it stopped, with what the blocks
// before it said (the byte order, the interfaces): `resume`. Everything else is left to libpcap
// from the block where it appears (`handOff`): a second section, an interface of another link
// type or snap length (which libpcap refuses, and pcapng.ts then reads), other timestamp
// resolutions or offsets, simple and obsolete packet blocks, a packet longer than its
// interface's snap length, a block that is malformed or cut short. So the packets delivered are
// the ones libpcap delivers, with the same lengths and timestamps (libpcap's, in microseconds:
// nanoseconds truncated) (test/capture/pcapng-file.test.ts checks both over captures converted
// by editcap and the corpus). A block larger than the read chunk is left to libpcap too.
import type { PacketCallback } from './callback.js';
import { CHUNK, FileWindow } from './file-window.js';
import { MAXIMUM_SNAPLEN, dltOf, u32, withCaptureFile } from './pcap-file.js';

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

export interface PcapngFileResult {
  /** Packets read by this call (passed to the callback, and skipped). */
  packets: number;
  paused: boolean;
  /** Paused: where the next read goes on (PcapngFileOptions.from). */
  resume?: PcapngResume;
  /** Stopped before a block that libpcap should read (see above). */
  handOff: boolean;
  /** The link type of the file's interfaces (-1 before the first one). */
  linkType: number;
}

export interface PcapngFileOptions {
  /** Packets read and not passed on before the first one that is. */
  skip?: number;
  /** Go on from where a paused read of the same file stopped (its result's `resume`), not from the start. */
  from?: PcapngResume;
  /** Asked after every `pauseEvery` packets passed on: true stops the read after that packet. */
  shouldPause?: () => boolean;
  pauseEvery?: number;
}

/** Byte order, the link type and, per interface, the divisor from its time units to seconds and its snap length. */
interface Section {
  littleEndian: boolean;
  linkType: number;
  divisors: number[];
  snapLengths: number[];
}

/**
 * Where a paused read stopped: the offset of the next block, and what the blocks before it
 * said (the section's byte order, its interfaces), which the packets after it need.
 */
export interface PcapngResume {
  readonly offset: number;
  readonly section: Readonly<Section>;
}

function copySection(s: Readonly<Section>): Section {
  return { littleEndian: s.littleEndian, linkType: s.linkType, divisors: s.divisors.slice(), snapLengths: s.snapLengths.slice() };
}

/** True when `head` (a file's first 12 bytes or more) starts a pcapng section this reader takes. */
export function isPlainPcapng(head: Buffer): boolean {
  if (head.length < 16 || head.readUInt32LE(0) !== SHB) return false;
  const le = head.readUInt32LE(8) === BYTE_ORDER_MAGIC;
  if (!le && head.readUInt32BE(8) !== BYTE_ORDER_MAGIC) return false;
  return (le ? head.readUInt16LE(12) : head.readUInt16BE(12)) === 1 && (le ? head.readUInt16LE(14) : head.readUInt16BE(14)) === 0;
}

/**
 * Reads the pcapng file at `path` (isPlainPcapng) from its start (or `opts.from`), calling
 * `onPacket(chunk, caplen, wireLen, tsMs, linkType, undefined, at)` for each packet after
 * `skip`: the packet's bytes are chunk[at, at + caplen), valid only during the call. Throws
 * CaptureError when the file cannot be opened; what onPacket throws is thrown on.
 */
export function readPcapngFile(path: string, onPacket: PacketCallback, opts: PcapngFileOptions = {}): PcapngFileResult {
  return withCaptureFile(path, (fd) => new Reader(fd, opts.from).run(onPacket, opts));
}

class Reader {
  private readonly w: FileWindow;
  private readonly chunk: Buffer;
  private readonly st: Section;
  private readonly start: number;

  constructor(fd: number, from?: PcapngResume) {
    this.start = from?.offset ?? 0;
    this.st = from ? copySection(from.section) : { littleEndian: true, linkType: -1, divisors: [], snapLengths: [] };
    this.w = new FileWindow(fd, this.start);
    this.chunk = this.w.buf;
  }

  run(onPacket: PacketCallback, opts: PcapngFileOptions): PcapngFileResult {
    const skip = opts.skip ?? 0;
    const pauseEvery = opts.pauseEvery ?? 1024;
    const shouldPause = opts.shouldPause;
    const st = this.st;
    let packets = 0;
    let at = this.start;
    const done = (paused: boolean, handOff: boolean): PcapngFileResult => ({
      packets, paused, handOff, linkType: st.linkType, ...(paused ? { resume: { offset: at, section: copySection(st) } } : {}),
    });
    for (;;) {
      // A block's type and length, then the whole block, in the chunk.
      let p = this.w.bytes(at, 12);
      // The end: clean only after a whole block, and with an interface (libpcap refuses a file
      // without one); a block cut short or a read that failed is libpcap's to report.
      if (p < 0) return done(false, !this.w.endsAt(at) || st.linkType < 0);
      const c = this.chunk;
      const type = this.u32(c, p);
      if (type === SHB) {
        // The first section only: a later one (a new byte order, new interfaces) is libpcap's.
        const head = this.w.bytes(at, 16);
        if (at !== 0 || head < 0 || !isPlainPcapng(c.subarray(head, head + 16))) return done(false, true);
        p = head;
        st.littleEndian = c.readUInt32LE(p + 8) === BYTE_ORDER_MAGIC;
      }
      const length = this.u32(c, p + 4);
      if (length < 12 || length % 4 !== 0 || length > CHUNK) return done(false, true);
      p = this.w.bytes(at, length);
      if (p < 0 || this.u32(c, p + length - 4) !== length) return done(false, true);
      if (type === IDB) {
        if (!this.interface(p, length)) return done(false, true);
      } else if (type === EPB) {
        if (length < 32) return done(false, true);
        const iface = this.u32(c, p + 8);
        if (iface >= st.divisors.length) return done(false, true);
        const caplen = this.u32(c, p + 20);
        if (caplen > st.snapLengths[iface] || 28 + caplen > length - 4) return done(false, true);
        const tsMs = timeMs(this.u32(c, p + 12), this.u32(c, p + 16), st.divisors[iface]);
        const wireLen = this.u32(c, p + 24);
        packets++;
        if (packets > skip) {
          onPacket(c, caplen, wireLen, tsMs, st.linkType, undefined, p + 28);
          at += length;
          if (shouldPause !== undefined && (packets - skip) % pauseEvery === 0 && shouldPause()) return done(true, false);
          continue;
        }
      } else if (type === 2 || type === 3) {
        // Obsolete and simple packet blocks: rare, and libpcap has rules of its own for them.
        return done(false, true);
      }
      at += length;
    }
  }

  /** An interface description: its link type (the file's first one's), resolution and snap length. */
  private interface(p: number, length: number): boolean {
    const c = this.chunk;
    const st = this.st;
    if (length < 20) return false;
    const linkType = dltOf(this.u16(c, p + 8));
    if (st.linkType >= 0 && linkType !== st.linkType) return false;
    let divisor = 1e6;
    for (let o = p + 16; o + 4 <= p + length - 4;) {
      const code = this.u16(c, o);
      const len = this.u16(c, o + 2);
      if (o + 4 + len > p + length - 4) return false;
      if (code === OPT_END) break;
      if (code === IF_TSRESOL) {
        if (len !== 1) return false;
        const r = c[o + 4];
        if (r === 6) divisor = 1e6;
        else if (r === 9) divisor = 1e9;
        else return false;
      } else if (code === IF_TSOFFSET) {
        return false;
      }
      o += 4 + ((len + 3) & ~3);
    }
    const raw = this.u32(c, p + 12);
    const snap = raw === 0 || raw > MAXIMUM_SNAPLEN ? MAXIMUM_SNAPLEN : raw;
    // libpcap refuses an interface whose snap length differs from the first one's (and pcapng.ts reads on).
    if (st.snapLengths.length > 0 && snap !== st.snapLengths[0]) return false;
    st.linkType = linkType;
    st.divisors.push(divisor);
    st.snapLengths.push(snap);
    return true;
  }

  private u16(b: Buffer, at: number): number {
    return this.st.littleEndian ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1];
  }

  private u32(b: Buffer, at: number): number {
    return u32(b, at, this.st.littleEndian);
  }
}

/**
 * libpcap's time of a timestamp of `hi`·2^32 + `lo` units of 1/divisor s: whole seconds and
 * microseconds (a nanosecond one truncated), as ms. Exact for every 64-bit value: the division
 * goes 16 bits at a time (a double holds 53 bits, nanoseconds since 1970 need 61).
 */
function timeMs(hi: number, lo: number, divisor: number): number {
  let cur = hi >>> 16;
  let sec = Math.floor(cur / divisor);
  let r = cur - sec * divisor;
  cur = r * 65536 + (hi & 0xffff);
  let q = Math.floor(cur / divisor);
  r = cur - q * divisor;
  sec = sec * 65536 + q;
  cur = r * 65536 + (lo >>> 16);
  q = Math.floor(cur / divisor);
  r = cur - q * divisor;
  sec = sec * 65536 + q;
  cur = r * 65536 + (lo & 0xffff);
  q = Math.floor(cur / divisor);
  r = cur - q * divisor;
  sec = sec * 65536 + q;
  const us = divisor === 1e6 ? r : Math.floor(r / 1000);
  // The binding hands libpcap's seconds over as 32 bits: past 2106 they wrap, here too.
  return (sec % 4294967296) * 1000 + us / 1000;
}
