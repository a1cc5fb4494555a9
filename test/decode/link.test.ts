import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LinkType, addressToString } from '../../lib/decode/index.js';
import { ethernet, hex, ipv4, ipv6, nullHeader, sll, sll2, tcp, udp, writePcap, TCP_SYN } from '../helpers/packets.js';
import { haveCommand } from '../helpers/env.js';
import { decodeOne, onlyCounter } from './util.js';

// IPv4 TCP SYN 192.0.2.1:50000 -> 198.51.100.7:443, shared by the link-layer cases below.
const IPV4_SYN = `
  45 00 00 28   # version 4, IHL 5 | TOS | total length 40
  12 34 40 00   # identification | flags DF, fragment offset 0
  40 06 00 00   # TTL 64 | protocol 6 TCP | header checksum (not checked)
  c0 00 02 01   # source 192.0.2.1
  c6 33 64 07   # destination 198.51.100.7
  c3 50 01 bb   # source port 50000 | destination port 443
  00 00 03 e8   # sequence number 1000
  00 00 00 00   # acknowledgment number
  50 02 ff ff   # data offset 5 | flags SYN | window
  00 00 00 00   # checksum | urgent pointer
`;

function assertSyn(frame: Buffer, linkType: number): void {
  const { ok, out, stats } = decodeOne(linkType, frame);
  assert.equal(ok, true, JSON.stringify(stats));
  assert.equal(out.ipVersion, 4);
  assert.equal(addressToString(frame, out.srcOffset, 4), '192.0.2.1');
  assert.equal(addressToString(frame, out.dstOffset, 4), '198.51.100.7');
  assert.equal(out.protocol, 6);
  assert.equal(out.srcPort, 50000);
  assert.equal(out.dstPort, 443);
  assert.equal(out.tcpFlags, TCP_SYN);
  assert.equal(out.tcpSeq, 1000);
  assert.equal(out.ipLength, 40);
  assert.equal(out.payloadLength, 0);
  assert.equal(stats.decoded, 1);
}

