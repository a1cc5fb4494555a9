// 20,000 random and mutated inputs to each entry point; nothing may throw. The inner parsers
// are called without the public functions' try/catch backstop, so a bounds bug fails here
// instead of hiding behind it.
import assert from 'node:assert/strict';
import { helloOffersEch, quicInitialSni, recordsOfferEch, requestTarget, sniffSocks, sniffStream, socksReply, type SniffResult } from '../../lib/sniff/index.js';
import { sniffHttp } from '../../lib/sniff/http.js';
import { datagramSni } from '../../lib/sniff/quic.js';
import { sniffTls } from '../../lib/sniff/tls.js';
import { clientHello, helloFor, records, serverNameExt } from './build.js';
import { cryptoFrame, protectInitial, QUIC_V1, QUIC_V2 } from './quic-build.js';

const RUNS = 20000;

/** xorshift32: the same inputs on every run, so a failure can be replayed by its index. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function mutate(src: Buffer, r: () => number, edits: number): Buffer {
  let b = Buffer.from(src);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * Math.max(1, b.length));
    const op = r();
    if (op < 0.6 && b.length > 0) b[at] = Math.floor(r() * 256);
    else if (op < 0.75) b = b.subarray(0, at); // truncate
    else if (op < 0.9) b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(r() * 256)]), b.subarray(at)]);
    else if (b.length > 0) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  }
  return b;
}

function randomBytes(r: () => number, max: number): Buffer {
  const b = Buffer.alloc(Math.floor(r() * max));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function checkResult(res: SniffResult, what: string): void {
  assert.ok(['sni', 'http', 'more', 'none'].includes(res.kind), what);
  if (res.kind === 'sni' || res.kind === 'http') {
    assert.match(res.name, /^[\x21-\x7e]{1,1100}$/, `${what}: printable name`);
    assert.equal(res.name, res.name.toLowerCase(), `${what}: lower case`);
  }
}

describe('sniff: fuzz', function () {
  this.timeout(120000);

  it(`sniffStream: ${RUNS} random and mutated TLS / HTTP inputs`, () => {
    const r = rng(0x5eed1);
    const seeds = [
      records(helloFor('fuzz.example.com')),
      records(helloFor('split.example.com'), [30, 60]),
      records(clientHello({ extensions: [serverNameExt([[0, 'a.b'], [0, 'c.d']])] })),
      records(clientHello({})),
      Buffer.from('GET /x HTTP/1.1\r\nHost: www.example.com:8080\r\nAccept: */*\r\n\r\n'),
      Buffer.from('POST / HTTP/1.0\nhost: [2001:db8::1]\n\nGET / HTTP/1.1\r\nHost: b\r\n\r\n'),
    ];
    let named = 0;
    for (let i = 0; i < RUNS; i++) {
      const kind = r();
      let input: Buffer;
      if (kind < 0.2) {
        input = randomBytes(r, 300);
        if (input.length > 0 && r() < 0.5) input[0] = r() < 0.5 ? 22 : 0x47;
        if (input.length > 1 && r() < 0.5) input[1] = 3;
      } else {
        input = mutate(seeds[Math.floor(r() * seeds.length)], r, 1 + Math.floor(r() * 8));
      }
      const what = `input ${i}: ${input.toString('hex').slice(0, 80)}`;
      // Unguarded inner parsers first: a throw here is a bug the backstop would hide.
      checkResult(sniffTls(input, 0, input.length), what);
      checkResult(sniffHttp(input, 0, input.length), what);
      const res = sniffStream(input, Math.floor(r() * 3) - 1, r() < 0.9 ? input.length : Math.floor(r() * 400) - 50);
      checkResult(res, what);
      if (res.kind === 'sni' || res.kind === 'http') named++;
    }
    assert.ok(named > RUNS / 20, `mutations keep enough inputs valid to reach the name readers (${named})`);
  });

  it(`quicInitialSni: ${RUNS} random, mutated protected and re-protected mutated plaintext datagrams`, () => {
    const r = rng(0x5eed2);
    const hello = helloFor('quic.fuzz.example');
    const plain = Buffer.concat([cryptoFrame(60, hello.subarray(60)), Buffer.from([1, 0, 0]), cryptoFrame(0, hello.subarray(0, 60)), Buffer.alloc(300)]);
    const protectedSeeds = [protectInitial(plain), protectInitial(plain, { version: QUIC_V2, pnLength: 1 })];
    let found = 0;
    for (let i = 0; i < RUNS; i++) {
      const kind = r();
      let input: Buffer;
      if (kind < 0.25) {
        input = randomBytes(r, 1300);
        if (input.length > 6 && r() < 0.7) {
          input[0] |= 0xc0;
          input.writeUInt32BE(r() < 0.5 ? QUIC_V1 : QUIC_V2, 1);
          input[5] = Math.floor(r() * 22);
        }
      } else if (kind < 0.5) {
        input = mutate(protectedSeeds[Math.floor(r() * 2)], r, 1 + Math.floor(r() * 4));
      } else {
        // The interesting part: a payload that decrypts, with mutated frames and ClientHello.
        const version = r() < 0.5 ? QUIC_V1 : QUIC_V2;
        input = protectInitial(mutate(plain, r, 1 + Math.floor(r() * 6)), { version, pnLength: 1 + Math.floor(r() * 4) });
      }
      const what = `datagram ${i}: ${input.toString('hex').slice(0, 80)}`;
      const name = datagramSni(input, 0, input.length);
      if (name !== undefined) {
        assert.match(name, /^[\x21-\x7e]+$/, what);
        found++;
      }
      assert.equal(quicInitialSni(input, 0, input.length), name, what);
    }
    assert.ok(found > RUNS / 20, `re-protected mutations reach the ClientHello reader (${found})`);
  });

  it(`proxy requests, SOCKS and ECH readers: ${RUNS} random and mutated inputs each`, () => {
    const r = rng(0x50c55);
    const b = (...parts: (number[] | string)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
    const socksSeeds = [
      b([5, 2, 0, 2], [1, 5], 'alice', [6], 'secret', [5, 1, 0, 3, 10], 'c2.example', [0, 80]),
      b([5, 1, 0], [5, 1, 0, 4], Buffer.alloc(16, 1).toString('latin1'), [1, 187]),
      b([4, 1, 0, 80, 0, 0, 0, 1], 'user', [0], 'files.example.org', [0]),
    ];
    const replySeeds = [b([5, 2], [1, 0], [5, 0, 0, 1, 0, 0, 0, 0, 0, 0]), b([0, 0x5a, 0, 0, 0, 0, 0, 0])];
    const requestSeeds = [b('CONNECT [2001:db8::5]:443 HTTP/1.1\r\nHost: x\r\n\r\n'), b('GET http://user@api.example.com:8080/p?q HTTP/1.1\r\n\r\n')];
    const helloSeeds = [records(clientHello({ extensions: [serverNameExt([[0, 'ech.example']])] })), helloFor('plain.example')];
    let socksFound = 0;
    for (let i = 0; i < RUNS; i++) {
      const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
      const input = r() < 0.2 ? randomBytes(r, 300) : mutate(pick([...socksSeeds, ...replySeeds, ...requestSeeds, ...helloSeeds]), r, 1 + Math.floor(r() * 4));
      const what = `input ${i}: ${input.toString('hex').slice(0, 80)}`;
      const t = sniffSocks(input, 0, input.length);
      if (t !== undefined && t !== 'more') {
        socksFound++;
        assert.ok(t.end <= input.length && t.port >= 0 && t.port <= 65535, what);
        assert.match(t.host, /^[\x21-\x7e]{1,300}$/, what);
      }
      const rep = socksReply(input, 0, input.length);
      assert.ok(rep === undefined || rep === 'more' || Number.isInteger(rep.code), what);
      const target = requestTarget(input, 0, input.length);
      if (target) assert.match(target.host, /^[\x21-\x7e]{1,1100}$/, what);
      assert.equal(typeof recordsOfferEch(input, 0, input.length), 'boolean', what);
      assert.equal(typeof helloOffersEch(input, 5, input.length), 'boolean', what);
    }
    assert.ok(socksFound > RUNS / 50, `mutations reach a whole SOCKS request (${socksFound})`);
  });
});
