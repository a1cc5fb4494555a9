// The start of a byte stream from pieces that may come in any order, overlap or repeat: TCP
// segments of a client's first bytes (a retransmitted or reordered segment of a ClientHello
// that spans several), CRYPTO frames of a QUIC Initial (Chrome shuffles them).

/** A piece of a stream: where its bytes start in the stream, and the bytes. */
export interface StreamFragment {
  offset: number;
  data: Buffer;
}

/**
 * The contiguous bytes from stream offset 0 that `frags` cover, at most `max` of them (a new
 * buffer; the fragments are not changed). Empty when no fragment starts at 0.
 */
export function contiguousPrefix(frags: readonly StreamFragment[], max: number): Buffer {
  let end = 0;
  for (const f of frags) end = Math.max(end, Math.min(max, f.offset + f.data.length));
  const out = Buffer.allocUnsafe(end);
  // Extend the covered prefix until no fragment adds to it: at most frags.length passes.
  let covered = 0;
  for (let progress = true; progress;) {
    progress = false;
    for (const f of frags) {
      const fEnd = Math.min(end, f.offset + f.data.length);
      if (f.offset <= covered && fEnd > covered) {
        f.data.copy(out, covered, covered - f.offset, fEnd - f.offset);
        covered = fEnd;
        progress = true;
      }
    }
  }
  return out.subarray(0, covered);
}
