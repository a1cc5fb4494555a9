// DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message is preceded by a 2-byte length.
// A segment may hold several messages, and a message may span segments. One small state per
// stream (keyed by the caller's flow key, one direction); whole messages inside a segment are
// handed out as views of the caller's buffer without copying, and only an incomplete tail is
// copied (the capture buffer is reused by libpcap).
//
// The tail is kept in a buffer with room to grow (doubling, up to one whole message), and each
// later segment's bytes are copied in once. Joining the tail and the segment anew for every
// segment (as this did) copied the whole tail again each time: a 65,535-byte message sent in
// 1-byte segments, which anyone can send from port 53, cost ~20 µs a segment (1.3 s for the
// message) where ~1 µs does now.
import { OrderedMap } from '../collections/index.js';
import { DnsStats } from './stats.js';

export type DnsMessageHandler = (buf: Buffer, offset: number, length: number) => void;

export interface DnsTcpStreamsOptions {
  /** Streams tracked at once (LRU); default 1024. Each holds at most 65537 bytes. */
  maxStreams?: number;
  /** Counters to write into (tcpMessages, tcpResyncs, tcpEvictions); default: own. */
  stats?: DnsStats;
}

/** Smallest DNS message: the 12-byte header. A shorter length prefix cannot be DNS. */
const MIN_MESSAGE = 12;
/** Length prefix + largest message. */
export const MAX_STREAM_BYTES = 2 + 0xffff;

interface Stream {
  /** Sequence number of the next byte we expect. */
  nextSeq: number;
  /** Bytes of an incomplete message (copied) in pending[0, held), or null. */
  pending: Buffer | null;
  held: number;
}

/** Room first given to an incomplete message's bytes (most DNS-over-TCP answers are smaller). */
const FIRST_ROOM = 512;

export class DnsTcpStreams {
  readonly stats: DnsStats;
  private readonly maxStreams: number;
  /** Least recently used first (O(1) eviction: collections/order.ts). */
  private readonly streams = new OrderedMap<string, Stream>();

  constructor(opts: DnsTcpStreamsOptions = {}) {
    this.maxStreams = Math.max(1, opts.maxStreams ?? 1024);
    this.stats = opts.stats ?? new DnsStats();
  }

  get size(): number {
    return this.streams.size;
  }

  /** Feeds one segment's payload; calls onMessage for each complete DNS message. */
  push(key: string, seq: number, buf: Buffer, offset: number, length: number, onMessage: DnsMessageHandler): void {
    const end = Math.min(buf.length, offset + length);
    if (offset < 0 || end <= offset) return;
    seq >>>= 0;
    let st = this.streams.get(key);
    if (st === undefined) {
      // The first payload we see is taken as a message boundary; if it is not, the length
      // check below resyncs.
      st = { nextSeq: seq, pending: null, held: 0 };
      this.touch(key, st);
    } else {
      this.streams.set(key, st, true);
    }
    const segEnd = (seq + (end - offset)) >>> 0;
    // Signed 32-bit distance handles sequence wrap-around (RFC 1982-style comparison).
    const ahead = (seq - st.nextSeq) | 0;
    if (ahead > 0) {
      // Bytes are missing: the partial message cannot be completed. Restart at this segment.
      this.stats.tcpResyncs++;
      st.pending = null;
      st.held = 0;
    } else if (ahead < 0) {
      // Retransmission or overlap: skip the bytes we already had.
      offset += -ahead;
      if (offset >= end) return;
    }
    st.nextSeq = segEnd;
    if (st.pending !== null) {
      const need = st.held + (end - offset);
      if (need > st.pending.length) {
        const grown = Buffer.alloc(Math.max(need, Math.min(2 * st.pending.length, MAX_STREAM_BYTES)));
        st.pending.copy(grown, 0, 0, st.held);
        st.pending = grown;
      }
      buf.copy(st.pending, st.held, offset, end);
      st.held = need;
      this.drain(st, st.pending, 0, need, onMessage);
    } else {
      this.drain(st, buf, offset, end, onMessage);
    }
  }

  /** Forgets a stream (FIN or RST seen). */
  end(key: string): void {
    this.streams.delete(key);
  }

  /** Hands out the whole messages of buf[off, end) (the caller's segment, or st.pending) and keeps the incomplete tail. */
  private drain(st: Stream, buf: Buffer, off: number, end: number, onMessage: DnsMessageHandler): void {
    while (end - off >= 2) {
      const len = buf.readUInt16BE(off);
      if (len < MIN_MESSAGE) {
        // Not a DNS length prefix: we are out of step with the stream. Drop what is held.
        this.stats.tcpResyncs++;
        off = end;
        break;
      }
      if (end - off < 2 + len) break;
      this.stats.tcpMessages++;
      onMessage(buf, off + 2, len);
      off += 2 + len;
    }
    const rest = end - off;
    if (rest === 0) {
      st.pending = null;
      st.held = 0;
    } else if (buf === st.pending) {
      // The tail of what was held: moved to the front, where the next segment's bytes join it.
      if (off > 0) buf.copyWithin(0, off, end);
      st.held = rest;
    } else {
      // Incomplete tail (< 65537 bytes by construction): copied, the caller's buffer is not ours.
      st.pending = Buffer.alloc(Math.max(rest, FIRST_ROOM));
      buf.copy(st.pending, 0, off, end);
      st.held = rest;
    }
  }

  private touch(key: string, st: Stream): void {
    this.streams.set(key, st);
    this.stats.tcpEvictions += this.streams.trim(this.maxStreams);
  }
}
