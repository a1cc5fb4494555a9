import assert from 'node:assert/strict';
import { sniffStream, type SniffResult } from '../../lib/sniff/index.js';
import { clientHello, extension, helloFor, records, serverNameExt } from './build.js';

const sniff = (b: Buffer): SniffResult => sniffStream(b, 0, b.length);
const sni = (name: string): SniffResult => ({ kind: 'sni', name });

describe('sniff: TLS ClientHello', () => {
  it('reads server_name after GREASE and other extensions', () => {
    assert.deepEqual(sniff(records(helloFor('www.example.com'))), sni('www.example.com'));
  });

  it('reads server_name when it is the only extension and the first', () => {
    const hs = clientHello({ extensions: [serverNameExt([[0, 'a.example']])] });
    assert.deepEqual(sniff(records(hs)), sni('a.example'));
  });

  it('lower-cases the name and drops one trailing dot', () => {
    assert.deepEqual(sniff(records(helloFor('WWW.Example.COM.'))), sni('www.example.com'));
  });

  it('skips a non-host_name entry before the host_name', () => {
    const hs = clientHello({ extensions: [serverNameExt([[7, 'opaque'], [0, 'b.example']])] });
    assert.deepEqual(sniff(records(hs)), sni('b.example'));
  });

  it('escapes control and non-ASCII bytes as \\xNN but still returns the name', () => {
    const hs = clientHello({ extensions: [serverNameExt([[0, Buffer.from('ev\nil\xff.Example', 'latin1')]])] });
    assert.deepEqual(sniff(records(hs)), sni('ev\\x0ail\\xff.example'));
  });

  it("is 'none' for a complete hello without server_name, or without any extensions", () => {
    const noSni = clientHello({ extensions: [extension(0x002b, Buffer.from([2, 3, 4]))] });
    assert.deepEqual(sniff(records(noSni)), { kind: 'none' });
    assert.deepEqual(sniff(records(clientHello({}))), { kind: 'none' });
    assert.deepEqual(sniff(records(clientHello({ extensions: [serverNameExt([[0, '']])] }))), { kind: 'none' });
  });

  it('reassembles a hello split across 2 and 3 records', () => {
    const hs = helloFor('split.example.org');
    assert.deepEqual(sniff(records(hs, [40])), sni('split.example.org'));
    // Splits inside the handshake header, inside the SNI extension, and in the last byte.
    assert.deepEqual(sniff(records(hs, [2, 150])), sni('split.example.org'));
    assert.deepEqual(sniff(records(hs, [100, hs.length - 101])), sni('split.example.org'));
  });

  it("answers 'more' for every prefix before the server_name is complete, then the name", () => {
    for (const sizes of [[], [40], [3, 60]]) {
      const wire = records(helloFor('seg.example.net'), sizes);
      let first = -1;
      for (let n = 1; n <= wire.length; n++) {
        const r = sniff(wire.subarray(0, n));
        if (r.kind === 'sni') {
          if (first < 0) first = n;
          assert.equal(r.name, 'seg.example.net');
        } else {
          assert.equal(first, -1, `prefix ${n} of ${sizes}: ${r.kind} after the name was found`);
          assert.equal(r.kind, 'more', `prefix ${n} of ${sizes}`);
        }
      }
      assert.ok(first > 0 && first < wire.length, 'name found before the last byte (ALPN follows it)');
    }
  });

  it("is 'none' when a hello split across records is cut off by a non-handshake record", () => {
    const hs = helloFor('cut.example');
    const first = records(hs.subarray(0, 30));
    const alert = Buffer.from([21, 3, 3, 0, 2, 2, 40]);
    assert.deepEqual(sniff(Buffer.concat([first, alert])), { kind: 'none' });
  });

  it("is 'none' for other handshake messages, other record types and garbage", () => {
    const serverHello = Buffer.from(helloFor('x.example'));
    serverHello[0] = 2;
    assert.deepEqual(sniff(records(serverHello)), { kind: 'none' });
    assert.deepEqual(sniff(Buffer.from([23, 3, 3, 0, 5, 1, 2, 3, 4, 5])), { kind: 'none' }); // application data
    assert.deepEqual(sniff(Buffer.from([22, 2, 0, 0, 5, 1, 2, 3, 4, 5])), { kind: 'none' }); // not 0x03xx
    assert.deepEqual(sniff(Buffer.from([22, 3, 1, 0, 0])), { kind: 'none' }); // empty record
    assert.deepEqual(sniff(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), { kind: 'none' });
    assert.deepEqual(sniff(Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01])), { kind: 'none' }); // SSLv2-format hello
  });

  it('honours offset and length into a larger buffer', () => {
    const wire = records(helloFor('inner.example'));
    const big = Buffer.concat([Buffer.from('junk'), wire, Buffer.from([22, 3, 3])]);
    assert.deepEqual(sniffStream(big, 4, wire.length), sni('inner.example'));
    assert.deepEqual(sniffStream(big, 4, wire.length - 60), { kind: 'more' });
    assert.deepEqual(sniffStream(big, 4, 0), { kind: 'more' });
  });

  it('caps a name at 255 bytes', () => {
    const long = 'a'.repeat(300) + '.example';
    const r = sniff(records(clientHello({ extensions: [serverNameExt([[0, long]])] })));
    assert.equal(r.kind, 'sni');
    assert.equal((r as { name: string }).name, 'a'.repeat(255));
  });
});
