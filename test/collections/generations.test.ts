import assert from 'node:assert/strict';
import { GenerationMemo } from '../../lib/collections/index.js';

describe('classify/GenerationMemo', () => {
  it('holds at most max entries and counts what it drops', () => {
    const m = new GenerationMemo<number, string>(10);
    for (let i = 0; i < 1000; i++) {
      m.set(i, `v${i}`);
      assert.ok(m.size <= 10, `size ${m.size} after ${i + 1} sets`);
    }
    assert.equal(m.evictions + m.size, 1000);
    assert.equal(m.get(999), 'v999');
    assert.equal(m.get(0), undefined);
  });

  it('keeps an entry that is used, however many others come and go', () => {
    const m = new GenerationMemo<string, number>(8);
    m.set('hot', 1);
    for (let i = 0; i < 500; i++) {
      m.set(`cold${i}`, i);
      assert.equal(m.get('hot'), 1, `lost after ${i + 1} other keys`);
    }
    assert.equal(m.get('cold0'), undefined);
  });

  it('setting a held key again replaces its value without evicting anything', () => {
    const m = new GenerationMemo<string, number>(4);
    m.set('a', 1);
    m.set('b', 2);
    m.set('b', 3);
    assert.equal(m.get('b'), 3);
    assert.equal(m.get('a'), 1);
    assert.equal(m.evictions, 0);
    m.clear();
    assert.equal(m.size, 0);
  });
});
