// RFC 9001 Appendix A (QUIC v1) and RFC 9369 Appendix A (QUIC v2) client Initial vectors,
// from test/fixtures/sniff/quic-initial-vectors.txt.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { quicInitialSni } from '../../lib/sniff/index.js';
import { clientInitialKeys, QUIC_V1, QUIC_V2 } from '../../lib/sniff/quic-keys.js';
import { FIXTURES_DIR } from '../helpers/env.js';

function loadVectors(): Map<string, Buffer> {
  const text = fs.readFileSync(path.join(FIXTURES_DIR, 'sniff', 'quic-initial-vectors.txt'), 'utf8');
  const out = new Map<string, Buffer>();
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    if (lines.length < 2 || !lines[0].endsWith(':')) continue;
    out.set(lines[0].slice(0, -1), Buffer.from(lines.slice(1).join('').replace(/\s/g, ''), 'hex'));
  }
  return out;
}

describe('sniff: QUIC Initial RFC vectors', () => {
  const vec = loadVectors();
  const get = (k: string): Buffer => {
    const b = vec.get(k);
    assert.ok(b && b.length > 0, `fixture has ${k}`);
    return b;
  };

  for (const [v, version] of [['v1', QUIC_V1], ['v2', QUIC_V2]] as const) {
    it(`${v}: derives the client Initial secret, key, iv and hp from the DCID`, () => {
      const keys = clientInitialKeys(version, get(`${v}.dcid`));
      assert.ok(keys);
      assert.equal(keys.secret.toString('hex'), get(`${v}.client_initial_secret`).toString('hex'));
      assert.equal(keys.key.toString('hex'), get(`${v}.key`).toString('hex'));
      assert.equal(keys.iv.toString('hex'), get(`${v}.iv`).toString('hex'));
      assert.equal(keys.hp.toString('hex'), get(`${v}.hp`).toString('hex'));
    });

    it(`${v}: decrypts the 1200-byte client Initial and reads SNI example.com`, () => {
      const pkt = get(`${v}.packet`);
      assert.equal(pkt.length, 1200);
      const copy = Buffer.from(pkt);
      assert.equal(quicInitialSni(pkt, 0, pkt.length), 'example.com');
      assert.ok(pkt.equals(copy), 'the datagram is not modified');
      // Inside a larger buffer at an offset, as a capture hands it over.
      const big = Buffer.concat([Buffer.alloc(42, 0xee), pkt, Buffer.alloc(10)]);
      assert.equal(quicInitialSni(big, 42, pkt.length), 'example.com');
    });

    it(`${v}: a flipped ciphertext bit, a truncated datagram or a wrong version give undefined`, () => {
      const pkt = Buffer.from(get(`${v}.packet`));
      const flipped = Buffer.from(pkt);
      flipped[600] ^= 1; // GCM tag check fails
      assert.equal(quicInitialSni(flipped, 0, flipped.length), undefined);
      assert.equal(quicInitialSni(pkt, 0, 1199), undefined); // Length field runs past the datagram
      const other = Buffer.from(pkt);
      other.writeUInt32BE(0xff00001d, 1); // draft-29: not opened
      assert.equal(quicInitialSni(other, 0, other.length), undefined);
    });
  }

  it('v1: the CRYPTO frame in the RFC holds the ClientHello for example.com', () => {
    const frame = get('v1.crypto_frame');
    assert.equal(frame[0], 0x06); // CRYPTO
    assert.ok(frame.includes(Buffer.from('example.com')));
  });

  it('reads a second coalesced Initial after one that does not decrypt', () => {
    const pkt = get('v1.packet');
    const broken = Buffer.from(pkt);
    broken[700] ^= 0x80;
    const both = Buffer.concat([broken, pkt]);
    assert.equal(quicInitialSni(both, 0, both.length), 'example.com');
  });
});