describe('decode: link layers', () => {
  it('Ethernet II', () => {
    const frame = hex(`
      02 00 00 00 00 02   # destination MAC
      02 00 00 00 00 01   # source MAC
      08 00               # EtherType IPv4
    ` + IPV4_SYN);
    assertSyn(frame, LinkType.ETHERNET);
    assert.equal(decodeOne(LinkType.ETHERNET, frame).out.vlanId, -1);
    assert.equal(decodeOne(LinkType.ETHERNET, frame).out.sllPacketType, -1);
  });

  it('Linux cooked capture v1 (SLL), outgoing', () => {
    const frame = hex(`
      00 04                     # packet type 4: outgoing
      00 01                     # ARPHRD_ETHER
      00 06                     # address length 6
      02 00 00 00 00 01 00 00   # address, padded to 8
      08 00                     # protocol IPv4
    ` + IPV4_SYN);
    assertSyn(frame, LinkType.LINUX_SLL);
    assert.equal(decodeOne(LinkType.LINUX_SLL, frame).out.sllPacketType, 4);
  });

  it('Linux cooked capture v2 (SLL2), to this host', () => {
    const frame = hex(`
      08 00                     # protocol IPv4
      00 00                     # reserved
      00 00 00 02               # interface index 2
      00 01                     # ARPHRD_ETHER
      00                        # packet type 0: to us
      06                        # address length
      02 00 00 00 00 01 00 00   # address
    ` + IPV4_SYN);
    assertSyn(frame, LinkType.LINUX_SLL2);
    assert.equal(decodeOne(LinkType.LINUX_SLL2, frame).out.sllPacketType, 0);
  });

  it('raw IP (12 and 101) takes the version from the first nibble', () => {
    assertSyn(hex(IPV4_SYN), LinkType.RAW);
    assertSyn(hex(IPV4_SYN), LinkType.RAW_101);
    const v6 = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 17 }, udp({ srcPort: 53, dstPort: 40000 }, Buffer.from('x')));
    const { ok, out } = decodeOne(LinkType.RAW, v6);
    assert.equal(ok, true);
    assert.equal(out.ipVersion, 6);
    assert.equal(out.payloadLength, 1);
    const bad = decodeOne(LinkType.RAW, hex('50 00 00 14'));
    assert.equal(bad.ok, false);
    assert.equal(onlyCounter(bad.stats), 'errors.bad-ip-version');
    assert.equal(onlyCounter(decodeOne(LinkType.RAW, Buffer.alloc(0)).stats), 'errors.truncated-ip');
  });

  it('LINKTYPE_IPV4 / LINKTYPE_IPV6 trust the link type and count a mismatching version', () => {
    assertSyn(hex(IPV4_SYN), LinkType.IPV4);
    const r = decodeOne(LinkType.IPV6, hex(IPV4_SYN));
    assert.equal(r.ok, false);
    assert.equal(onlyCounter(r.stats), 'errors.bad-ipv6-version'); // 40 bytes, first nibble 4
  });

  it('BSD NULL in both byte orders, OpenBSD LOOP, every AF_INET6 value', () => {
    assertSyn(Buffer.concat([hex('02 00 00 00 # AF_INET, little-endian'), hex(IPV4_SYN)]), LinkType.NULL);
    assertSyn(Buffer.concat([hex('00 00 00 02 # AF_INET, big-endian'), hex(IPV4_SYN)]), LinkType.NULL);
    assertSyn(Buffer.concat([hex('00 00 00 02 # AF_INET, network order'), hex(IPV4_SYN)]), LinkType.LOOP);
    const v6 = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 6 }, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN }));
    for (const family of [24, 28, 30]) {
      for (const le of [true, false]) {
        const r = decodeOne(LinkType.NULL, nullHeader(family, le, v6));
        assert.equal(r.ok, true, `family ${family} le ${le}`);
        assert.equal(r.out.ipVersion, 6);
      }
    }
    const other = decodeOne(LinkType.NULL, nullHeader(7, true, v6));
    assert.equal(onlyCounter(other.stats), 'skipped.non-ip');
    assert.equal(onlyCounter(decodeOne(LinkType.NULL, hex('02 00')).stats), 'errors.truncated-null');
  });

  it('PPPoE sessions (an uplink to a DSL or fibre provider): IPv4 and IPv6 in PPP, VLAN-tagged too, checked against tshark', function () {
    /** PPPoE session header (version/type 0x11, code 0, session 0x1234, length) and the PPP protocol. */
    const pppoe = (protocol: number, payload: Buffer): Buffer => {
      const h = Buffer.alloc(8);
      h[0] = 0x11;
      h.writeUInt16BE(0x1234, 2);
      h.writeUInt16BE(payload.length + 2, 4);
      h.writeUInt16BE(protocol, 6);
      return Buffer.concat([h, payload]);
    };
    const syn = hex(IPV4_SYN);
    const frames = [
      ethernet({ type: 0x8864 }, pppoe(0x0021, syn)),
      ethernet({ type: 0x8864, vlans: [{ id: 7 }] }, pppoe(0x0021, syn)),
    ];
    for (const f of frames) assertSyn(f, LinkType.ETHERNET);
    const v6 = decodeOne(LinkType.ETHERNET, ethernet({ type: 0x8864 }, pppoe(0x0057, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 17 }, udp({ srcPort: 53, dstPort: 40000 }, Buffer.alloc(8))))));
    assert.equal(v6.ok, true);
    assert.equal(v6.out.ipVersion, 6);
    assert.equal(v6.out.srcPort, 53);
    assert.equal(decodeOne(LinkType.LINUX_SLL, sll({ protocol: 0x8864 }, pppoe(0x0021, syn))).out.dstPort, 443, 'cooked capture of the Ethernet device');
    assert.equal(onlyCounter(decodeOne(LinkType.ETHERNET, ethernet({ type: 0x8864 }, pppoe(0xc021, Buffer.alloc(8)))).stats), 'skipped.non-ip', 'LCP');
    assert.equal(onlyCounter(decodeOne(LinkType.ETHERNET, ethernet({ type: 0x8863 }, Buffer.alloc(20))).stats), 'skipped.non-ip', 'discovery stage');
    assert.equal(onlyCounter(decodeOne(LinkType.ETHERNET, ethernet({ type: 0x8864 }, hex('11 00 12 34'))).stats), 'errors.truncated-pppoe');
    // tshark reads the same frames as the same SYN.
    if (!haveCommand('tshark')) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-pppoe-'));
    try {
      const file = path.join(dir, 'pppoe.pcap');
      writePcap(file, LinkType.ETHERNET, frames.map((data, ts) => ({ ts, data })));
      const out = execFileSync('tshark', ['-n', '-r', file, '-T', 'fields', '-e', 'pppoe.session_id', '-e', 'ip.dst', '-e', 'tcp.dstport'], { encoding: 'utf8' });
      assert.deepEqual(out.trim().split('\n'), ['0x1234\t198.51.100.7\t443', '0x1234\t198.51.100.7\t443']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Linux cooked captures say when a frame was captured on a loopback device (ARPHRD_LOOPBACK)', () => {
    const syn = hex(IPV4_SYN);
    assert.equal(decodeOne(LinkType.LINUX_SLL, sll({ protocol: 0x0800, arphrd: 772 }, syn)).out.loopback, true);
    assert.equal(decodeOne(LinkType.LINUX_SLL, sll({ protocol: 0x0800 }, syn)).out.loopback, false);
    assert.equal(decodeOne(LinkType.LINUX_SLL2, sll2({ protocol: 0x0800, arphrd: 772 }, syn)).out.loopback, true);
    assert.equal(decodeOne(LinkType.LINUX_SLL2, sll2({ protocol: 0x0800 }, syn)).out.loopback, false);
    assert.equal(decodeOne(LinkType.RAW, syn).out.loopback, false, 'other link types do not say');
  });

  it('NFLOG (239): the IP packet from the payload attribute, in either byte order, ending with that attribute', () => {
    /** An attribute: length (header included) and type in the given byte order, value padded to 4 bytes. */
    const tlv = (type: number, value: Buffer, le: boolean): Buffer => {
      const h = Buffer.alloc(4);
      if (le) { h.writeUInt16LE(4 + value.length, 0); h.writeUInt16LE(type, 2); } else { h.writeUInt16BE(4 + value.length, 0); h.writeUInt16BE(type, 2); }
      return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
    };
    const syn = hex(IPV4_SYN);
    for (const le of [true, false]) {
      const frame = Buffer.concat([
        hex('02 00 00 05'), // AF_INET, version 0, resource id 5 (group 5)
        tlv(1, hex('08 00 03 00'), le), // NFULA_PACKET_HDR: hw protocol, hook
        tlv(10, Buffer.from('egress: \0'), le), // NFULA_PREFIX, 10 bytes: padded
        tlv(9, syn, le), // NFULA_PAYLOAD
        tlv(11, hex('00 00 03 e8'), le), // NFULA_UID after the payload: not part of the packet
      ]);
      assertSyn(frame, LinkType.NFLOG);
    }
    // An IPv6 UDP packet, cut by the rule's copy range: truncation, not a malformed packet.
    const v6 = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 17 }, udp({ srcPort: 53, dstPort: 40000 }, Buffer.alloc(200, 1)));
    const cut = decodeOne(LinkType.NFLOG, Buffer.concat([hex('0a 00 00 01'), tlv(9, v6.subarray(0, 80), true)]));
    assert.equal(cut.ok, true, JSON.stringify(cut.stats));
    assert.equal(cut.out.ipVersion, 6);
    assert.equal(cut.out.ipLength, v6.length, 'byte counts from the IP header');
    assert.equal(cut.out.payloadLength, 80 - 48);

    assert.equal(onlyCounter(decodeOne(LinkType.NFLOG, hex('02 00')).stats), 'errors.truncated-nflog');
    assert.equal(onlyCounter(decodeOne(LinkType.NFLOG, Buffer.concat([hex('02 01 00 00'), tlv(9, syn, true)])).stats), 'errors.bad-nflog', 'version 1');
    assert.equal(onlyCounter(decodeOne(LinkType.NFLOG, Buffer.concat([hex('02 00 00 00'), hex('ff 00 09 00'), syn])).stats), 'errors.bad-nflog', 'an attribute longer than the frame');
    assert.equal(onlyCounter(decodeOne(LinkType.NFLOG, Buffer.concat([hex('02 00 00 00'), tlv(10, Buffer.from('no packet'), true)])).stats), 'skipped.nflog-no-payload');
  });

  it('non-IP EtherTypes, 802.3 frames and unknown link types are skipped, not errors', () => {
    const arp = hex(`
      ff ff ff ff ff ff  02 00 00 00 00 01   # broadcast, source
      08 06                                 # EtherType ARP
      00 01 08 00 06 04 00 01               # ARP request header
    `);
    assert.equal(onlyCounter(decodeOne(LinkType.ETHERNET, arp).stats), 'skipped.non-ip');
    const llc = hex('01 80 c2 00 00 00  02 00 00 00 00 01  00 26  42 42 03 # 802.3 length 38, STP LLC');
    assert.equal(onlyCounter(decodeOne(LinkType.ETHERNET, llc).stats), 'skipped.non-ip');
    assert.equal(onlyCounter(decodeOne(147, hex(IPV4_SYN)).stats), 'skipped.unsupported-link-type'); // LINKTYPE_USER0
    const sllArp = sll({ protocol: 0x0806 }, Buffer.alloc(28));
    assert.equal(onlyCounter(decodeOne(LinkType.LINUX_SLL, sllArp).stats), 'skipped.non-ip');
  });

  it('truncated link headers are counted by kind', () => {
    assert.equal(onlyCounter(decodeOne(LinkType.ETHERNET, Buffer.alloc(13)).stats), 'errors.truncated-ethernet');
    assert.equal(onlyCounter(decodeOne(LinkType.LINUX_SLL, Buffer.alloc(15)).stats), 'errors.truncated-sll');
    assert.equal(onlyCounter(decodeOne(LinkType.LINUX_SLL2, Buffer.alloc(19)).stats), 'errors.truncated-sll2');
    assert.equal(onlyCounter(decodeOne(LinkType.ETHERNET, Buffer.alloc(0)).stats), 'errors.truncated-ethernet');
  });

  it('caplen below the buffer length bounds every read (libpcap reuses a larger buffer)', () => {
    const frame = Buffer.concat([sll2({ protocol: 0x0800 }, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17 },
      udp({ srcPort: 1, dstPort: 53 }, Buffer.from('abcd')))), Buffer.alloc(100, 0xff)]);
    const whole = decodeOne(LinkType.LINUX_SLL2, frame, { caplen: frame.length - 100, wireLen: frame.length - 100 });
    assert.equal(whole.ok, true);
    assert.equal(whole.out.payloadLength, 4);
    const cut = decodeOne(LinkType.LINUX_SLL2, frame, { caplen: 30, wireLen: frame.length - 100 });
    assert.equal(onlyCounter(cut.stats), 'errors.truncated-ipv4');
  });
});
