import assert from 'node:assert/strict';
import { addressToString } from '../../lib/decode/index.js';
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
