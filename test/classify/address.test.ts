// AddressClassifier: the built-in ranges (IANA special-purpose registries), configured
// overrides and the configuration error text. Addresses outside the documentation ranges
// are only classified here, never contacted.
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import { AddressClassifier, ClassifyConfigError, BUILTIN_IPV4, BUILTIN_IPV6, externalCoversLoopback, internalPairRanges, isLoopbackAt, MAX_PAIR_RANGES } from '../../lib/classify/index.js';

// [address, external?, why]
const BUILTIN_TABLE: [string, boolean, string][] = [
  ['127.0.0.1', false, 'loopback'],
  ['127.255.255.254', false, 'loopback /8'],
  ['10.1.2.3', false, 'RFC 1918'],
  ['172.16.0.1', false, 'RFC 1918 low edge'],
  ['172.31.255.255', false, 'RFC 1918 high edge'],
  ['172.32.0.1', true, 'just above 172.16/12'],
  ['172.15.255.255', true, 'just below 172.16/12'],
  ['192.168.0.10', false, 'RFC 1918'],
  ['100.64.0.1', false, 'CGNAT'],
  ['100.127.255.255', false, 'CGNAT high edge'],
  ['100.128.0.1', true, 'above CGNAT'],
  ['169.254.169.254', false, 'link-local / metadata'],
  ['224.0.0.251', false, 'multicast (mDNS)'],
  ['239.255.255.250', false, 'multicast (SSDP)'],
  ['255.255.255.255', false, 'broadcast'],
  ['0.0.0.0', false, 'unspecified'],
  ['0.1.2.3', false, '0/8'],
  ['240.0.0.1', false, 'class E'],
  ['192.0.0.170', false, 'IETF protocol assignments'],
  ['192.0.2.1', false, 'TEST-NET-1'],
  ['198.51.100.7', false, 'TEST-NET-2'],
  ['203.0.113.9', false, 'TEST-NET-3'],
  ['198.18.0.1', false, 'benchmarking'],
  ['198.19.255.255', false, 'benchmarking high edge'],
  ['198.20.0.1', true, 'above benchmarking'],
  ['192.88.99.1', false, '6to4 relay anycast'],
  ['8.8.8.8', true, 'public'],
  ['1.1.1.1', true, 'public'],
  ['52.95.110.1', true, 'public'],
  ['::1', false, 'v6 loopback'],
  ['::', false, 'v6 unspecified'],
  ['fe80::1', false, 'v6 link-local'],
  ['fe80::1%eth0', false, 'v6 link-local with zone'],
  ['fd12:3456::1', false, 'ULA'],
  ['fc00::1', false, 'ULA fc00::/8 half'],
  ['ff02::fb', false, 'v6 multicast'],
  ['2001:db8::1', false, 'v6 documentation'],
  ['3fff::1', false, 'v6 documentation RFC 9637'],
  ['100::1', false, 'discard'],
  ['2001:2::5', false, 'v6 benchmarking'],
  ['fec0::1', false, 'deprecated site-local'],
  ['64:ff9b:1::1', false, 'local-use translation'],
  ['4000::1', false, 'outside 2000::/3'],
  ['2606:4700:4700::1111', true, 'public v6'],
  ['2a00:1450:4001:81a::200e', true, 'public v6'],
  ['::ffff:10.0.0.1', false, 'mapped private'],
  ['::ffff:127.0.0.1', false, 'mapped loopback'],
  ['::ffff:8.8.8.8', true, 'mapped public'],
  ['::ffff:808:808', true, 'mapped public, hex form'],
  ['::ffff:192.0.2.1', false, 'mapped documentation'],
  ['64:ff9b::808:808', true, 'NAT64 of a public address'],
  ['64:ff9b::a00:1', false, 'NAT64 of a private address'],
];

