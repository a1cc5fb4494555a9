// SOCKS4/4a/5 client streams, byte for byte as curl (--socks4, --socks4a, --socks5,
// --socks5-hostname) and ssh -D clients write them.
import assert from 'node:assert/strict';
import { sniffSocks, socksReply } from '../../lib/sniff/index.js';

const b = (...parts: (number[] | string)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const port = (n: number): number[] => [n >> 8, n & 0xff];
const at = (buf: Buffer) => sniffSocks(buf, 0, buf.length);

describe('sniff: SOCKS requests', () => {
  it('SOCKS5 with a name (curl --socks5-hostname): greeting, then CONNECT host:port', () => {
    const greeting = b([5, 2, 0, 1]);
    const fixed = b([5, 1, 0, 3, 19], 'API.Partner.Example', port(443));
    assert.equal(at(greeting), 'more');
    assert.deepEqual(at(Buffer.concat([greeting, fixed])), { version: 5, command: 1, host: 'api.partner.example', address: false, port: 443, end: greeting.length + fixed.length });
    // The name's length byte decides where it ends: 16 of its 19 bytes, then two as the port.
    const short = b([5, 1, 0, 3, 16], 'API.Partner.Example');
    assert.deepEqual(at(Buffer.concat([greeting, short])), { version: 5, command: 1, host: 'api.partner.exam', address: false, port: 0x706c, end: greeting.length + 5 + 18 });
    for (let n = 1; n < greeting.length + fixed.length; n++) assert.equal(at(Buffer.concat([greeting, fixed]).subarray(0, n)), 'more', `prefix ${n}`);
  });

  it('SOCKS5 with an address (curl --socks5): IPv4 and IPv6', () => {
    assert.deepEqual(at(b([5, 1, 0], [5, 1, 0, 1, 203, 0, 113, 5], port(8443))), { version: 5, command: 1, host: '203.0.113.5', address: true, port: 8443, end: 13 });
    const v6 = at(b([5, 1, 0], [5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5], port(22)));
    assert.deepEqual(v6, { version: 5, command: 1, host: '2001:db8::5', address: true, port: 22, end: 25 });
  });

  it('SOCKS5 with user/password authentication (RFC 1929) before the request', () => {
    const ok = b([5, 1, 2], [1, 5], 'alice', [6], 'secret', [5, 1, 0, 3, 10], 'c2.example', port(80));
    assert.deepEqual(at(ok), { version: 5, command: 1, host: 'c2.example', address: false, port: 80, end: ok.length });
  });

  it('SOCKS4 and SOCKS4a (a name after the user id when the address is 0.0.0.x)', () => {
    assert.deepEqual(at(b([4, 1], port(443), [203, 0, 113, 9], 'bob', [0])), { version: 4, command: 1, host: '203.0.113.9', address: true, port: 443, end: 12 });
    const a = b([4, 1], port(80), [0, 0, 0, 1], [0], 'files.example.org', [0]);
    assert.deepEqual(at(a), { version: 4, command: 1, host: 'files.example.org', address: false, port: 80, end: a.length });
    assert.equal(at(a.subarray(0, a.length - 1)), 'more');
  });

  it('is undefined for what is not a SOCKS client: TLS, HTTP, an unknown command or address type, a GSSAPI-only client', () => {
    assert.equal(at(b([0x16, 3, 1, 0, 5])), undefined);
    assert.equal(at(b('GET / HTTP/1.1\r\n')), undefined);
    assert.equal(at(b([5, 1, 0], [5, 9, 0, 1, 1, 2, 3, 4, 0, 80])), undefined);
    assert.equal(at(b([5, 1, 0], [5, 1, 0, 7, 1, 2, 3, 4, 0, 80])), undefined);
    assert.equal(at(b([5, 0])), undefined, 'no methods');
    assert.equal(at(b([4, 9, 0, 80, 1, 2, 3, 4, 0])), undefined);
    assert.equal(at(b([5, 1, 0x42])), undefined, 'not a method a client offers');
  });
});

describe('sniff: SOCKS replies (the proxy to the client)', () => {
  const reply = (buf: Buffer) => socksReply(buf, 0, buf.length);
  it('reads the reply after the method selection (and the authentication status)', () => {
    assert.equal(reply(b([5, 0])), 'more', 'the method selection alone');
    assert.deepEqual(reply(b([5, 0], [5, 0, 0, 1, 0, 0, 0, 0, 0, 0])), { version: 5, ok: true, code: 0 });
    assert.deepEqual(reply(b([5, 0], [5, 5, 0, 1, 0, 0, 0, 0, 0, 0])), { version: 5, ok: false, code: 5 });
    assert.deepEqual(reply(b([5, 2], [1, 0], [5, 2, 0, 1, 0, 0, 0, 0, 0, 0])), { version: 5, ok: false, code: 2 });
    assert.deepEqual(reply(b([5, 2], [1, 1])), { version: 5, ok: false, code: 0x101 }, 'authentication failed');
    assert.deepEqual(reply(b([5, 0xff])), { version: 5, ok: false, code: 0xff }, 'no acceptable method');
    assert.deepEqual(reply(b([0, 0x5a, 0, 80, 0, 0, 0, 0])), { version: 4, ok: true, code: 0x5a });
    assert.deepEqual(reply(b([0, 0x5b, 0, 80, 0, 0, 0, 0])), { version: 4, ok: false, code: 0x5b });
    assert.equal(reply(b('HTTP/1.1 200 OK\r\n')), undefined);
    assert.equal(reply(b([5, 0], [5, 42, 0, 1])), undefined, 'no such reply code');
  });
});
