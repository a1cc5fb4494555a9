import assert from 'node:assert/strict';
import { quicHelloSni, quicInitialCrypto, quicInitialSni, type StreamFragment } from '../../lib/sniff/index.js';
import { clientHello, extension, helloFor, serverNameExt } from './build.js';
import { cryptoFrame, protectInitial, QUIC_V1, QUIC_V2 } from './quic-build.js';

const PING = Buffer.from([0x01]);
const pad = (n: number): Buffer => Buffer.alloc(n);
const sniOf = (d: Buffer): string | undefined => quicInitialSni(d, 0, d.length);

describe('sniff: QUIC Initial', () => {
  const hello = helloFor('quic.example.org');

  for (const version of [QUIC_V1, QUIC_V2]) {
    it(`reads one CRYPTO frame (version 0x${version.toString(16)}), with 1- to 4-byte packet numbers`, () => {
      for (const pnLength of [1, 2, 3, 4]) {
        const d = protectInitial(Buffer.concat([cryptoFrame(0, hello), pad(900)]), { version, pnLength, packetNumber: pnLength });
        assert.equal(sniOf(d), 'quic.example.org', `pn length ${pnLength}`);
      }
    });
  }

  it('reassembles CRYPTO frames out of order, between PING, PADDING and an ACK (as Chrome sends them)', () => {
    const a = hello.subarray(0, 50);
    const b = hello.subarray(50, 120);
    const c = hello.subarray(120);
    const ack = Buffer.from([0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]); // largest 0, delay 0, 1 range: gap 0, len 0
    const payload = Buffer.concat([cryptoFrame(120, c), PING, pad(7), ack, cryptoFrame(0, a), PING, cryptoFrame(50, b), pad(800)]);
    assert.equal(sniOf(protectInitial(payload, { scid: Buffer.from('c0ffee', 'hex'), token: Buffer.from('t0k3n') })), 'quic.example.org');
  });

  it('reads CRYPTO data spread over two coalesced Initial packets, and skips a coalesced Handshake packet', () => {
    const first = protectInitial(cryptoFrame(0, hello.subarray(0, 90)), { packetNumber: 0, minPacket: 0 });
    const second = protectInitial(cryptoFrame(90, hello.subarray(90)), { packetNumber: 1 });
    const handshake = protectInitial(pad(60), { type: 2, minPacket: 0 }); // Handshake type bits; keys do not open it
    assert.equal(sniOf(Buffer.concat([first, second])), 'quic.example.org');
    assert.equal(sniOf(Buffer.concat([handshake, first, second])), 'quic.example.org');
  });

  it('a post-quantum ClientHello over two Initial datagrams: the first alone is "more", both give the name, in either order', () => {
    // X25519MLKEM768 key share (1,216 + 32 bytes) before server_name, as Chrome may order them.
    const share = Buffer.alloc(1216 + 32, 0x5a);
    const big = clientHello({ extensions: [
      extension(0x0033, Buffer.concat([Buffer.from([(share.length + 4) >> 8, (share.length + 4) & 0xff, 0x11, 0xec, share.length >> 8, share.length & 0xff]), share])),
      serverNameExt([[0, 'pq.example.net']]),
    ] });
    const cut = 1000;
    // Chrome splits and shuffles the CRYPTO frames of the first datagram too.
    const d1 = protectInitial(Buffer.concat([cryptoFrame(400, big.subarray(400, cut)), PING, cryptoFrame(0, big.subarray(0, 400))]), { packetNumber: 0 });
    const d2 = protectInitial(cryptoFrame(cut, big.subarray(cut)), { packetNumber: 1 });
    assert.equal(sniOf(d1), undefined);
    const frags: StreamFragment[] = [];
    assert.equal(quicInitialCrypto(d1, 0, d1.length, frags), true);
    assert.deepEqual(quicHelloSni(frags, true), { kind: 'more' });
    assert.deepEqual(quicHelloSni(frags, false), { kind: 'none' });
    assert.equal(quicInitialCrypto(d2, 0, d2.length, frags), true);
    assert.deepEqual(quicHelloSni(frags, true), { kind: 'sni', name: 'pq.example.net' });
    const reversed: StreamFragment[] = [];
    quicInitialCrypto(d2, 0, d2.length, reversed);
    assert.deepEqual(quicHelloSni(reversed, true), { kind: 'more' });
    quicInitialCrypto(d1, 0, d1.length, reversed);
    assert.deepEqual(quicHelloSni(reversed, true), { kind: 'sni', name: 'pq.example.net' });
    assert.equal(quicInitialCrypto(Buffer.alloc(1200, 0xc3), 0, 1200, reversed), false, 'not an Initial');
  });

  it('gives undefined when the data from offset 0 stops before server_name', () => {
    const tail = protectInitial(Buffer.concat([cryptoFrame(60, hello.subarray(60)), pad(500)]));
    assert.equal(sniOf(tail), undefined);
    const head = protectInitial(Buffer.concat([cryptoFrame(0, hello.subarray(0, 60)), pad(500)]));
    assert.equal(sniOf(head), undefined);
  });

  it('stops at a frame an Initial may not carry before the CRYPTO frame', () => {
    const close = Buffer.from([0x1c, 0x00, 0x00, 0x00]); // CONNECTION_CLOSE, no reason
    assert.equal(sniOf(protectInitial(Buffer.concat([close, cryptoFrame(0, hello), pad(500)]))), undefined);
    assert.equal(sniOf(protectInitial(Buffer.concat([cryptoFrame(0, hello), close, pad(500)]))), 'quic.example.org');
  });

  it('gives undefined for short headers, version negotiation, unknown versions, Retry and non-QUIC', () => {
    const d = protectInitial(Buffer.concat([cryptoFrame(0, hello), pad(500)]));
    const short = Buffer.from(d);
    short[0] &= 0x7f;
    assert.equal(sniOf(short), undefined);
    const vn = Buffer.from(d);
    vn.writeUInt32BE(0, 1);
    assert.equal(sniOf(vn), undefined);
    const retry = protectInitial(pad(40), { type: 3 });
    assert.equal(sniOf(retry), undefined);
    assert.equal(sniOf(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined);
    assert.equal(sniOf(Buffer.alloc(0)), undefined);
    assert.equal(quicInitialSni(d, d.length + 5, 100), undefined);
    assert.equal(quicInitialSni(d, -3, Number.NaN), undefined);
  });

  it('skips datagrams under 1200 bytes (RFC 9000 §14.1: servers drop them) before any crypto', () => {
    const d = protectInitial(cryptoFrame(0, hello), { minPacket: 0 });
    assert.ok(d.length < 1200);
    assert.equal(sniOf(d), undefined);
    const padded = Buffer.concat([d, Buffer.alloc(1200 - d.length)]); // datagram padding after the packet
    assert.equal(sniOf(padded), 'quic.example.org');
  });

  it('a wrong DCID (keys from another connection ID) does not open the packet', () => {
    const d = protectInitial(Buffer.concat([cryptoFrame(0, hello), pad(500)]));
    d[6] ^= 0xff; // first DCID byte: different keys, tag check fails
    assert.equal(sniOf(d), undefined);
  });
});
