import assert from 'node:assert/strict';
import { OrderedMap, RecencyList, type Linked } from '../../lib/collections/index.js';

class Item implements Linked {
  older: Linked | undefined = undefined;
  newer: Linked | undefined = undefined;
  constructor(readonly n: number) {}
}

describe('collections/RecencyList', () => {
  it('keeps append order, removes from anywhere, moves to the newest end', () => {
    const l = new RecencyList<Item>();
    const items = [0, 1, 2, 3, 4].map((n) => new Item(n));
    for (const i of items) l.append(i);
    l.remove(items[2]);
    l.moveToNewest(items[0]);
    l.moveToNewest(items[0]);
    assert.deepEqual([...l.values()].map((i) => i.n), [1, 3, 4, 0]);
    assert.equal(l.oldest()?.n, 1);
    assert.equal(l.size, 4);
    l.remove(items[1]);
    l.remove(items[0]);
    assert.deepEqual([...l.values()].map((i) => i.n), [3, 4]);
    l.append(items[2]);
    assert.deepEqual([...l.values()].map((i) => i.n), [3, 4, 2]);
  });

  it('iterates while the current entry is removed, and clears', () => {
    const l = new RecencyList<Item>();
    for (let n = 0; n < 10; n++) l.append(new Item(n));
    const seen: number[] = [];
    for (const i of l.values()) {
      seen.push(i.n);
      if (i.n % 2 === 0) l.remove(i);
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([...l.values()].map((i) => i.n), [1, 3, 5, 7, 9]);
    l.clear();
    assert.equal(l.size, 0);
    assert.equal(l.oldest(), undefined);
  });
});

describe('collections/OrderedMap', () => {
  it('is a Map whose oldest entry leaves first; set with touch renews a key', () => {
    const m = new OrderedMap<string, number>();
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    m.set('a', 10); // update keeps its place
    assert.deepEqual([...m.entries()], [['a', 10], ['b', 2], ['c', 3]]);
    m.set('a', 11, true);
    assert.deepEqual(m.shift(), ['b', 2]);
    assert.equal(m.has('b'), false);
    assert.equal(m.delete('c'), true);
    assert.equal(m.delete('c'), false);
    assert.deepEqual([...m.values()], [11]);
    assert.equal(m.get('a'), 11);
    m.clear();
    assert.equal(m.shift(), undefined);
    assert.equal(m.size, 0);
  });

  it('as a bounded FIFO over many keys holds exactly the newest ones', () => {
    const m = new OrderedMap<number, number>();
    const max = 1000;
    for (let i = 0; i < 50_000; i++) {
      if (m.size >= max) m.shift();
      m.set(i, i);
    }
    assert.equal(m.size, max);
    assert.deepEqual([...m.entries()][0], [49_000, 49_000]);
    assert.equal(m.get(48_999), undefined);
    assert.equal(m.get(49_999), 49_999);
  });

  it('trim() removes the oldest entries down to a bound and says how many', () => {
    const m = new OrderedMap<string, number>();
    for (const k of ['a', 'b', 'c', 'd']) m.set(k, 1);
    m.set('a', 2, true);
    assert.equal(m.trim(5), 0);
    assert.equal(m.trim(2), 2);
    assert.deepEqual([...m.entries()], [['d', 1], ['a', 2]]);
    assert.equal(m.trim(-1), 2, 'a bound below zero empties it');
    assert.equal(m.size, 0);
    assert.equal(m.trim(0), 0);
  });
});
