import assert from 'node:assert/strict';
import { NameCache } from '../../lib/dns/index.js';

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
