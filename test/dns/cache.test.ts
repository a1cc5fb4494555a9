import assert from 'node:assert/strict';
import { NameCache, textNameHash } from '../../lib/dns/index.js';
import type { NameLookup } from '../../lib/dns/index.js';
import { ReferenceNameCache } from './reference-cache.js';

const T0 = 1_700_000_000_000;

describe('dns/NameCache', () => {
  it('keeps a mapping for TTL + retention, then counts it as expired', () => {
    const cache = new NameCache({ retentionMs: 60_000 });
    cache.add('192.0.2.1', ['www.example.com', 'edge.example.net'], 30, T0);
    const hit = cache.lookup('192.0.2.1', T0 + 30_000 + 59_999);
    assert.equal(hit?.name, 'www.example.com');
    assert.deepEqual(hit?.chain, ['www.example.com', 'edge.example.net']);
    assert.equal(hit?.ttl, 30);
    assert.equal(hit?.answeredAt, T0);
    assert.equal(cache.lookup('192.0.2.1', T0 + 90_000), undefined);
    assert.equal(cache.stats.expired, 1);
    assert.equal(cache.size, 0);
  });

  it('most recent answer wins; older names become alternatives, most recent first, bounded', () => {
    const cache = new NameCache({ maxAlternatives: 2 });
    cache.add('2001:db8::1', ['a.example.com'], 60, T0);
    const first = cache.lookup('2001:db8::1', T0);
    cache.add('2001:db8::1', ['b.example.com'], 60, T0 + 1000);
    cache.add('2001:db8::1', ['c.example.com'], 60, T0 + 2000);
    cache.add('2001:db8::1', ['d.example.com'], 60, T0 + 3000);
    const hit = cache.lookup('2001:db8::1', T0 + 3000);
    assert.equal(hit?.name, 'd.example.com');
    assert.deepEqual(hit?.alternatives, ['c.example.com', 'b.example.com']);
    // An earlier result is not changed under the caller's feet.
    assert.equal(first?.name, 'a.example.com');
    // A name answered again moves back to the front and leaves the alternatives.
    cache.add('2001:db8::1', ['b.example.com'], 60, T0 + 4000);
    assert.deepEqual(cache.lookup('2001:db8::1', T0 + 4000)?.alternatives, ['d.example.com', 'c.example.com']);
    assert.equal(cache.stats.inserts, 5);
  });

  it('a short-TTL re-answer does not cut the life of the earlier, longer one', () => {
    const cache = new NameCache({ retentionMs: 0 });
    cache.add('192.0.2.2', ['long.example.com'], 600, T0);
    cache.add('192.0.2.2', ['short.example.com'], 5, T0 + 1000);
    const hit = cache.lookup('192.0.2.2', T0 + 300_000);
    assert.equal(hit?.name, 'short.example.com');
    assert.deepEqual(hit?.alternatives, ['long.example.com']);
  });

  it('two names with the same hash are still two names (names are told apart by hash first, then by text)', () => {
    // The caller hands over textNameHash(chain[0]); a collision is forced here by handing the same one for both.
    const cache = new NameCache({ maxAlternatives: 3 });
    const ip = '192.0.2.77';
    cache.add(ip, ['a.example.com'], 60, T0, undefined, 7);
    cache.add(ip, ['b.example.com'], 60, T0 + 1, undefined, 7);
    assert.equal(cache.lookup(ip, T0 + 1)?.name, 'b.example.com');
    assert.deepEqual(cache.lookup(ip, T0 + 1)?.alternatives, ['a.example.com']);
    cache.add(ip, ['c.example.com', 'edge.example.net'], 60, T0 + 2, undefined, 7);
    cache.add(ip, ['a.example.com'], 60, T0 + 3, undefined, 7);
    const hit = cache.lookup(ip, T0 + 3);
    assert.equal(hit?.name, 'a.example.com');
    assert.deepEqual(hit?.alternatives, ['c.example.com', 'b.example.com'], 'a left the alternatives, once');
    assert.deepEqual(hit?.chain, ['a.example.com']);
  });

  it('entries taken back after a restart go on taking names the same way', () => {
    const before = new NameCache({ maxAlternatives: 3 });
    for (const n of ['a', 'b', 'c']) before.add('198.51.100.8', [`${n}.example.com`], 600, T0);
    const after = new NameCache({ maxAlternatives: 3 });
    assert.equal(after.restore(before.entries(T0 + 1), T0 + 1), 1);
    for (const cache of [before, after]) {
      cache.add('198.51.100.8', ['a.example.com'], 600, T0 + 2, undefined, textNameHash('a.example.com'));
      cache.add('198.51.100.8', ['d.example.com'], 600, T0 + 3);
    }
    assert.deepEqual(after.lookup('198.51.100.8', T0 + 4), before.lookup('198.51.100.8', T0 + 4));
    assert.deepEqual(after.lookup('198.51.100.8', T0 + 4)?.alternatives, ['a.example.com', 'c.example.com', 'b.example.com']);
  });

  it('keeps the resolver of the latest answer as evidence', () => {
    const c = new NameCache();
    c.add('192.0.2.9', ['a.example.com'], 60, T0, '10.0.0.53');
    assert.equal(c.lookup('192.0.2.9', T0 + 1)?.resolver, '10.0.0.53');
    c.add('192.0.2.9', ['b.example.com'], 60, T0 + 2, 'fd00::53');
    assert.equal(c.lookup('192.0.2.9', T0 + 3)?.resolver, 'fd00::53');
    c.add('192.0.2.9', ['b.example.com'], 60, T0 + 4);
    assert.equal(c.lookup('192.0.2.9', T0 + 5)?.resolver, undefined, 'an answer without a known sender clears it');
  });

  it('bounds entries by LRU and counts evictions', () => {
    const cache = new NameCache({ maxEntries: 3 });
    for (let i = 1; i <= 3; i++) cache.add(`198.51.100.${i}`, [`h${i}.example.com`], 300, T0);
    cache.lookup('198.51.100.1', T0); // 1 becomes most recent: 2 is now the oldest
    cache.add('198.51.100.4', ['h4.example.com'], 300, T0);
    cache.add('198.51.100.5', ['h5.example.com'], 300, T0);
    assert.equal(cache.size, 3);
    assert.equal(cache.stats.evictions, 2);
    assert.equal(cache.lookup('198.51.100.2', T0), undefined);
    assert.equal(cache.lookup('198.51.100.3', T0), undefined);
    assert.equal(cache.lookup('198.51.100.1', T0)?.name, 'h1.example.com');
    assert.equal(cache.lookup('198.51.100.5', T0)?.name, 'h5.example.com');
  });

  it('counts an expired entry pushed out by the bound as expired, not evicted; prune sweeps', () => {
    const cache = new NameCache({ maxEntries: 2, retentionMs: 0 });
    cache.add('203.0.113.1', ['old.example.com'], 1, T0);
    cache.add('203.0.113.2', ['mid.example.com'], 100, T0);
    cache.add('203.0.113.3', ['new.example.com'], 100, T0 + 5000);
    assert.deepEqual(cache.stats, { inserts: 3, evictions: 0, expired: 1 });
    assert.equal(cache.prune(T0 + 200_000), 2);
    assert.equal(cache.size, 0);
    assert.equal(cache.stats.expired, 3);
  });
});

