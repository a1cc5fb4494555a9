import assert from 'node:assert/strict';
import { addressToString, AddressMemo } from '../../lib/decode/index.js';
import { addressBytes } from '../helpers/packets.js';

describe('decode: addressToString', () => {
  it('IPv4 dotted quad at an offset', () => {
    const buf = Buffer.concat([Buffer.alloc(3), addressBytes('203.0.113.255')]);
    assert.equal(addressToString(buf, 3, 4), '203.0.113.255');
  });

  // RFC 5952 section 4 examples and edge cases.
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'], // longest run
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // first of equal runs
    ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'], // single 0 not compressed
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['fe80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
    ['2001:0DB8:ABCD:0012:0000:0000:0000:0000', '2001:db8:abcd:12::'],
    ['0000:0000:0000:0000:0000:ffff:c000:0201', '::ffff:192.0.2.1'], // IPv4-mapped
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => {
      assert.equal(addressToString(addressBytes(input), 0, 6), expected);
    });
  }
});

describe('decode: AddressMemo', () => {
  /** Random addresses with many zero groups, so "::" placement and slot collisions both occur. */
  function randomAddresses(n: number, bytes: 4 | 16): Buffer {
    const buf = Buffer.alloc(n * bytes);
    let x = 12345;
    for (let i = 0; i < buf.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      buf[i] = (x >>> 24) % 3 === 0 ? 0 : x >>> 24;
    }
    return buf;
  }

  for (const [version, bytes] of [[4, 4], [6, 16]] as const) {
    it(`IPv${version}: the same text as addressToString, through slot collisions and repeats`, () => {
      const memo = new AddressMemo();
      const n = 50_000; // more than the memo's slots: collisions overwrite and are recomputed
      const buf = randomAddresses(n, bytes);
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < n; i++) assert.equal(memo.text(buf, i * bytes, version), addressToString(buf, i * bytes, version));
      }
      // The same address in another buffer at another offset.
      const copy = Buffer.concat([Buffer.alloc(3), buf.subarray(0, bytes)]);
      assert.equal(memo.text(copy, 3, version), addressToString(buf, 0, version));
    });
  }
});
