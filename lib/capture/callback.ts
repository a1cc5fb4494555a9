import { HEADER_LENGTH } from './binding.js';

/**
 * tsMs = sec * 1000 + usec / 1000 (sub-millisecond fraction kept). `handle`: which interface of
 * a live capture on several (its place in LiveOptions.interfaces); undefined for one, and in a replay.
 * `offset`: where the frame starts in buf (0 when undefined): the frame is buf[offset, offset + caplen).
 */
export type PacketCallback = (buf: Buffer, caplen: number, wireLen: number, tsMs: number, linkType: number, handle?: number, offset?: number) => void;

/**
 * The per-session pair of buffers the binding copies into, and the function it calls once per
 * packet. An exception thrown from the binding's callback is a fatal process exit
 * (Nan::FatalException), so the user callback runs inside try/catch here and failures are
 * counted and handed to `onError`.
 */
export class PacketReader {
  readonly buf: Buffer;
  readonly header = Buffer.alloc(HEADER_LENGTH);
  /**
   * The header's four fields as the binding writes them, u32 in host order: exactly what a
   * Uint32Array view reads (Buffer.alloc gives the header an ArrayBuffer of its own, so the view
   * is aligned). Buffer's readUInt32LE/BE per field had cost an eighth of the bare replay loop.
   */
  private readonly fields = new Uint32Array(this.header.buffer, this.header.byteOffset, HEADER_LENGTH / 4);
  packets = 0;
  callbackErrors = 0;
  /** Set while closing: packets still delivered by libpcap are dropped, not passed on. */
  muted = false;
  readonly ready: () => void;

  constructor(bufferLength: number, linkType: () => number, onPacket: PacketCallback, onError: (err: unknown) => void) {
    this.buf = Buffer.alloc(bufferLength);
    this.ready = () => {
      if (this.muted) return;
      this.packets++;
      try {
        const h = this.fields;
        const sec = h[0];
        const usec = h[1];
        const caplen = h[2];
        const wireLen = h[3];
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
