import assert from 'node:assert/strict';
import { LinkType } from '../../lib/decode/index.js';
import { hex, ipv4, tcp, udp, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../helpers/packets.js';
import { decodeOne, onlyCounter } from './util.js';

const v4 = (protocol: number, l4: Buffer, totalLength?: number): Buffer =>
  ipv4({ src: '192.0.2.1', dst: '203.0.113.9', protocol, totalLength }, l4);

describe('decode: TCP', () => {
  it('flags, unsigned sequence number, options and payload', () => {
    const segment = hex(`
      c3 50 00 50   # source port 50000 | destination port 80
      fe dc ba 98   # sequence number 4275878552 (above 2^31)
      00 00 00 01   # acknowledgment number
      60 18 ff ff   # data offset 6 (24 bytes) | flags PSH ACK | window
      00 00 00 00   # checksum | urgent pointer
      02 04 05 b4   # option: MSS 1460
      47 45 54 20   # payload "GET "
    `);
    const { ok, out } = decodeOne(LinkType.IPV4, v4(6, segment));
    assert.equal(ok, true);
    assert.equal(out.tcpSeq, 4275878552);
    assert.equal(out.tcpFlags, TCP_PSH | TCP_ACK);
    assert.equal(out.payloadOffset, 20 + 24);
    assert.equal(out.buf.toString('latin1', out.payloadOffset, out.payloadOffset + out.payloadLength), 'GET ');
  });

  it('all eight flag bits come through (CWR ECE URG ...)', () => {
    const { out } = decodeOne(LinkType.IPV4, v4(6, tcp({ srcPort: 1, dstPort: 2, flags: 0xff })));
    assert.equal(out.tcpFlags, 0xff);
    assert.equal(decodeOne(LinkType.IPV4, v4(6, tcp({ srcPort: 1, dstPort: 2, flags: TCP_FIN | TCP_ACK }))).out.tcpFlags, 0x11);
  });

  it('data offset below 5 or beyond the IP payload is bad; options cut by the snaplen are not', () => {
    assert.equal(onlyCounter(decodeOne(LinkType.IPV4, v4(6, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN, dataOffset: 4 }))).stats), 'errors.bad-tcp-data-offset');
    assert.equal(onlyCounter(decodeOne(LinkType.IPV4, v4(6, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN, dataOffset: 15 }))).stats), 'errors.bad-tcp-data-offset');
    const withOptions = v4(6, tcp({ srcPort: 1, dstPort: 2, flags: TCP_SYN, options: Buffer.alloc(20) }));
    const cut = decodeOne(LinkType.IPV4, withOptions, { caplen: 48, wireLen: withOptions.length });
    assert.equal(cut.ok, true);
    assert.equal(cut.out.tcpFlags, TCP_SYN);
    assert.equal(cut.out.payloadLength, 0);
    assert.equal(onlyCounter(decodeOne(LinkType.IPV4, v4(6, Buffer.alloc(19))).stats), 'errors.truncated-tcp');
  });
});

describe('decode: UDP', () => {
  it('payload ends at the UDP length (IP padding excluded)', () => {
    const datagram = Buffer.concat([udp({ srcPort: 53, dstPort: 1234 }, Buffer.from('dns')), Buffer.alloc(5)]);
    const { ok, out } = decodeOne(LinkType.IPV4, v4(17, datagram));
    assert.equal(ok, true);
    assert.equal(out.payloadLength, 3);
    assert.equal(out.srcPort, 53);
  });

  it('length below 8 or beyond the IP payload is bad-udp-length; a short header is truncated-udp', () => {
    assert.equal(onlyCounter(decodeOne(LinkType.IPV4, v4(17, udp({ srcPort: 1, dstPort: 2, length: 7 }))).stats), 'errors.bad-udp-length');
    assert.equal(onlyCounter(decodeOne(LinkType.IPV4, v4(17, udp({ srcPort: 1, dstPort: 2, length: 100 }, Buffer.alloc(10)))).stats), 'errors.bad-udp-length');
    assert.equal(onlyCounter(decodeOne(LinkType.IPV4, v4(17, Buffer.alloc(7))).stats), 'errors.truncated-udp');
  });

  it('a payload cut by the snaplen is clamped to the captured bytes', () => {
    const frame = v4(17, udp({ srcPort: 53, dstPort: 1234 }, Buffer.alloc(1000)));
    const { ok, out } = decodeOne(LinkType.IPV4, frame, { caplen: 128, wireLen: frame.length });
    assert.equal(ok, true);
    assert.equal(out.payloadLength, 128 - 28);
    assert.equal(out.ipLength, frame.length);
  });
});