describe('classify/address', () => {
  describe('built-in ranges', () => {
    const c = new AddressClassifier({});
    for (const [ip, external, why] of BUILTIN_TABLE) {
      it(`${ip} is ${external ? 'external' : 'internal'} (${why})`, () => {
        assert.equal(c.isExternal(ip), external);
        assert.equal(c.isExternal(ip), external, 'cached verdict agrees');
      });
    }

    it('every built-in range parses and its network address is internal', () => {
      for (const r of [...BUILTIN_IPV4, ...BUILTIN_IPV6]) {
        assert.equal(c.isExternal(r.cidr.split('/')[0]), false, r.cidr);
      }
    });

    it('unparseable addresses are counted and judged internal', () => {
      const k = new AddressClassifier({});
      assert.equal(k.isExternal('not-an-ip'), false);
      assert.equal(k.isExternal('1.2.3.4.5'), false);
      assert.equal(k.counters.invalidAddresses, 2);
    });

    it('dotted quads at the edges of the fast parser', () => {
      const k = new AddressClassifier({ externalCidrs: ['203.0.113.255/32'] });
      assert.equal(k.isExternal('203.0.113.255'), true);
      assert.equal(k.isExternal('203.0.113.254'), false);
      assert.equal(k.isExternal('223.255.255.255'), true);
      assert.equal(k.isExternal('224.0.0.0'), false);
      assert.equal(k.isExternal('9.255.255.255'), true);
      assert.equal(k.isExternal('10.0.0.0'), false);
      assert.equal(k.isExternal('1.2.3.256'), false, 'invalid');
      assert.equal(k.isExternal('1.2.3.'), false, 'invalid');
      assert.equal(k.isExternal('1.2.3.4.'), false, 'invalid');
      assert.equal(k.counters.invalidAddresses, 3);
    });

    it('the verdict cache is bounded and counts evictions', () => {
      const k = new AddressClassifier({ cacheSize: 10 });
      for (let i = 0; i < 25; i++) assert.equal(k.isExternal(`8.8.8.${i}`), true);
      assert.equal(k.counters.cacheEvictions, 15);
    });
  });

  describe('isExternalAt (addresses read from packet bytes)', () => {
    it('agrees with isExternal on the built-in table, configured overrides and every range edge', () => {
      const c = new AddressClassifier({
        internalCidrs: ['203.0.113.0/24', '198.51.100.128/25', '52.0.0.0/8'],
        externalCidrs: ['203.0.113.64/26', '198.51.100.0/24', '192.0.2.0/24', '10.9.0.0/16', '2001:db8:1::/48'],
      });
      const texts = BUILTIN_TABLE.map(([ip]) => ip).filter((ip) => !ip.includes('%'));
      for (const r of BUILTIN_IPV4) {
        const [base, bits] = r.cidr.split('/');
        const word = base.split('.').reduce((w, o) => w * 256 + Number(o), 0);
        const size = 2 ** (32 - Number(bits));
        for (const w of [word - 1, word, word + size - 1, word + size]) {
          if (w < 0 || w > 0xffffffff) continue;
          texts.push([w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255].join('.'));
        }
      }
      texts.push('10.9.3.4', '10.8.3.4', '203.0.113.70', '203.0.113.1', '198.51.100.200', '52.1.2.3', '2001:db8:1::9');
      let checked = 0;
      for (const ip of texts) {
        const v4 = !ip.includes(':');
        const buf = Buffer.alloc(20);
        if (v4) ip.split('.').forEach((o, i) => { buf[2 + i] = Number(o); });
        else Buffer.from(ipaddr.IPv6.parse(ip).toByteArray()).copy(buf, 2);
        assert.equal(c.isExternalAt(buf, 2, v4 ? 4 : 6), c.isExternal(ip), ip);
        checked++;
      }
      assert.ok(checked > 60, `checked ${checked} addresses`);
    });
  });

  describe('configured ranges', () => {
    it('externalCidrs override built-in documentation ranges (v4 and v6)', () => {
      const c = new AddressClassifier({ externalCidrs: ['203.0.113.0/24', '2001:db8:1::/48'] });
      assert.equal(c.isExternal('203.0.113.5'), true);
      assert.equal(c.isExternal('::ffff:203.0.113.5'), true, 'mapped form judged as IPv4');
      assert.equal(c.isExternal('198.51.100.5'), false, 'other documentation range untouched');
      assert.equal(c.isExternal('2001:db8:1::9'), true);
      assert.equal(c.isExternal('2001:db8:2::9'), false);
    });

    it('externalCidrs override even a more specific built-in range', () => {
      const c = new AddressClassifier({ externalCidrs: ['192.0.0.0/8'] });
      assert.equal(c.isExternal('192.0.2.1'), true);
      assert.equal(c.isExternal('192.168.1.1'), true);
    });

    it('internalCidrs add internal ranges', () => {
      const c = new AddressClassifier({ internalCidrs: ['52.0.0.0/8', '2606:4700::/32'] });
      assert.equal(c.isExternal('52.1.2.3'), false);
      assert.equal(c.isExternal('53.1.2.3'), true);
      assert.equal(c.isExternal('2606:4700:4700::1111'), false);
    });

    it('most specific configured prefix wins; a tie goes to external', () => {
      const c = new AddressClassifier({
        internalCidrs: ['203.0.113.0/24', '198.51.100.128/25', '192.0.2.0/24'],
        externalCidrs: ['203.0.113.64/26', '198.51.100.0/24', '192.0.2.0/24'],
      });
      assert.equal(c.isExternal('203.0.113.70'), true, 'external /26 inside internal /24');
      assert.equal(c.isExternal('203.0.113.1'), false, 'internal /24 outside external /26');
      assert.equal(c.isExternal('198.51.100.200'), false, 'internal /25 inside external /24');
      assert.equal(c.isExternal('198.51.100.1'), true, 'external /24 only');
      assert.equal(c.isExternal('192.0.2.1'), true, 'tie → external');
    });

    it('accepts bare addresses as host prefixes, masks host bits, maps ::ffff: prefixes to IPv4', () => {
      const c = new AddressClassifier({ externalCidrs: ['192.0.2.7', '198.51.100.77/24', '::ffff:203.0.113.0/120'] });
      assert.equal(c.isExternal('192.0.2.7'), true);
      assert.equal(c.isExternal('192.0.2.8'), false);
      assert.equal(c.isExternal('198.51.100.1'), true);
      assert.equal(c.isExternal('203.0.113.200'), true);
    });
  });

  describe('bad configuration', () => {
    const bad = ['x', '10/8', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/8/8', '300.1.1.1/8', 'fe80::1%eth0/64', ''];
    for (const value of bad) {
      it(`--external-cidr '${value}' is rejected with the setting and the fix`, () => {
        assert.throws(
          () => new AddressClassifier({ externalCidrs: [value] }),
          (err: unknown) => {
            assert.ok(err instanceof ClassifyConfigError);
            assert.equal(err.setting, '--external-cidr');
            assert.equal(err.message, `--external-cidr '${value}': not a CIDR (expected e.g. 203.0.113.0/24)`);
            return true;
          },
        );
      });
    }

    it('names --internal-cidr for a bad internal range', () => {
      assert.throws(
        () => new AddressClassifier({ internalCidrs: ['10.0.0.0/8', 'corp-net'] }),
        (err: unknown) => err instanceof ClassifyConfigError && err.setting === '--internal-cidr' &&
          err.message === "--internal-cidr 'corp-net': not a CIDR (expected e.g. 203.0.113.0/24)",
      );
    });
  });
});

describe('classify/address: loopback', () => {
  it('externalCoversLoopback: an --external-cidr that takes in 127.0.0.0/8 or ::1, whichever is longer', () => {
    for (const [cidrs, covers] of [
      [[], false],
      [['203.0.113.0/24', '2001:db8::/32'], false],
      [['127.0.0.2/32'], true],
      [['127.0.0.16/28'], true],
      [['127.0.0.0/8'], true],
      [['0.0.0.0/0'], true],
      [['126.0.0.0/7'], true],
      [['128.0.0.0/8'], false],
      [['::1'], true],
      [['::/0'], true],
      [['::2/128'], false],
      [['::ffff:127.0.0.1/128'], true],
      [['fe80::/10', ' 127.0.0.7/32 '], true],
    ] as [string[], boolean][]) {
      assert.equal(externalCoversLoopback(cidrs), covers, JSON.stringify(cidrs));
    }
  });

  it('isLoopbackAt: 127.0.0.0/8, ::1 and ::ffff:127.x.y.z from packet bytes', () => {
    const at = (ip: string): boolean => {
      const bytes = Buffer.from(ipaddr.parse(ip).toByteArray());
      return isLoopbackAt(Buffer.concat([Buffer.alloc(3), bytes]), 3, bytes.length === 4 ? 4 : 6);
    };
    for (const ip of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1']) assert.equal(at(ip), true, ip);
    for (const ip of ['128.0.0.1', '203.0.113.77', '::', '::2', '::ffff:10.0.0.1', '2001:db8::1', '1::1', '::1:0:0:1']) assert.equal(at(ip), false, ip);
  });

  describe('internalPairRanges (the capture leaves out traffic between two of them)', () => {
    const privates = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'];

    it('the private, shared and link-local ranges, every one internal to the classifier', () => {
      assert.deepEqual(internalPairRanges([], []), privates);
      const c = new AddressClassifier();
      for (const r of privates) assert.equal(c.isExternal(r.split('/')[0]), false, r);
    });

    it('adds --internal-cidr ranges as CIDR text with host bits cleared, once each', () => {
      assert.deepEqual(internalPairRanges(['203.0.113.77/24', ' 2001:db8:0:0:1::9/64 ', '10.1.0.0/16', '::ffff:198.51.100.0/120', '203.0.113.0/24'], []),
        [...privates, '203.0.113.0/24', '2001:db8::/64', '10.1.0.0/16', '198.51.100.0/24']);
    });

    it('leaves out every range an --external-cidr overlaps, inside it or around it', () => {
      // 10.5.0.0/16 made external: all of 10/8 is kept (the classifier decides there); 0.0.0.0/0 takes every IPv4 range.
      assert.deepEqual(internalPairRanges([], ['10.5.0.0/16']), privates.filter((r) => r !== '10.0.0.0/8'));
      assert.deepEqual(internalPairRanges(['203.0.113.0/24'], ['0.0.0.0/0']), ['fc00::/7', 'fe80::/10']);
      assert.deepEqual(internalPairRanges(['203.0.113.0/24'], ['203.0.113.128/25', 'fd00::/8']), privates.filter((r) => r !== 'fc00::/7'));
      // Not overlapping: documentation ranges made external leave the private ones alone.
      assert.deepEqual(internalPairRanges([], ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32']), privates);
    });

    it('leaves out IPv6 ranges over NAT64 and IPv4-mapped space (the classifier judges those by the IPv4 address inside)', () => {
      assert.deepEqual(internalPairRanges(['64:ff9b::/96', '64:ff9b::/64', '::/0', '::/80', '2001:db8:5::/48'], []), [...privates, '2001:db8:5::/48']);
      // An IPv4-mapped prefix is an IPv4 one to both (parsePrefix): consistent, so kept.
      assert.deepEqual(internalPairRanges(['::ffff:198.18.0.0/112'], []), [...privates, '198.18.0.0/16']);
      const c = new AddressClassifier({ internalCidrs: ['64:ff9b::/96'] });
      assert.equal(c.isExternal('64:ff9b::808:808'), true, 'why: judged as 8.8.8.8');
    });

    it(`takes at most ${MAX_PAIR_RANGES} --internal-cidr ranges and skips unparseable ones`, () => {
      const many = Array.from({ length: MAX_PAIR_RANGES + 5 }, (_, i) => `198.18.${i}.0/24`);
      assert.equal(internalPairRanges(many, []).length, privates.length + MAX_PAIR_RANGES);
      assert.deepEqual(internalPairRanges(['nonsense', '10.0.0.0/99'], []), privates);
    });
  });
});
