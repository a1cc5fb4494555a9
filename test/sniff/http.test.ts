import assert from 'node:assert/strict';
import { proxyRequest, requestHead, requestTarget, sniffStream, type SniffResult } from '../../lib/sniff/index.js';

const sniff = (s: string | Buffer): SniffResult => {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return sniffStream(b, 0, b.length);
};
const http = (name: string): SniffResult => ({ kind: 'http', name });

describe('sniff: HTTP/1.x Host', () => {
  it('reads Host from a GET', () => {
    assert.deepEqual(sniff('GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n'), http('www.example.com'));
  });

  it('drops the port, lower-cases, trims whitespace', () => {
    assert.deepEqual(sniff('POST /api HTTP/1.1\r\nHost:  API.Example.org:8443 \r\n\r\n'), http('api.example.org'));
    assert.deepEqual(sniff('GET / HTTP/1.0\r\nHost: 192.0.2.7:8080\r\n\r\n'), http('192.0.2.7'));
  });

  it('matches the header name in any case, after other headers', () => {
    assert.deepEqual(sniff('PUT /x HTTP/1.1\r\nUser-Agent: t\r\nhost: lower.example\r\n\r\n'), http('lower.example'));
    assert.deepEqual(sniff('HEAD / HTTP/1.1\r\nHOST: upper.example\r\n\r\n'), http('upper.example'));
  });

  it('does not take a header that merely starts with "host"', () => {
    assert.deepEqual(sniff('GET / HTTP/1.1\r\nHost-Alias: no.example\r\nHost: yes.example\r\n\r\n'), http('yes.example'));
  });

  it('accepts every listed method, and bare LF line ends', () => {
    for (const m of ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE']) {
      assert.deepEqual(sniff(`${m} / HTTP/1.1\nHost: m.example\n\n`), http('m.example'), m);
    }
    assert.deepEqual(sniff('CONNECT proxy.example:443 HTTP/1.1\r\nHost: proxy.example:443\r\n\r\n'), http('proxy.example'));
  });

  it('takes the first request of a pipelined stream, and the first Host', () => {
    const two = 'GET /a HTTP/1.1\r\nHost: first.example\r\nHost: dup.example\r\n\r\nGET /b HTTP/1.1\r\nHost: second.example\r\n\r\n';
    assert.deepEqual(sniff(two), http('first.example'));
  });

  it("is 'none' without a Host, for an IPv6 literal, an empty Host, HTTP/0.9 or HTTP/2", () => {
    assert.deepEqual(sniff('GET / HTTP/1.0\r\nAccept: */*\r\n\r\nHost: late.example\r\n'), { kind: 'none' });
    assert.deepEqual(sniff('GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n'), { kind: 'none' });
    assert.deepEqual(sniff('GET / HTTP/1.1\r\nHost:\r\n\r\n'), { kind: 'none' });
    assert.deepEqual(sniff('GET /\r\n'), { kind: 'none' });
    assert.deepEqual(sniff('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), { kind: 'none' });
  });

  it("is 'more' while the request line or header block is incomplete", () => {
    const req = 'GET /path HTTP/1.1\r\nAccept: */*\r\nHost: slow.example\r\n\r\n';
    const hostLineEnd = req.indexOf('example\r\n') + 'example\r\n'.length - 1; // index of its LF
    for (let n = 1; n <= req.length; n++) {
      const r = sniff(req.slice(0, n));
      if (n > hostLineEnd) assert.deepEqual(r, http('slow.example'), `prefix ${n}`);
      else assert.deepEqual(r, { kind: 'more' }, `prefix ${n}`);
    }
    assert.deepEqual(sniff('GET / HTTP/1.1\r\nAccept: */*\r\n'), { kind: 'more' });
  });

  it("is 'none' for text that is not an HTTP request", () => {
    for (const s of ['get / HTTP/1.1\r\n', 'GETX / HTTP/1.1\r\n', 'EHLO mail.example\r\n', 'HTTP/1.1 200 OK\r\n\r\n', '\x00\x01\x02']) {
      assert.deepEqual(sniff(s), { kind: 'none' }, JSON.stringify(s));
    }
  });

  it('escapes control bytes in the Host value', () => {
    assert.deepEqual(sniff('GET / HTTP/1.1\r\nHost: a\x01b.example\r\n\r\n'), http('a\\x01b.example'));
  });
});

describe('sniff: a proxy\'s CONNECT request', () => {
  const b = (t: string): Buffer => Buffer.from(t, 'latin1');
  it('names the tunnel\'s host (Host without the port) and gives its port', () => {
    const req = b('CONNECT api.partner.example:443 HTTP/1.1\r\nHost: api.partner.example:443\r\nUser-Agent: curl/7.88.1\r\n\r\n');
    assert.deepEqual(sniffStream(req, 0, req.length), { kind: 'http', name: 'api.partner.example' });
    assert.deepEqual(proxyRequest(req, 0, req.length), { target: 'api.partner.example', port: 443 });
    const ssh = b('CONNECT bastion.example.net:22 HTTP/1.0\r\n\r\n');
    assert.deepEqual(proxyRequest(ssh, 0, ssh.length), { target: 'bastion.example.net', port: 22 });
  });
  it('no port for other requests, a target without a port, or a bad one', () => {
    for (const t of ['GET http://plain.example/ HTTP/1.1\r\nHost: plain.example\r\n\r\n', 'CONNECT api.example.com HTTP/1.1\r\n', 'CONNECT api.example.com:99999 HTTP/1.1\r\n', 'CONN']) {
      assert.equal(proxyRequest(b(t), 0, t.length)?.port, undefined, t);
    }
  });
  it('a request whose target is a path goes where its Host header says; the request line wins over it', () => {
    const path = b('GET /x HTTP/1.1\r\nHost: Origin.Example:8080\r\n\r\n');
    assert.deepEqual(proxyRequest(path, 0, path.length), { target: 'origin.example' });
    const lying = b('GET http://evil.example/ HTTP/1.1\r\nHost: benign.example\r\n\r\n');
    assert.deepEqual(proxyRequest(lying, 0, lying.length), { target: 'evil.example' });
    for (const t of ['GET /x HTTP/1.0\r\n\r\n', '\x16\x03\x01\x00\x05hello', 'CONN']) assert.equal(proxyRequest(b(t), 0, t.length), undefined, JSON.stringify(t));
  });
});

describe('sniff: an HTTP request\'s method and User-Agent', () => {
  const b = (t: string): Buffer => Buffer.from(t, 'latin1');
  it('reads them from requests as clients send them', () => {
    const cases: [string, { method: string; userAgent?: string } | undefined][] = [
      ['GET /x HTTP/1.1\r\nHost: a.example\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n', { method: 'GET', userAgent: 'curl/7.88.1' }],
      ['POST /api HTTP/1.1\r\nHost: a.example\r\nuser-agent:   python-requests/2.31.0  \r\n\r\n', { method: 'POST', userAgent: 'python-requests/2.31.0' }],
      ['CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\nUser-Agent: Go-http-client/1.1\r\n\r\n', { method: 'CONNECT', userAgent: 'Go-http-client/1.1' }],
      ['GET / HTTP/1.1\r\nHost: a.example\r\n\r\nUser-Agent: in-the-body\r\n', { method: 'GET' }],
      ['GET / HTTP/1.1\nHost: a.example\nUser-Agent: bare-lf/1\n\n', { method: 'GET', userAgent: 'bare-lf/1' }],
      ['GET / HTTP/1.1\r\nUser-Agent: evil\x1b[31m\r\n\r\n', { method: 'GET', userAgent: 'evil\\x1b[31m' }],
      ['GET / HTTP/1.1\r\nUser-Agent: cut-sh', { method: 'GET', userAgent: 'cut-sh' }],
      ['\x16\x03\x01 not http', undefined],
    ];
    for (const [text, want] of cases) assert.deepEqual(requestHead(b(text), 0, text.length), want, JSON.stringify(text));
  });
  it('keeps at most 512 characters of a User-Agent', () => {
    const t = `GET / HTTP/1.1\r\nUser-Agent: ${'x'.repeat(2000)}\r\n\r\n`;
    assert.equal(requestHead(b(t), 0, t.length)?.userAgent?.length, 512);
  });
});

describe('sniff: where a request sent to a proxy goes (its request line)', () => {
  const target = (s: string) => requestTarget(Buffer.from(s, 'latin1'), 0, s.length);

  it('reads the authority of a CONNECT, brackets of an IPv6 literal removed', () => {
    assert.deepEqual(target('CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n'), { host: 'api.example.com', port: 443, connect: true });
    assert.deepEqual(target('CONNECT [2001:DB8::5]:8443 HTTP/1.1\r\n\r\n'), { host: '2001:db8::5', port: 8443, connect: true });
    assert.deepEqual(target('CONNECT 203.0.113.5:22 HTTP/1.0\n\n'), { host: '203.0.113.5', port: 22, connect: true });
  });

  it('reads the host of an absolute-form target, whatever the Host header says, with or without one', () => {
    assert.deepEqual(target('GET http://Evil.Example:8080/x?y=1 HTTP/1.1\r\nHost: benign.example\r\n\r\n'), { host: 'evil.example', port: 8080, connect: false });
    assert.deepEqual(target('GET HTTP://files.example/a/b HTTP/1.0\r\n\r\n'), { host: 'files.example', connect: false });
    assert.deepEqual(target('POST https://user:pw@api.example.org/ HTTP/1.1\r\n\r\n'), { host: 'api.example.org', connect: false });
    assert.deepEqual(target('GET http://[2001:db8::7]/ HTTP/1.1\r\n\r\n'), { host: '2001:db8::7', connect: false });
    assert.deepEqual(target('OPTIONS http://opt.example HTTP/1.1\r\n\r\n'), { host: 'opt.example', connect: false }, 'OPTIONS is as long as CONNECT');
  });

  it('is undefined for a path (origin form), OPTIONS *, an incomplete request line or something else', () => {
    assert.equal(target('GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n'), undefined);
    assert.equal(target('OPTIONS * HTTP/1.1\r\n\r\n'), undefined);
    assert.equal(target('GET http://slow.example/ HTT'), undefined);
    assert.equal(target('GET http://x.example/\r\n'), undefined, 'HTTP/0.9');
    assert.equal(target('\x16\x03\x01\x02\x00'), undefined);
    assert.equal(target('CONNECT [2001:db8::1 HTTP/1.1\r\n\r\n'), undefined);
  });

  it('escapes bytes outside printable ASCII in the host', () => {
    assert.deepEqual(target('GET http://bad\x07host.example/ HTTP/1.1\r\n\r\n'), { host: 'bad\\x07host.example', connect: false });
  });
});
