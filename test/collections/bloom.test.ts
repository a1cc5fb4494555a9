import assert from 'node:assert/strict';
import { BloomFilter } from '../../lib/collections/index.js';

describe('collections/BloomFilter', () => {
  it('never says "not added" of a key added; says "maybe" of few others at 16 bits a key', () => {
    const keys = 100_000;
    const f = new BloomFilter(keys * 16);
    assert.equal(f.bits, 2 ** 21, 'rounded up to a power of two');
    for (let i = 0; i < keys; i++) f.add(`h\u0000host-${i}\u0000group-${i * 7}.example`);
    for (let i = 0; i < keys; i++) assert.equal(f.mayHave(`h\u0000host-${i}\u0000group-${i * 7}.example`), true, `key ${i}`);
    let maybe = 0;
    for (let i = 0; i < keys; i++) if (f.mayHave(`h\u0000host-${i}\u0000group-${i * 7 + 1}.example`)) maybe++;
    assert.ok(maybe < keys * 0.01, `${maybe} false "maybe" of ${keys}`);
    assert.equal(f.added, keys);
  });

  it('an empty filter has nothing; a tiny size is rounded up', () => {
    const f = new BloomFilter(1);
    assert.equal(f.bits, 1024);
    assert.equal(f.mayHave(''), false);
    assert.equal(f.mayHave('a'), false);
    f.add('');
    assert.equal(f.mayHave(''), true);
  });
});
