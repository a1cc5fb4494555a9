import assert from 'node:assert/strict';
import { LinkType, addressToString } from '../../lib/decode/index.js';
import { hex, fragmentData, ipv4, ipv6, tcp, udp, TCP_ACK, TCP_SYN } from '../helpers/packets.js';
import { decodeOne, onlyCounter } from './util.js';

const raw4 = LinkType.IPV4;
const raw6 = LinkType.IPV6;
const DNS = udp({ srcPort: 53, dstPort: 40000 }, Buffer.from('answer'));

describe('decode: IPv4', () => {
  it('header options are skipped by IHL', () => {
    const frame = hex(`
      46 00 00 24   # version 4, IHL 6 (24 bytes) | total length 36
      00 01 00 00   # id | no flags
      40 11 00 00   # TTL | UDP
      c0 00 02 01   # 192.0.2.1
      c0 00 02 35   # 192.0.2.53
      94 04 00 00   # option: router alert (RFC 2113)
      00 35 9c 40   # source port 53 | destination port 40000
      00 0c 00 00   # UDP length 12 | checksum
      61 62 63 64   # payload "abcd"
    `);
    const { ok, out } = decodeOne(raw4, frame);
    assert.equal(ok, true);
    assert.equal(out.payloadOffset, 32);
    assert.equal(out.payloadLength, 4);
    assert.equal(addressToString(frame, out.dstOffset, 4), '192.0.2.53');
  });

  it('first fragment (MF) is decoded and marked; later fragments are skipped', () => {
    // UDP length covers the whole datagram (1000 bytes), only part of it is in this fragment.
    const first = ipv4({ src: '192.0.2.53', dst: '192.0.2.1', protocol: 17, moreFragments: true },
      udp({ srcPort: 53, dstPort: 40000, length: 1000 }, Buffer.alloc(64)));
    const a = decodeOne(raw4, first);
    assert.equal(a.ok, true, JSON.stringify(a.stats));
    assert.equal(a.out.fragmented, true);
    assert.equal(a.out.payloadLength, 64);
    const later = ipv4({ src: '192.0.2.53', dst: '192.0.2.1', protocol: 17, fragmentOffset: 9 }, Buffer.alloc(64));
    const b = decodeOne(raw4, later);
    assert.equal(b.ok, false);
    assert.equal(onlyCounter(b.stats), 'skipped.ipv4-fragment');
    assert.equal(b.out.ipVersion, 4);
  });

  it('malformed headers are counted by kind', () => {
    const good = ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17 }, DNS);
    const cases: [Buffer, string][] = [
      [good.subarray(0, 19), 'errors.truncated-ipv4'],
      [Buffer.from([0x55, ...good.subarray(1)]), 'errors.bad-ipv4-version'],
      [ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, ihl: 4 }, DNS), 'errors.bad-ipv4-header-length'],
      [ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, totalLength: 19 }, DNS), 'errors.bad-ipv4-total-length'],
      [ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, options: Buffer.alloc(40) }, Buffer.alloc(0)).subarray(0, 40), 'errors.truncated-ipv4'],
      [ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 1 }, Buffer.alloc(8)), 'skipped.other-transport'],
    ];
    for (const [frame, kind] of cases) assert.equal(onlyCounter(decodeOne(raw4, frame).stats), kind);
  });

  it('total length beyond a complete frame is bad; beyond a snaplen-cut frame it is the wire length', () => {
    const frame = ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 6, totalLength: 1500 }, tcp({ srcPort: 1, dstPort: 2, flags: TCP_ACK }, Buffer.alloc(100)));
    assert.equal(onlyCounter(decodeOne(raw4, frame).stats), 'errors.bad-ipv4-total-length');
    const cut = decodeOne(raw4, frame, { wireLen: 1500 });
    assert.equal(cut.ok, true);
    assert.equal(cut.out.ipLength, 1500);
    assert.equal(cut.out.payloadLength, 100);
  });

  it('Ethernet padding after the IP total length is not payload', () => {
    const frame = Buffer.concat([ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 6 }, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN })), Buffer.alloc(6)]);
    const { ok, out } = decodeOne(raw4, frame);
    assert.equal(ok, true);
    assert.equal(out.payloadLength, 0);
    assert.equal(out.ipLength, 40);
  });

  it('total length 0 (Linux BIG TCP / TSO) takes the captured length', () => {
    const frame = ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 6, totalLength: 0 }, tcp({ srcPort: 1, dstPort: 2, flags: TCP_ACK }, Buffer.alloc(70000)));
    const { ok, out } = decodeOne(raw4, frame);
    assert.equal(ok, true);
    assert.equal(out.ipLength, frame.length);
    assert.equal(out.payloadLength, 70000);
  });
});

