// The key scheme: escaping keeps names with '!' and '%' apart, and range bounds select
// exactly one subject's entries.
import assert from 'node:assert/strict';
import { entryKey, decodeKey, escapePart, unescapePart } from '../../lib/baseline/index.js';

describe('baseline/keys', () => {
  it('escapes the separator and the escape character, and round-trips', () => {
    for (const s of ['plain', 'a!b', '%21', 'a%b!c', '!!', '', 'ünï/code:1.2']) {
      assert.ok(!escapePart(s).includes('!'), s);
      assert.equal(unescapePart(escapePart(s)), s);
    }
  });

  it('names that differ only in where the "!" falls get different keys', () => {
    const a = entryKey('host', 'a!b', 'c.com');
    const b = entryKey('host', 'a', 'b!c.com');
    assert.notEqual(a, b);
    assert.deepEqual(decodeKey(a), { kind: 'host', subject: 'a!b', group: 'c.com' });
    assert.deepEqual(decodeKey(b), { kind: 'host', subject: 'a', group: 'b!c.com' });
  });

  it('host and software keys live in separate prefixes', () => {
    assert.ok(entryKey('host', 'x', 'g').startsWith('h!'));
    assert.ok(entryKey('software', 'x', 'g').startsWith('s!'));
    assert.equal(decodeKey('m!learningStart'), undefined);
  });
});
