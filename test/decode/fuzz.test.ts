import assert from 'node:assert/strict';
import { DecodeStats, LinkType, PacketInfo, decodePacket } from '../../lib/decode/index.js';
import { ETHERTYPE_IPV6, ethernet, fragmentData, ipv4, ipv6, sll2, tcp, udp, TCP_SYN } from '../helpers/packets.js';
import { prng } from '../helpers/prng.js';

/** An NFLOG frame: header, a prefix attribute, the packet in NFULA_PAYLOAD, a uid attribute after it (lengths little-endian). */
function nflog(packet: Buffer): Buffer {
  const tlv = (type: number, value: Buffer): Buffer => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(4 + value.length, 0);
    h.writeUInt16LE(type, 2);
    return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
  };
  return Buffer.concat([Buffer.from([2, 0, 0, 1]), tlv(10, Buffer.from('log: ')), tlv(9, packet), tlv(11, Buffer.alloc(4))]);
}

describe('decode: mutated frames never throw', () => {
  it('20,000 bit-flipped and cut frames over every link type: no exception, no internal error, counts add up', () => {
    const seeds: [number, Buffer][] = [
      [LinkType.ETHERNET, ethernet({ type: 0x0800, vlans: [{ id: 5 }] }, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 6, options: Buffer.alloc(8) }, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN })))],
      [LinkType.ETHERNET, ethernet({ type: ETHERTYPE_IPV6 }, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 17, extensions: [{ type: 0 }, { type: 44, data: fragmentData(0, true) }] }, udp({ srcPort: 53, dstPort: 9 }, Buffer.alloc(20))))],
      [LinkType.LINUX_SLL2, sll2({ protocol: 0x86dd }, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 6, extensions: [{ type: 51, data: Buffer.alloc(10) }] }, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN })))],
      [LinkType.NULL, Buffer.concat([Buffer.from([2, 0, 0, 0]), ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17 }, udp({ srcPort: 1, dstPort: 2 }))])],
      [LinkType.RAW, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 6 }, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN }))],
      [LinkType.ETHERNET, ethernet({ type: 0x8864 }, Buffer.concat([Buffer.from([0x11, 0, 0x12, 0x34, 0, 42, 0, 0x21]), ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 6 }, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN }))]))],
      [LinkType.NFLOG, nflog(ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17 }, udp({ srcPort: 53, dstPort: 9 }, Buffer.alloc(12))))],
    ];
    const rand = prng(20240601);
    const out = new PacketInfo();
    const stats = new DecodeStats();
    for (let i = 0; i < 20000; i++) {
      const [linkType, seed] = seeds[i % seeds.length];
      const frame = Buffer.from(seed);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) frame[Math.floor(rand() * frame.length)] = Math.floor(rand() * 256);
      const caplen = rand() < 0.3 ? Math.floor(rand() * frame.length) : frame.length;
      const ok = decodePacket(linkType, frame, caplen, out, stats, rand() < 0.5 ? frame.length : -1);
      if (ok) {
        assert.ok(out.payloadOffset + out.payloadLength <= caplen, `payload beyond caplen at ${i}`);
        assert.ok(out.payloadLength >= 0);
        assert.ok(out.srcOffset + (out.ipVersion === 6 ? 16 : 4) <= caplen);
      }
    }
    assert.equal(stats.errors.internal, undefined);
    const counted = stats.decoded + Object.values(stats.errors).reduce((a, b) => a + b, 0) + Object.values(stats.skipped).reduce((a, b) => a + b, 0);
    assert.equal(counted, stats.packets);
    assert.ok(stats.decoded > 1000 && stats.totalErrors() > 1000, JSON.stringify(stats));
  });
});
