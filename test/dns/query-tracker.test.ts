import assert from 'node:assert/strict';
import { IPV6_KEY, QueryKey, QueryTracker, queryKey, textNameHash } from '../../lib/dns/index.js';
import { decodePacket, DecodeStats, PacketInfo } from '../../lib/decode/index.js';
import { ethernet, ipv4, ipv6, udp, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../helpers/packets.js';

// RFC 5737 addresses: the client 192.0.2.10, resolvers 198.51.100.53 and 203.0.113.53.
const CLIENT = '192.0.2.10|40000';
const SERVER = '198.51.100.53|53';
const q = (id: number, name: string) => ({ id, name, type: 1 });
const r = (id: number, queryName: string) => ({ id, queryName });

function counts(t: QueryTracker) {
  const { queries, matched, unmatched, duplicates, expired, evictions } = t.stats;
  return { queries, matched, unmatched, duplicates, expired, evictions };
}

describe('dns/QueryTracker', () => {
  it('matches an answer to its query (same id, name, client socket, server)', () => {
    const t = new QueryTracker();
    t.query(q(0x1234, 'www.example.com'), CLIENT, SERVER, 1000);
    assert.equal(t.match(r(0x1234, 'www.example.com'), CLIENT, SERVER, 1020), true);
    assert.deepEqual(counts(t), { queries: 1, matched: 1, unmatched: 0, duplicates: 0, expired: 0, evictions: 0 });
  });

  it('refuses a wrong id, a wrong name, a wrong client port or address, a wrong server', () => {
    const t = new QueryTracker();
    t.query(q(0x1234, 'www.example.com'), CLIENT, SERVER, 1000);
    assert.equal(t.match(r(0x1235, 'www.example.com'), CLIENT, SERVER, 1001), false, 'id');
    assert.equal(t.match(r(0x1234, 'www.example.org'), CLIENT, SERVER, 1001), false, 'name');
    assert.equal(t.match(r(0x1234, 'www.example.com'), '192.0.2.10|40001', SERVER, 1001), false, 'client port');
    assert.equal(t.match(r(0x1234, 'www.example.com'), '192.0.2.11|40000', SERVER, 1001), false, 'client address');
    assert.equal(t.match(r(0x1234, 'www.example.com'), CLIENT, '203.0.113.53|53', 1001), false, 'server address');
    assert.equal(t.match(r(0x1234, 'www.example.com'), CLIENT, '198.51.100.53|5353', 1001), false, 'server port');
    assert.equal(t.stats.unmatched, 6);
    // None of the refusals consumed the query: the real answer still matches.
    assert.equal(t.match(r(0x1234, 'www.example.com'), CLIENT, SERVER, 1002), true);
  });

  it('refuses an answer later than the window, and counts the query expired', () => {
    const t = new QueryTracker({ windowMs: 5000 });
    t.query(q(1, 'late.example.com'), CLIENT, SERVER, 0);
    assert.equal(t.match(r(1, 'late.example.com'), CLIENT, SERVER, 5001), false);
    assert.equal(t.stats.expired, 1);
    assert.equal(t.size, 0);
    t.query(q(2, 'edge.example.com'), CLIENT, SERVER, 10_000);
    assert.equal(t.match(r(2, 'edge.example.com'), CLIENT, SERVER, 15_000), true, 'exactly windowMs is in time');
  });

  it('counts a second identical answer as a duplicate (unmatched)', () => {
    const t = new QueryTracker();
    t.query(q(7, 'dup.example.com'), CLIENT, SERVER, 0);
    assert.equal(t.match(r(7, 'dup.example.com'), CLIENT, SERVER, 10), true);
    assert.equal(t.match(r(7, 'dup.example.com'), CLIENT, SERVER, 11), false);
    assert.deepEqual(counts(t), { queries: 1, matched: 1, unmatched: 1, duplicates: 1, expired: 0, evictions: 0 });
  });

  it('matches a response without a question on the id alone', () => {
    const t = new QueryTracker();
    t.query(q(9, 'noq.example.com'), CLIENT, SERVER, 0);
    assert.equal(t.match(r(8, ''), CLIENT, SERVER, 1), false);
    assert.equal(t.match(r(9, ''), CLIENT, SERVER, 1), true);
    assert.equal(t.match(r(9, ''), CLIENT, SERVER, 2), false);
    assert.equal(t.stats.duplicates, 1);
  });

  it('gives an answer without a question the query still waiting, not one already answered', () => {
    const t = new QueryTracker();
    t.query(q(11, 'a.example.com'), CLIENT, SERVER, 0);
    t.query(q(11, 'b.example.com'), CLIENT, SERVER, 1);
    assert.equal(t.match(r(11, 'b.example.com'), CLIENT, SERVER, 2), true);
    assert.equal(t.match(r(11, ''), CLIENT, SERVER, 3), true, 'a.example.com was still waiting');
    assert.equal(t.match(r(11, ''), CLIENT, SERVER, 4), false);
    assert.equal(t.stats.duplicates, 1);
  });

  it('compares names case-insensitively (0x20 mixed-case queries, RFC draft-vixie-dnsext-dns0x20)', () => {
    const t = new QueryTracker();
    t.query(q(3, 'WwW.ExAmPle.CoM'), CLIENT, SERVER, 0);
    assert.equal(t.match(r(3, 'www.example.com'), CLIENT, SERVER, 1), true);
    t.query(q(4, 'www.example.com'), CLIENT, SERVER, 0);
    assert.equal(t.match(r(4, 'WWW.EXAMPLE.COM'), CLIENT, SERVER, 1), true);
  });

  it('keeps two names under one id from one socket apart', () => {
    const t = new QueryTracker();
    t.query(q(5, 'a.example.com'), CLIENT, SERVER, 0);
    t.query(q(5, 'b.example.com'), CLIENT, SERVER, 1);
    assert.equal(t.size, 2);
    assert.equal(t.match(r(5, 'b.example.com'), CLIENT, SERVER, 2), true);
    assert.equal(t.match(r(5, 'a.example.com'), CLIENT, SERVER, 3), true);
    assert.equal(t.match(r(5, 'c.example.com'), CLIENT, SERVER, 4), false);
  });

  it('treats a retransmitted query as one pending query with a fresh window', () => {
    const t = new QueryTracker({ windowMs: 1000 });
    t.query(q(6, 'retry.example.com'), CLIENT, SERVER, 0);
    t.query(q(6, 'retry.example.com'), CLIENT, SERVER, 900);
    assert.equal(t.size, 1);
    assert.equal(t.stats.retransmits, 1);
    assert.equal(t.match(r(6, 'retry.example.com'), CLIENT, SERVER, 1800), true);
  });

  it('expires unanswered queries as time passes and forgets answered ones silently', () => {
    const t = new QueryTracker({ windowMs: 1000 });
    for (let i = 0; i < 10; i++) t.query(q(i, `n${i}.example.com`), CLIENT, SERVER, i);
    assert.equal(t.match(r(0, 'n0.example.com'), CLIENT, SERVER, 20), true);
    t.sweep(2000);
    assert.equal(t.size, 0);
    assert.equal(t.stats.expired, 9, 'the answered one is not an expiry');
    // Sweeps also run from the packet path, without sweep() being called.
    t.query(q(100, 'x.example.com'), CLIENT, SERVER, 3000);
    t.query(q(101, 'y.example.com'), CLIENT, SERVER, 5000);
    assert.equal(t.size, 1);
    assert.equal(t.stats.expired, 10);
  });

  it('is bounded: the oldest pending query is evicted and counted', () => {
    const t = new QueryTracker({ maxPending: 100 });
    for (let i = 0; i < 250; i++) t.query(q(i, `n${i}.example.com`), CLIENT, SERVER, i);
    assert.equal(t.size, 100);
    assert.equal(t.stats.evictions, 150);
    assert.equal(t.match(r(149, 'n149.example.com'), CLIENT, SERVER, 300), false, 'evicted');
    assert.equal(t.match(r(150, 'n150.example.com'), CLIENT, SERVER, 300), true, 'kept');
    assert.equal(t.match(r(249, 'n249.example.com'), CLIENT, SERVER, 300), true, 'kept');
  });

  it('bounds the names kept under one key', () => {
    const t = new QueryTracker();
    for (let i = 0; i < 20; i++) t.query(q(1, `n${i}.example.com`), CLIENT, SERVER, i);
    assert.ok(t.size <= 8, `size ${t.size}`);
    assert.equal(t.stats.evictions, 20 - t.size);
    assert.equal(t.match(r(1, 'n19.example.com'), CLIENT, SERVER, 30), true, 'the newest is kept');
    assert.equal(t.match(r(1, 'n0.example.com'), CLIENT, SERVER, 30), false, 'the oldest is gone');
  });

  it('stays bounded and consistent under a flood of colliding and late traffic', () => {
    const t = new QueryTracker({ windowMs: 2, maxPending: 8 });
    let seed = 7;
    const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    let answers = 0;
    for (let i = 0; i < 20_000; i++) {
      const now = i / 10;
      const id = rnd(8);
      const client = `192.0.2.${rnd(2)}|${40000 + rnd(2)}`;
      const name = `n${rnd(3)}.example.com`;
      if (rnd(2) === 0) t.query(q(id, name), client, SERVER, now);
      else {
        answers++;
        const answer = r(id, rnd(10) === 0 ? '' : name);
        if (t.match(answer, client, SERVER, now) && answer.queryName !== '' && rnd(2) === 0) {
          answers++; // the same answer again (a spoofer racing the server) is a duplicate
          assert.equal(t.match(answer, client, SERVER, now), false);
        }
      }
      assert.ok(t.size <= 8, `size ${t.size} at ${i}`);
    }
    const s = t.stats;
    assert.ok(s.queries + answers >= 20_000);
    assert.equal(s.matched + s.unmatched, answers);
    assert.ok(s.matched > 0 && s.duplicates > 0 && s.evictions > 0 && s.expired > 0, JSON.stringify(s));
    t.sweep(1e9);
    assert.equal(t.size, 0);
  });

  it('rejects bad options with a message naming the setting', () => {
    assert.throws(() => new QueryTracker({ windowMs: 0 }), /windowMs/);
    assert.throws(() => new QueryTracker({ maxPending: 0 }), /maxPending/);
  });

  it('never matches across keys that mix to the same Map key (the whole key is compared)', () => {
    const t = new QueryTracker();
    const key = (a: number, id: number): QueryKey => Object.assign(new QueryKey(), { h: 42, a, b: 7, p: ((40000 << 16) | 53) >>> 0, id });
    const name = textNameHash('a.example.com');
    t.queryKeyed(key(1, 5), name, 0);
    t.queryKeyed(key(2, 5), name, 0);
    assert.equal(t.size, 2, 'two queries, one chain');
    assert.equal(t.matchKeyed(key(3, 5), name, 1), false, 'another client');
    assert.equal(t.matchKeyed(key(1, 6), name, 1), false, 'another id');
    assert.equal(t.matchKeyed(key(2, 5), name, 1), true);
    assert.equal(t.matchKeyed(key(1, 5), name, 1), true);
    assert.equal(t.matchKeyed(key(1, 5), name, 2), false, 'consumed');
  });

  it('IPv6 keys that mix to the same bucket hash are told apart by every word', () => {
    const t = new QueryTracker();
    const words = ['c0', 'c1', 'c2', 's0', 's1', 's2'] as const;
    const key = (word?: (typeof words)[number]): QueryKey => {
      const k = Object.assign(new QueryKey(), { h: 42, a: 7, b: 9, p: ((40000 << 16) | 53) >>> 0, id: 5, s: IPV6_KEY, v6: 1, c0: 1, c1: 2, c2: 3, s0: 4, s1: 5, s2: 6 });
      if (word !== undefined) k[word] += 100;
      return k;
    };
    const name = textNameHash('a.example.com');
    t.queryKeyed(key(), name, 0);
    for (const w of words) assert.equal(t.matchKeyed(key(w), name, 1), false, w);
    assert.equal(t.matchKeyed(key(), name, 1), true);
  });

  it('an IPv6 query retransmitted and moved to the back of the ring keeps its whole key', () => {
    const t = new QueryTracker({ maxPending: 4, windowMs: 1000 });
    const k = (last: number) => Object.assign(new QueryKey(), { h: last, a: last, b: 9, p: 53, id: 5, s: IPV6_KEY, v6: 1, c0: 0x20010db8, c1: last, c2: 3, s0: 0x20010db8, s1: 5, s2: 6 });
    const name = textNameHash('a.example.com');
    t.queryKeyed(k(1), name, 0);
    t.queryKeyed(k(2), name, 100);
    t.queryKeyed(k(1), name, 800); // a retransmit: the query's time moves on, its slot stays at the front
    t.sweep(1050); // past the window of its first time, within that of its retransmit: requeued behind k(2)
    assert.equal(t.size, 2);
    assert.equal(t.matchKeyed(k(1), name, 1100), true);
    assert.equal(t.matchKeyed(k(2), name, 1200), false, 'expired');
    assert.equal(t.stats.retransmits, 1);
  });

  describe('queryKey (the packet path\'s key)', () => {
    const decoded = (frame: Buffer): PacketInfo => {
      const pkt = new PacketInfo();
      assert.ok(decodePacket(1, frame, frame.length, pkt, new DecodeStats()));
      pkt.buf = Buffer.from(pkt.buf); // keep it: the next decode gets its own
      return pkt;
    };
    const v4 = (src: string, dst: string, sp: number, dp: number) =>
      decoded(ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src, dst, protocol: 17 }, udp({ srcPort: sp, dstPort: dp }, Buffer.alloc(12)))));
    const v6 = (src: string, dst: string, sp: number, dp: number) =>
      decoded(ethernet({ type: ETHERTYPE_IPV6 }, ipv6({ src, dst, nextHeader: 17 }, udp({ srcPort: sp, dstPort: dp }, Buffer.alloc(12)))));

    it('gives a query and its answer the same key, and any other id, socket or server another', () => {
      for (const [make, c, srv, other] of [
        [v4, '192.0.2.10', '198.51.100.53', '192.0.2.11'],
        [v6, '2001:db8::10', '2001:db8:53::1', '2001:db8::11'],
      ] as const) {
        const key = queryKey(make(c, srv, 40000, 53), 0x1234, true);
        assert.deepEqual(queryKey(make(srv, c, 53, 40000), 0x1234, false), key, 'answer of the query');
        const others = [
          queryKey(make(srv, c, 53, 40000), 0x1235, false),
          queryKey(make(srv, c, 53, 40001), 0x1234, false),
          queryKey(make(srv, other, 53, 40000), 0x1234, false),
          queryKey(make(other, c, 53, 40000), 0x1234, false),
          queryKey(make(srv, c, 5353, 40000), 0x1234, false),
          queryKey(make(c, srv, 40000, 53), 0x1234, false),
        ];
        for (const k of others) assert.notDeepEqual(k, key);
        assert.equal(new Set(others.map((k) => JSON.stringify(k))).size, others.length);
      }
    });

    it('IPv6: every byte of either address counts, and an IPv6 key is never an IPv4 one', () => {
      const t = new QueryTracker();
      const name = textNameHash('www.example.com');
      const client = '2001:db8:aa:bb:cc:dd:ee:10';
      const server = '2001:db8:53:1:2:3:4:53';
      t.queryKeyed(queryKey(v6(client, server, 40000, 53), 9, true), name, 1000);
      const bytes = (a: string) => [...Buffer.from(a.split(':').map((w) => w.padStart(4, '0')).join(''), 'hex')];
      const text = (b: number[]) => Buffer.from(b).toString('hex').match(/..../g)!.join(':');
      // An answer to the client from a server one bit off, or to a client one bit off, in each byte.
      for (let i = 0; i < 16; i++) {
        const s = bytes(server);
        s[i] ^= 0x01;
        assert.equal(t.matchKeyed(queryKey(v6(text(s), client, 53, 40000), 9, false), name, 1001), false, `server byte ${i}`);
        const c = bytes(client);
        c[i] ^= 0x80;
        assert.equal(t.matchKeyed(queryKey(v6(server, text(c), 53, 40000), 9, false), name, 1001), false, `client byte ${i}`);
      }
      assert.equal(t.stats.unmatched, 32);
      assert.equal(t.matchKeyed(queryKey(v6(server, client, 53, 40000), 9, false), name, 1002), true);
      // IPv4-compatible IPv6 addresses hold the IPv4 ones in their last words: still another key.
      const u = new QueryTracker();
      u.queryKeyed(queryKey(v4('192.0.2.10', '198.51.100.53', 40000, 53), 9, true), name, 1000);
      u.queryKeyed(queryKey(v6('::c000:20b', '::c633:6435', 40000, 53), 9, true), name, 1000);
      assert.equal(u.matchKeyed(queryKey(v6('::c633:6435', '::c000:20a', 53, 40000), 9, false), name, 1001), false);
      assert.equal(u.matchKeyed(queryKey(v4('198.51.100.53', '192.0.2.11', 53, 40000), 9, false), name, 1001), false);
      assert.equal(u.matchKeyed(queryKey(v4('198.51.100.53', '192.0.2.10', 53, 40000), 9, false), name, 1002), true);
      assert.equal(u.matchKeyed(queryKey(v6('::c633:6435', '::c000:20b', 53, 40000), 9, false), name, 1002), true);
    });

    it('IPv6 keys from packets decide as the text keys do, through retransmits, expiry and eviction', () => {
      // The same queries and answers to two trackers, one keyed from the packets, one by text
      // ("ip|port", the way IPv6 keys were made before): few addresses, ports and ids, so keys
      // collide often; a small ring, so slots are reused and requeued.
      const byPacket = new QueryTracker({ maxPending: 32, windowMs: 1000 });
      const byText = new QueryTracker({ maxPending: 32, windowMs: 1000 });
      let seed = 11;
      const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
      const clients = ['2001:db8::10', '2001:db8::11', '2001:db8:1::10', 'fd00::10'];
      const servers = ['2001:db8:53::1', '2001:db8:53::2', 'fd00::53'];
      const names = ['a.example.com', 'b.example.com', 'c.example.org'];
      let now = 0;
      let matched = 0;
      for (let i = 0; i < 20_000; i++) {
        now += rnd(40) === 0 ? 1200 : rnd(20); // now and then a pause past the window
        const c = clients[rnd(clients.length)];
        const srv = servers[rnd(servers.length)];
        const port = 40000 + rnd(3);
        const id = rnd(4);
        const name = names[rnd(names.length)];
        if (rnd(2) === 0) {
          byPacket.queryKeyed(queryKey(v6(c, srv, port, 53), id, true), textNameHash(name), now);
          byText.query({ id, name }, `${c}|${port}`, `${srv}|53`, now);
        } else {
          const got = byPacket.matchKeyed(queryKey(v6(srv, c, 53, port), id, false), textNameHash(name), now);
          assert.equal(got, byText.match({ id, queryName: name }, `${c}|${port}`, `${srv}|53`, now), `step ${i}`);
          if (got) matched++;
        }
      }
      assert.deepEqual(counts(byPacket), counts(byText));
      const s = byPacket.stats;
      assert.ok(matched > 200 && s.retransmits > 100 && s.evictions > 100 && s.expired > 100, `${matched} matched; ${JSON.stringify(s)}`);
    });

    it('tracks by it: the answer from the packet matches, a spoofed source does not', () => {
      const t = new QueryTracker();
      t.queryKeyed(queryKey(v4('192.0.2.10', '198.51.100.53', 40000, 53), 7, true), textNameHash('WWW.Example.com'), 1000);
      assert.equal(t.matchKeyed(queryKey(v4('203.0.113.53', '192.0.2.10', 53, 40000), 7, false), textNameHash('www.example.com'), 1001), false);
      assert.equal(t.matchKeyed(queryKey(v4('198.51.100.53', '192.0.2.10', 53, 40000), 7, false), textNameHash('www.example.com'), 1002), true);
      assert.deepEqual(counts(t), { queries: 1, matched: 1, unmatched: 1, duplicates: 0, expired: 0, evictions: 0 });
    });
  });
});
