import os from 'node:os';
import { HEADER_LENGTH } from './binding.js';

/** tsMs = sec * 1000 + usec / 1000 (sub-millisecond fraction kept). */
export type PacketCallback = (buf: Buffer, caplen: number, wireLen: number, tsMs: number, linkType: number) => void;

/**
 * The per-session pair of buffers the binding copies into, and the function it calls once per
 * packet. An exception thrown from the binding's callback is a fatal process exit
 * (Nan::FatalException), so the user callback runs inside try/catch here and failures are
 * counted and handed to `onError`.
 */
export class PacketReader {
  readonly buf: Buffer;
  readonly header = Buffer.alloc(HEADER_LENGTH);
  packets = 0;
  callbackErrors = 0;
  /** Set while closing: packets still delivered by libpcap are dropped, not passed on. */
  muted = false;
  readonly ready: () => void;
  private readonly littleEndian = os.endianness() === 'LE';

  constructor(bufferLength: number, linkType: () => number, onPacket: PacketCallback, onError: (err: unknown) => void) {
    this.buf = Buffer.alloc(bufferLength);
    this.ready = () => {
      if (this.muted) return;
      this.packets++;
      try {
        const h = this.header;
        const le = this.littleEndian;
        const sec = le ? h.readUInt32LE(0) : h.readUInt32BE(0);
        const usec = le ? h.readUInt32LE(4) : h.readUInt32BE(4);
        const caplen = le ? h.readUInt32LE(8) : h.readUInt32BE(8);
        const wireLen = le ? h.readUInt32LE(12) : h.readUInt32BE(12);
        // The binding copies at most buf.length bytes but reports libpcap's caplen.
        const held = caplen < this.buf.length ? caplen : this.buf.length;
        onPacket(this.buf, held, wireLen, sec * 1000 + usec / 1000, linkType());
      } catch (err) {
        this.callbackErrors++;
        try {
          onError(err);
        } catch {
          // onError must not throw either: the binding would exit the process.
        }
      }
    };
  }
}