describe('dns/NameCache against the replaced implementation', () => {
  it('answers every lookup the same over 50,000 random adds and lookups (no eviction)', () => {
    const cache = new NameCache({ maxAlternatives: 3, retentionMs: 5_000 });
    const ref = new ReferenceNameCache({ maxAlternatives: 3, retentionMs: 5_000 });
    let seed = 99;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
    const names = ['a.example.com', 'b.example.com', 'c.example.net', 'd.example.org', 'e.example.com'];
    const held: [NameLookup | undefined, NameLookup | undefined, string][] = [];
    let now = T0;
    let hits = 0;
    for (let i = 0; i < 50_000; i++) {
      now += rnd() % 400;
      const ip = `192.0.2.${rnd() % 20}`;
      if (rnd() % 3 === 0) {
        const a = cache.lookup(ip, now);
        const b = ref.lookup(ip, now);
        assert.deepEqual(a, b === undefined ? undefined : { name: b.name, chain: b.chain, alternatives: b.alternatives, answeredAt: b.answeredAt, ttl: b.ttl });
        if (a !== undefined) hits++;
        if (i % 50 === 0) held.push([a, b, JSON.stringify(a)]);
      } else {
        const name = names[rnd() % names.length];
        const chain = rnd() % 2 === 0 ? [name] : [name, `edge${rnd() % 3}.cdn.example.net`];
        const ttl = rnd() % 10;
        // With the parser's hash of the name, or without (computed): the same outcome.
        cache.add(ip, chain, ttl, now, undefined, rnd() % 2 === 0 ? textNameHash(name) : 0);
        ref.add(ip, [...chain], ttl, now);
      }
    }
    assert.deepEqual(cache.stats, ref.stats);
    assert.equal(cache.size, ref.size);
    assert.ok(hits > 5000 && cache.stats.expired > 100, `hits ${hits}, expired ${cache.stats.expired}`);
    // Results handed out earlier still read as they did then.
    for (const [a, , then] of held) assert.equal(JSON.stringify(a), then);
  });

  it('evicts exactly as LRU did when the bound is small (3 entries)', () => {
    const cache = new NameCache({ maxEntries: 3, retentionMs: 1_000 });
    const ref = new ReferenceNameCache({ maxEntries: 3, retentionMs: 1_000 });
    let seed = 5;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
    let now = T0;
    for (let i = 0; i < 20_000; i++) {
      now += rnd() % 300;
      const ip = `203.0.113.${rnd() % 6}`;
      if (rnd() % 2 === 0) assert.equal(cache.lookup(ip, now)?.name, ref.lookup(ip, now)?.name);
      else {
        const chain = [`n${rnd() % 4}.example.com`];
        const ttl = rnd() % 3;
        cache.add(ip, chain, ttl, now);
        ref.add(ip, chain, ttl, now);
      }
    }
    assert.ok(cache.stats.evictions > 1000, `evictions ${cache.stats.evictions}`);
    assert.deepEqual(cache.stats, ref.stats);
  });

  it('with a larger bound, a use moves only entries outside the newest quarter; victims stay oldest-first', () => {
    const cache = new NameCache({ maxEntries: 8 }); // slack: 2 insertions
    for (let i = 1; i <= 8; i++) cache.add(`198.51.100.${i}`, [`h${i}.example.com`], 300, T0);
    cache.lookup('198.51.100.1', T0); // 7 insertions after it: moves to the back
    cache.add('198.51.100.7', ['h7.example.com'], 300, T0); // 2 after it: stays (near the back)
    cache.add('198.51.100.9', ['h9.example.com'], 300, T0);
    cache.add('198.51.100.10', ['h10.example.com'], 300, T0);
    assert.equal(cache.stats.evictions, 2);
    const left = (ip: string) => cache.lookup(ip, T0) !== undefined;
    assert.deepEqual([2, 3].map((i) => left(`198.51.100.${i}`)), [false, false]);
    assert.deepEqual([1, 4, 7, 8, 9, 10].map((i) => left(`198.51.100.${i}`)), [true, true, true, true, true, true]);
  });

  it('a use within the newest quarter leaves the entry where it is: it goes before newer ones, never before three quarters of the cache', () => {
    const ip = (i: number) => `198.51.100.${i}`;
    const fill = () => {
      const cache = new NameCache({ maxEntries: 8 });
      for (let i = 1; i <= 8; i++) cache.add(ip(i), [`h${i}.example.com`], 300, T0);
      return cache;
    };
    // Which of `of` are held, oldest first (entries() does not count as a use).
    const held = (cache: NameCache, of: number[]) => cache.entries(T0).map((e) => Number(e.ip.split('.')[3])).filter((i) => of.includes(i));
    // 7 is used with one entry (8) put after it: not moved, so it goes before 8.
    const near = fill();
    near.lookup(ip(7), T0);
    for (let i = 9; i <= 14; i++) near.add(ip(i), [`h${i}.example.com`], 300, T0);
    assert.equal(near.stats.evictions, 6); // 1..6
    assert.deepEqual(held(near, [7, 8]), [7, 8]);
    near.add(ip(15), ['h15.example.com'], 300, T0);
    assert.deepEqual(held(near, [7, 8]), [8]);
    // 5 is used with three put after it (more than a quarter of 8): moved, so it outlives 6, 7, 8.
    const far = fill();
    far.lookup(ip(5), T0);
    for (let i = 9; i <= 15; i++) far.add(ip(i), [`h${i}.example.com`], 300, T0);
    assert.deepEqual(held(far, [5, 6, 7, 8]), [5]);
    assert.equal(far.entries(T0).length, 8);
  });
});
