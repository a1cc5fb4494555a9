// The capture-reader contract tests' helpers: what replayFile delivers from a file, as one digest
// (every packet's bytes, lengths, time and link type, in order) with the result or the error, by
// the reader replayFile picks and by libpcap; and a pcapng block writer.
import crypto from 'node:crypto';
import { replayFile, type PacketCallback, type ReplayOptions, type ReplayResult } from '../../lib/capture/index.js';

export interface Delivered { digest: string; count: number; result: ReplayResult | string }

/** A callback hashing every delivery into `h` (bytes, lengths, time, link type), counting them in `n.count`. */
function hashing(h: crypto.Hash, n: { count: number }): PacketCallback {
  return (buf, caplen, wireLen, tsMs, linkType, _handle, at = 0) => {
    if (at + caplen > buf.length) throw new RangeError(`record ${n.count} lies past its buffer`);
    h.update(buf.subarray(at, at + caplen));
    h.update(`|${caplen} ${wireLen} ${tsMs} ${linkType};`);
    n.count++;
  };
}

/** replayFile's deliveries hashed in order; a throw is kept as its message (both readers must agree on it too). */
export function delivered(file: string, opts: ReplayOptions = {}): Delivered {
  const h = crypto.createHash('sha256');
  const n = { count: 0 };
  let result: ReplayResult | string;
  try {
    result = replayFile(file, hashing(h, n), opts);
  } catch (err) {
    result = (err as Error).message;
  }
  return { digest: h.digest('hex'), count: n.count, result };
}

/**
 * replayFile paused at every `every`-th check and resumed as the replay resumes it (skip, and
 * where the paused read stopped: its `offset` or `pcapng`): the deliveries hashed as
 * delivered() hashes them, the paused results in order, and the last one. Throws after
 * `maxReads` reads (a resume that goes back to the start would pause for ever).
 */
export function deliveredPaused(file: string, every: number, maxReads = 100): { digest: string; count: number; paused: ReplayResult[]; last: ReplayResult } {
  const h = crypto.createHash('sha256');
  const n = { count: 0 };
  const paused: ReplayResult[] = [];
  let asked = 0;
  while (paused.length < maxReads) {
    const before = paused.at(-1);
    const r = replayFile(file, hashing(h, n), {
      skip: before?.packets ?? 0, offset: before?.offset, pcapng: before?.pcapng, shouldPause: () => ++asked % every === 0,
    });
    if (!r.paused) return { digest: h.digest('hex'), count: n.count, paused, last: r };
    paused.push(r);
  }
  throw new Error(`${file}: still paused after ${maxReads} reads`);
}

/** The same through libpcap, whatever the file. */
export function deliveredByLibpcap(file: string, opts: ReplayOptions = {}): Delivered {
  return delivered(file, { ...opts, libpcap: true });
}

/** 32-bit words in the byte order given. */
export function words(le: boolean, ...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => (le ? b.writeUInt32LE(v >>> 0, 4 * i) : b.writeUInt32BE(v >>> 0, 4 * i)));
  return b;
}

/** One pcapng block: type, body padded to 4 bytes, the total length at both ends. */
export function pcapngBlock(le: boolean, type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const length = 12 + padded.length;
  return Buffer.concat([words(le, type, length), padded, words(le, length)]);
}
