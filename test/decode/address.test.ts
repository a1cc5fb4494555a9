import assert from 'node:assert/strict';
import { addressToString, AddressMemo, canonicalAddress, isLoopbackText, parseIPv6Plain } from '../../lib/decode/index.js';
import ipaddr from 'ipaddr.js';
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

/** Random addresses with many zero groups, so "::" placement and memo slot collisions both occur. */
function randomAddresses(n: number, bytes: 4 | 16): Buffer {
  const buf = Buffer.alloc(n * bytes);
  let x = 12345;
  for (let i = 0; i < buf.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    buf[i] = (x >>> 24) % 3 === 0 ? 0 : x >>> 24;
  }
  return buf;
}

describe('decode: isLoopbackText', () => {
  it('agrees with ipaddr.js on what is loopback, for text as canonicalAddress gives it', () => {
    const cases = ['127.0.0.1', '127.0.0.53', '127.255.255.254', '128.0.0.1', '126.255.255.255', '10.127.0.1', '::1', '::2', '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1', '::ffff:7f00:35', '::ffff:128.0.0.1', '2001:db8::1', '::127.0.0.1', 'fe80::1%lo'];
    for (const text of cases) {
      const canonical = canonicalAddress(text) as string;
      const parsed = ipaddr.parse(canonical);
      const expected = parsed.range() === 'loopback'
        || (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() && (parsed as ipaddr.IPv6).toIPv4Address().range() === 'loopback');
      assert.equal(isLoopbackText(canonical), expected, `${text} (${canonical})`);
    }
  });
});

describe('decode: addressToString against ipaddr.js', () => {
  it('IPv6: the same RFC 5952 text as ipaddr.js for 50,000 random addresses', () => {
    const n = 50_000;
    const buf = randomAddresses(n, 16);
    let mapped = 0;
    for (let i = 0; i < n; i++) {
      const bytes = [...buf.subarray(i * 16, i * 16 + 16)];
      const ours = addressToString(buf, i * 16, 6);
      // ipaddr.js writes IPv4-mapped addresses in hex groups; RFC 5952 §5 (and we) use a dotted quad.
      if (ours.startsWith('::ffff:') && ours.includes('.')) {
        mapped++;
        continue;
      }
      assert.equal(ours, ipaddr.fromByteArray(bytes).toString(), bytes.join(','));
    }
    assert.ok(mapped < n / 100);
  });
});

describe('decode: parseIPv6Plain against ipaddr.js', () => {
  /** The forms one address is written in: canonical, full with leading zeros, upper case, "::" elsewhere. */
  function spellings(bytes: number[]): string[] {
    const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
    const hexes = groups.map((g) => g.toString(16));
    const out = [ipaddr.fromByteArray(bytes).toString(), groups.map((g) => g.toString(16).padStart(4, '0')).join(':'), hexes.join(':').toUpperCase()];
    // Any run of zero groups (not only the longest) may be the "::" (RFC 4291 §2.2).
    for (let i = 0; i < 8; i++) {
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j > i) out.push(`${hexes.slice(0, i).join(':')}::${hexes.slice(j).join(':')}`);
    }
    return out;
  }

  it('reads every plain spelling of 20,000 random addresses as ipaddr.js does', () => {
    const n = 20_000;
    const buf = randomAddresses(n, 16);
    let spelled = 0;
    for (let i = 0; i < n; i++) {
      const bytes = [...buf.subarray(i * 16, i * 16 + 16)];
      for (const text of spellings(bytes)) {
        if (text.includes('.')) continue; // a dotted tail is not the plain form
        assert.deepEqual([...(parseIPv6Plain(text) ?? [])], bytes, text);
        spelled++;
      }
    }
    assert.ok(spelled > n * 3);
  });

  it('turns down what is not a plain IPv6 address, valid or not, and leaves the rest to ipaddr.js', () => {
    const bad = ['', ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2:3:4:5:6:7:8', ':1::2', '1::2:',
      '12345::1', 'g::1', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', 'fe80::1%eth0', '::ffff:192.0.2.1', '192.0.2.1', ' ::1', '::1 '];
    for (const text of bad) {
      assert.equal(parseIPv6Plain(text), undefined, JSON.stringify(text));
      if (!text.includes('%') && !text.includes('.')) assert.equal(ipaddr.IPv6.isValid(text), false, `ipaddr.js takes ${JSON.stringify(text)}`);
    }
    assert.deepEqual([...(parseIPv6Plain('::') ?? [])], new Array(16).fill(0));
    assert.deepEqual([...(parseIPv6Plain('1:2:3:4:5:6:7::') ?? [])], [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]);
  });
});

describe('decode: AddressMemo', () => {
  it('IPv4: the same text as addressToString, through slot collisions and repeats', () => {
    const memo = new AddressMemo();
    const n = 50_000; // more than the memo's slots: collisions overwrite and are recomputed
    const buf = randomAddresses(n, 4);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < n; i++) assert.equal(memo.ipv4(buf, i * 4), addressToString(buf, i * 4, 4));
    }
    // The same address in another buffer at another offset, through text().
    const copy = Buffer.concat([Buffer.alloc(3), buf.subarray(0, 4)]);
    assert.equal(memo.text(copy, 3, 4), addressToString(buf, 0, 4));
    const v6 = randomAddresses(1, 16);
    assert.equal(memo.text(v6, 0, 6), addressToString(v6, 0, 6));
  });

  it('IPv6: the same text as addressToString, through slot collisions, repeats and addresses one word apart', () => {
    const memo = new AddressMemo();
    const n = 20_000; // more than the IPv6 slots
    const buf = randomAddresses(n, 16);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < n; i++) assert.equal(memo.ipv6(buf, i * 16), addressToString(buf, i * 16, 6));
    }
    // Addresses that differ in one word only, each word in turn, more of them than slots: those
    // that share a slot differ only there. Then mapped IPv4 and all zeros.
    const base = Buffer.from('20010db8000000000000000000000001', 'hex');
    for (let w = 0; w < 16; w += 4) {
      const v = Buffer.from(base);
      for (let x = 0; x < 10_000; x++) {
        v.writeUInt32BE(x * 2_654_435_761 >>> 0, w);
        assert.equal(memo.text(v, 0, 6), addressToString(v, 0, 6), `word ${w / 4}, ${x}`);
      }
    }
    for (const v of [Buffer.from('00000000000000000000ffffc0000201', 'hex'), Buffer.alloc(16)]) {
      for (let pass = 0; pass < 2; pass++) assert.equal(memo.text(Buffer.concat([Buffer.alloc(pass + 1), v]), pass + 1, 6), addressToString(v, 0, 6));
    }
  });
});

describe('decode/canonicalAddress', () => {
  it('writes text addresses as packet addresses are written', () => {
    const cases: [string, string | undefined][] = [
      ['192.0.2.7', '192.0.2.7'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
      ['::FFFF:198.51.100.9', '::ffff:198.51.100.9'],
      ['fe80::1%eth0', 'fe80::1'],
      ['10.0.0', undefined],
      ['proxy.corp.example', undefined],
    ];
    for (const [text, want] of cases) assert.equal(canonicalAddress(text), want, text);
  });
});
