import assert from 'node:assert/strict';
import { DnsStats, DnsTcpStreams, parseDnsResponse } from '../../lib/dns/index.js';
import type { DnsResponseInfo } from '../../lib/dns/index.js';
import { a, framed, question, response } from './build.js';

/** Collects parsed responses; copies nothing, like the pipeline. */
function collector(stats = new DnsStats()) {
  const got: DnsResponseInfo[] = [];
  const onMessage = (buf: Buffer, off: number, len: number) => {
    const info = parseDnsResponse(buf, off, len, stats);
    if (info) got.push(info);
  };
  return { got, onMessage, stats };
}

const m1 = framed(response([question('one.example.com')], [a('one.example.com', '192.0.2.1')]));
const m2 = framed(response([question('two.example.com')], [a('two.example.com', '192.0.2.2')]));

describe('dns/DnsTcpStreams', () => {
  it('delivers two messages from one segment', () => {
    const streams = new DnsTcpStreams();
    const c = collector(streams.stats);
    const seg = Buffer.concat([m1, m2]);
    streams.push('k', 1000, seg, 0, seg.length, c.onMessage);
    assert.deepEqual(c.got.map((x) => x.queryName), ['one.example.com', 'two.example.com']);
    assert.equal(streams.stats.tcpMessages, 2);
  });

  it('reassembles one message split across three segments, then reuses the stream', () => {
    const streams = new DnsTcpStreams();
    const c = collector(streams.stats);
    // Cut inside the length prefix (1 byte), then mid-message; the source buffer is
    // overwritten after each push, as libpcap reuses its buffer.
    const cuts = [0, 1, 20, m1.length];
    let seq = 0xfffffff0; // wraps around 2^32 on the way
    const scratch = Buffer.alloc(m1.length);
    for (let i = 0; i < 3; i++) {
      const part = m1.subarray(cuts[i], cuts[i + 1]);
      part.copy(scratch);
      streams.push('k', seq, scratch, 0, part.length, c.onMessage);
      scratch.fill(0xaa);
      seq = (seq + part.length) >>> 0;
    }
    assert.deepEqual(c.got.map((x) => x.answers[0].ip), ['192.0.2.1']);
    streams.push('k', seq, m2, 0, m2.length, c.onMessage);
    assert.equal(c.got.length, 2);
    assert.equal(streams.stats.tcpResyncs, 0);
  });

  it('resets on a sequence gap and resumes at the next message', () => {
    const streams = new DnsTcpStreams();
    const c = collector(streams.stats);
    streams.push('k', 100, m1, 0, 30, c.onMessage);
    // The rest of m1 is lost; the next segment starts a new message further on.
    streams.push('k', 100 + m1.length + 50, m2, 0, m2.length, c.onMessage);
    assert.equal(streams.stats.tcpResyncs, 1);
    assert.deepEqual(c.got.map((x) => x.queryName), ['two.example.com']);
    assert.equal(c.stats.malformedTotal(), 0);
  });

  it('ignores a retransmitted segment and trims an overlapping one', () => {
    const streams = new DnsTcpStreams();
    const c = collector(streams.stats);
    streams.push('k', 0, m1, 0, 30, c.onMessage);
    streams.push('k', 0, m1, 0, 30, c.onMessage);
    streams.push('k', 10, m1, 10, m1.length - 10, c.onMessage);
    assert.equal(c.got.length, 1);
    assert.equal(streams.stats.tcpResyncs, 0);
  });

  it('resyncs on an impossible length prefix', () => {
    const streams = new DnsTcpStreams();
    const c = collector(streams.stats);
    const junk = Buffer.from([0x00, 0x03, 1, 2, 3]);
    streams.push('k', 0, junk, 0, junk.length, c.onMessage);
    assert.equal(streams.stats.tcpResyncs, 1);
    assert.equal(streams.stats.tcpMessages, 0);
  });

  it('keeps streams apart and bounds them by LRU with an eviction counter', () => {
    const streams = new DnsTcpStreams({ maxStreams: 2 });
    const c = collector(streams.stats);
    streams.push('a', 0, m1, 0, 10, c.onMessage);
    streams.push('b', 0, m2, 0, 10, c.onMessage);
    streams.push('a', 10, m1, 10, 5, c.onMessage); // 'a' is now the most recent
    streams.push('c', 0, m2, 0, 10, c.onMessage); // evicts 'b'
    assert.equal(streams.size, 2);
    assert.equal(streams.stats.tcpEvictions, 1);
    streams.push('a', 15, m1, 15, m1.length - 15, c.onMessage);
    assert.deepEqual(c.got.map((x) => x.queryName), ['one.example.com']);
    // 'b' comes back as a new stream starting mid-message: counted, nothing delivered.
    streams.push('b', 10, m2, 10, m2.length - 10, c.onMessage);
    assert.equal(c.got.length, 1);
    assert.equal(streams.stats.tcpResyncs, 1);
    assert.equal(streams.stats.tcpEvictions, 2); // 'c' made room for 'b'
    streams.end('a');
    assert.equal(streams.size, 1);
  });

  it('delivers every message intact however the stream is cut: 1-byte segments, random cuts, a message at the largest size', () => {
    // Messages of 12 to 65,535 bytes, each filled with its own pattern, back to back in one stream.
    const sizes = [12, 300, 65_535, 1_500, 40, 9_000, 12, 65_535, 77];
    const messages = sizes.map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (i * 31 + j * 7) & 0xff)));
    const stream = Buffer.concat(messages.map((m) => { const h = Buffer.alloc(2); h.writeUInt16BE(m.length); return Buffer.concat([h, m]); }));
    let seed = 12_345;
    const next = (): number => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0);
    const cuts: ((at: number) => number)[] = [() => 1, () => 1 + (next() % 3_000), () => 1 + (next() % 70_000)];
    for (const cut of cuts) {
      const streams = new DnsTcpStreams();
      const got: Buffer[] = [];
      for (let at = 0; at < stream.length;) {
        const n = Math.min(cut(at), stream.length - at);
        // Each segment in a buffer of its own, reused afterwards as libpcap reuses its own.
        const seg = Buffer.from(stream.subarray(at, at + n));
        streams.push('k', 5_000 + at, seg, 0, n, (b, o, len) => got.push(Buffer.from(b.subarray(o, o + len))));
        seg.fill(0xee);
        at += n;
      }
      assert.equal(got.length, messages.length);
      got.forEach((m, i) => assert.ok(m.equals(messages[i]), `message ${i} (${sizes[i]} bytes)`));
      assert.equal(streams.stats.tcpResyncs, 0);
    }
  });

  it('holds at most one message per stream (length prefix + 65535 bytes)', () => {
    const streams = new DnsTcpStreams();
    const big = Buffer.alloc(2 + 65535, 0);
    big.writeUInt16BE(65535, 0);
    let delivered = 0;
    for (let off = 0; off < big.length; off += 1400) {
      streams.push('k', off, big, off, Math.min(1400, big.length - off), (_b, _o, len) => {
        assert.equal(len, 65535);
        delivered++;
      });
    }
    assert.equal(delivered, 1);
  });
});