describe('decode: IPv6', () => {
  const base = { src: '2001:db8::53', dst: '2001:db8:0:1::1' };

  it('fixed header, addresses in RFC 5952 form', () => {
    const frame = hex(`
      60 00 00 00                                       # version 6, traffic class, flow label
      00 0e 11 40                                       # payload length 14 | next header UDP | hop limit 64
      20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 53   # source 2001:db8::53
      20 01 0d b8 00 00 00 01 00 00 00 00 00 00 00 01   # destination 2001:db8:0:1::1
      00 35 9c 40 00 0e 00 00                           # UDP 53 -> 40000, length 14
      61 6e 73 77 65 72                                 # "answer"
    `);
    const { ok, out } = decodeOne(raw6, frame);
    assert.equal(ok, true);
    assert.equal(addressToString(frame, out.srcOffset, 6), '2001:db8::53');
    assert.equal(addressToString(frame, out.dstOffset, 6), '2001:db8:0:1::1');
    assert.equal(out.ipLength, 54);
    assert.equal(frame.toString('latin1', out.payloadOffset, out.payloadOffset + out.payloadLength), 'answer');
  });

  it('walks hop-by-hop, destination options, routing and AH to the transport header', () => {
    const frame = ipv6({ ...base, nextHeader: 6, extensions: [{ type: 0 }, { type: 60, data: Buffer.alloc(14) }, { type: 43, data: Buffer.alloc(6) }, { type: 51, data: Buffer.alloc(22) }] },
      tcp({ srcPort: 443, dstPort: 50000, flags: TCP_SYN | TCP_ACK }));
    const { ok, out, stats } = decodeOne(raw6, frame);
    assert.equal(ok, true, JSON.stringify(stats));
    assert.equal(out.protocol, 6);
    assert.equal(out.srcPort, 443);
    assert.equal(out.payloadOffset, frame.length);
  });

  it('fragment header: first fragment decoded, later ones skipped, atomic fragment is whole', () => {
    const first = ipv6({ ...base, nextHeader: 17, extensions: [{ type: 44, data: fragmentData(0, true) }] }, udp({ srcPort: 53, dstPort: 40000, length: 3000 }, Buffer.alloc(1200)));
    const a = decodeOne(raw6, first);
    assert.equal(a.ok, true);
    assert.equal(a.out.fragmented, true);
    assert.equal(a.out.srcPort, 53);
    const later = ipv6({ ...base, nextHeader: 17, extensions: [{ type: 44, data: fragmentData(151, false) }] }, Buffer.alloc(800));
    assert.equal(onlyCounter(decodeOne(raw6, later).stats), 'skipped.ipv6-fragment');
    const atomic = ipv6({ ...base, nextHeader: 17, extensions: [{ type: 44, data: fragmentData(0, false) }] }, DNS);
    const c = decodeOne(raw6, atomic);
    assert.equal(c.ok, true);
    assert.equal(c.out.fragmented, false);
  });

  it('ESP, no-next-header, ICMPv6 are skipped; bad chains are errors', () => {
    const cases: [Buffer, string, number?][] = [
      [ipv6({ ...base, nextHeader: 50 }, Buffer.alloc(16)), 'skipped.ipv6-esp'],
      [ipv6({ ...base, nextHeader: 59 }, Buffer.alloc(0)), 'skipped.ipv6-no-next-header'],
      [ipv6({ ...base, nextHeader: 58 }, Buffer.alloc(8)), 'skipped.other-transport'],
      [ipv6({ ...base, nextHeader: 6, extensions: Array.from({ length: 9 }, () => ({ type: 60 })) }, Buffer.alloc(0)), 'errors.too-many-ipv6-ext'],
      [ipv6({ ...base, nextHeader: 6, extensions: [{ type: 0, data: Buffer.alloc(30) }] }, Buffer.alloc(0)).subarray(0, 50), 'errors.truncated-ipv6-ext', 72],
      [ipv6({ ...base, nextHeader: 17 }, DNS).subarray(0, 39), 'errors.truncated-ipv6'],
      [ipv6({ ...base, nextHeader: 17, payloadLength: 500 }, DNS), 'errors.bad-ipv6-payload-length'],
    ];
    for (const [frame, kind, wireLen] of cases) assert.equal(onlyCounter(decodeOne(raw6, frame, { wireLen }).stats), kind, kind);
    const v = ipv6({ ...base, nextHeader: 17 }, DNS);
    v[0] = 0x40;
    assert.equal(onlyCounter(decodeOne(raw6, v).stats), 'errors.bad-ipv6-version');
  });
});
