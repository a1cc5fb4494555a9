// Classic pcap writer (microsecond timestamps, little-endian, LINKTYPE_ETHERNET) that fills
// one large chunk in place and writes it with one syscall when nearly full: frames are built
// directly at their final position, so there is no per-packet Buffer and no per-packet write.
import fs from 'node:fs';

export const LINKTYPE_ETHERNET = 1;
const PCAP_MAGIC_US = 0xa1b2c3d4;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/** 8 MiB chunks: large enough that write(2) cost is negligible, small enough to stay in cache-friendly range. */
const CHUNK = 8 * 1024 * 1024;
/** No frame we build exceeds this (Ethernet + VLAN + IPv6 + TCP options + 1400 payload). */
export const MAX_FRAME = 2048;
const SNAPLEN = 65535;

export class PcapWriter {
  readonly buf = Buffer.alloc(CHUNK);
  private pos = 0;
  private readonly fd: number;
  packets = 0;
  bytes = 0;

  constructor(path: string) {
    this.fd = fs.openSync(path, 'w');
    const h = this.buf;
    h.writeUInt32LE(PCAP_MAGIC_US, 0);
    h.writeUInt16LE(2, 4); // version 2.4
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8); // thiszone
    h.writeUInt32LE(0, 12); // sigfigs
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.pos = GLOBAL_HEADER;
  }

  /** Offset in `buf` where the caller writes the next frame (at most MAX_FRAME bytes). */
  frameStart(): number {
    if (this.pos + RECORD_HEADER + MAX_FRAME > CHUNK) this.flush();
    return this.pos + RECORD_HEADER;
  }

  /** Commits the frame written at frameStart() with its length and timestamp (µs since epoch). */
  commit(frameLength: number, tsUs: number): void {
    const b = this.buf;
    const p = this.pos;
    const sec = Math.floor(tsUs / 1e6);
    b.writeUInt32LE(sec, p);
    b.writeUInt32LE(tsUs - sec * 1e6, p + 4);
    b.writeUInt32LE(frameLength, p + 8);
    b.writeUInt32LE(frameLength, p + 12);
    this.pos = p + RECORD_HEADER + frameLength;
    this.packets++;
    this.bytes += RECORD_HEADER + frameLength;
  }

  private flush(): void {
    let off = 0;
    while (off < this.pos) off += fs.writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }

  /** Writes what is buffered and closes the file; returns the file size. */
  close(): number {
    this.flush();
    fs.closeSync(this.fd);
    return GLOBAL_HEADER + this.bytes;
  }
}
