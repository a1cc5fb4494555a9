import assert from 'node:assert/strict';
import { PacketInfo } from '../../lib/decode/index.js';
import { FlowIndex, Keyed } from '../../lib/flows/index-table.js';

class Entry extends Keyed {
  constructor(readonly name: string) {
    super();
  }
}

/** A 5-tuple written into a packet's buffer the way the decoder leaves it (offsets into buf). */
function tuple(pkt: PacketInfo, v: 4 | 6, proto: number, src: number[], dst: number[], sp: number, dp: number): void {
  const n = v === 4 ? 4 : 16;
  const buf = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) {
    buf[i] = src[i % src.length];
    buf[n + i] = dst[i % dst.length];
  }
  pkt.buf = buf;
  pkt.ipVersion = v;
  pkt.srcOffset = 0;
  pkt.dstOffset = n;
  pkt.protocol = proto;
  pkt.srcPort = sp;
  pkt.dstPort = dp;
}

/** Deterministic xorshift PRNG. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('flows/index-table', () => {
  for (const v6Share of [0.2, 0.9]) it(`agrees with a Map over random adds, lookups and deletes through growth and probe-chain shifts (${v6Share * 100}% IPv6)`, () => {
    const rnd = prng(7);
    const index = new FlowIndex<Entry>();
    const model = new Map<string, Entry>();
    const pkt = new PacketInfo();
    // Few distinct values per field: many hash collisions and long probe chains.
    const pick = (): { v: 4 | 6; proto: number; src: number[]; dst: number[]; sp: number; dp: number } => ({
      v: rnd() < v6Share ? 6 : 4,
      proto: rnd() < 0.7 ? 6 : 17,
      src: [10, Math.floor(rnd() * 4), 0, Math.floor(rnd() * 40)],
      dst: [203, 0, 113, Math.floor(rnd() * 8)],
      sp: 40000 + Math.floor(rnd() * 30),
      dp: rnd() < 0.5 ? 443 : 80,
    });
    const name = (t: ReturnType<typeof pick>): string => `${t.v}/${t.proto}/${t.src}/${t.dst}/${t.sp}/${t.dp}`;
    let added = 0;
    let deleted = 0;
    for (let step = 0; step < 40_000; step++) {
      const t = pick();
      const key = name(t);
      // Either direction of the connection finds the same entry.
      const reverse = rnd() < 0.5;
      if (reverse) tuple(pkt, t.v, t.proto, t.dst, t.src, t.dp, t.sp);
      else tuple(pkt, t.v, t.proto, t.src, t.dst, t.sp, t.dp);
      const srcIsLow = !reverse;
      const found = index.get(pkt, srcIsLow);
      assert.equal(found, model.get(key), `lookup ${key} at step ${step}`);
      if (found === undefined && rnd() < 0.6) {
        const e = new Entry(key);
        index.set(pkt, srcIsLow, e);
        model.set(key, e);
        added++;
      } else if (found !== undefined && rnd() < 0.5) {
        index.delete(found);
        model.delete(key);
        deleted++;
      }
    }
    assert.ok(added > 2_000 && deleted > 1_000, `exercised: ${added} adds, ${deleted} deletes`);
    assert.equal(index.size, model.size);
    assert.deepEqual(new Set(index.values()), new Set(model.values()));
    index.clear();
    assert.equal(index.size, 0);
    for (const e of model.values()) assert.equal(e.indexed, false);
  });

  it('keeps IPv4 and IPv6 tuples, and TCP and UDP on the same ports, apart', () => {
    const index = new FlowIndex<Entry>();
    const pkt = new PacketInfo();
    const put = (v: 4 | 6, proto: number, e: Entry): void => {
      tuple(pkt, v, proto, [1, 2, 3, 4], [5, 6, 7, 8], 1000, 443);
      index.set(pkt, true, e);
    };
    const tcp4 = new Entry('tcp4');
    const udp4 = new Entry('udp4');
    const tcp6 = new Entry('tcp6');
    put(4, 6, tcp4);
    put(4, 17, udp4);
    put(6, 6, tcp6);
    const get = (v: 4 | 6, proto: number): Entry | undefined => {
      tuple(pkt, v, proto, [5, 6, 7, 8], [1, 2, 3, 4], 443, 1000);
      return index.get(pkt, false);
    };
    assert.equal(get(4, 6), tcp4);
    assert.equal(get(4, 17), udp4);
    assert.equal(get(6, 6), tcp6);
    assert.equal(get(6, 17), undefined);
    index.delete(tcp4);
    assert.equal(get(4, 6), undefined);
    assert.equal(get(4, 17), udp4);
    assert.equal(index.oldest(), udp4);
  });
});
