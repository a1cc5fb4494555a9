// HTTP/1.x request line and Host header (RFC 9112 §3, RFC 9110 §7.2) from the client's first
// bytes. Only the first request of a pipelined stream is read: its Host names the connection.
import { readName } from './name.js';
import { MORE, NONE, type SniffResult } from './result.js';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** RFC 9110 §9 methods plus PATCH (RFC 5789), each with the space that ends it. */
const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'DELETE ', 'OPTIONS ', 'PATCH ', 'CONNECT ', 'TRACE '].map((m) => Buffer.from(m, 'latin1'));

/** -1: not a known method; 0: a prefix of one so far; n: length of the method and its space. */
function matchMethod(buf: Buffer, off: number, end: number): number {
  const have = end - off;
  let prefix = false;
  for (const m of METHODS) {
    const n = Math.min(have, m.length);
    if (buf.compare(m, 0, n, off, off + n) !== 0) continue;
    if (n === m.length) return n;
    prefix = true;
  }
  return prefix ? 0 : -1;
}

/** Quick test the dispatcher uses: could these bytes start an HTTP request? */
export function looksLikeHttp(buf: Buffer, off: number, end: number): boolean {
  return matchMethod(buf, off, end) >= 0;
}

/** Index of the next `byte` in [p, end), or -1 (bounded by end, unlike Buffer#indexOf). */
function find(buf: Buffer, byte: number, p: number, end: number): number {
  for (; p < end; p++) if (buf[p] === byte) return p;
  return -1;
}

/** Host of the first HTTP/1.x request in [off, end): 'more' while its header block is incomplete. */
export function sniffHttp(buf: Buffer, off: number, end: number): SniffResult {
  const m = matchMethod(buf, off, end);
  if (m < 0) return NONE;
  if (m === 0) return MORE;
  let eol = find(buf, LF, off + m, end);
  if (eol < 0) return MORE;
  if (!isHttp1Version(buf, off + m, eol)) return NONE; // HTTP/0.9 or not HTTP at all
  let p = eol + 1;
  // Header lines until the empty line; the first Host wins (RFC 9112 §3.2 forbids more than one).
  for (;;) {
    eol = find(buf, LF, p, end);
    if (eol < 0) return MORE;
    const stop = eol > p && buf[eol - 1] === CR ? eol - 1 : eol;
    if (stop === p) return NONE; // end of headers, no Host
    if (isHostField(buf, p, stop)) return hostValue(buf, p + 5, stop);
    p = eol + 1;
  }
}

/** The request line ends in " HTTP/1.<digit>" (CR optional). */
function isHttp1Version(buf: Buffer, start: number, eol: number): boolean {
  let stop = eol > start && buf[eol - 1] === CR ? eol - 1 : eol;
  if (stop - start < 10) return false;
  stop -= 9;
  return buf[stop] === SP && buf.toString('latin1', stop + 1, stop + 8) === 'HTTP/1.' && buf[stop + 8] >= 0x30 && buf[stop + 8] <= 0x39;
}

/** "Host:" with the name in any case (RFC 9110 §5.1: field names are case-insensitive). */
function isHostField(buf: Buffer, p: number, stop: number): boolean {
  return stop - p >= 5 && (buf[p] | 0x20) === 0x68 && (buf[p + 1] | 0x20) === 0x6f && (buf[p + 2] | 0x20) === 0x73 &&
    (buf[p + 3] | 0x20) === 0x74 && buf[p + 4] === COLON;
}

/** Host value without surrounding whitespace or port; an IPv6 literal gives no name. */
function hostValue(buf: Buffer, p: number, stop: number): SniffResult {
  while (p < stop && (buf[p] === SP || buf[p] === HTAB)) p++;
  while (stop > p && (buf[stop - 1] === SP || buf[stop - 1] === HTAB)) stop--;
  if (p < stop && buf[p] === 0x5b) return NONE; // "[2001:db8::1]:8080"
  // RFC 3986 reg-name and IPv4address hold no colon: the first one starts the port.
  const colon = find(buf, COLON, p, stop);
  if (colon >= 0) stop = colon;
  const name = readName(buf, p, stop - p);
  return name === undefined ? NONE : { kind: 'http', name };
}

const CONNECT = Buffer.from('CONNECT ', 'latin1');

/**
 * Where the HTTP request at `off`, sent to a proxy, asks it to go: the host of its request line's
 * target (requestTarget), else (a target that is a path: a client that does not know it talks to
 * a proxy) its Host header. `port`: a CONNECT's port ("CONNECT api.example.com:443 HTTP/1.1", RFC
 * 9110 §9.3.6), where the tunnel goes; absent for other requests or a CONNECT without one.
 * undefined when neither names a host.
 */
export function proxyRequest(buf: Buffer, off: number, end: number): { target: string; port?: number } | undefined {
  const t = requestTarget(buf, off, end);
  if (t !== undefined) return t.connect && t.port !== undefined ? { target: t.host, port: t.port } : { target: t.host };
  if (!looksLikeHttp(buf, off, end)) return undefined;
  const r = sniffHttp(buf, off, end);
  return r.kind === 'http' ? { target: r.name } : undefined;
}

/**
 * The status code of an HTTP/1.x response starting at `off` ("HTTP/1.1 403 Forbidden"): a
 * proxy's answer to a CONNECT or a proxied request. undefined when the bytes are not one.
 */
export function responseStatus(buf: Buffer, off: number, end: number): number | undefined {
  if (end - off < 12 || buf.toString('latin1', off, off + 7) !== 'HTTP/1.' || buf[off + 8] !== SP) return undefined;
  const code = buf.toString('latin1', off + 9, off + 12);
  return /^[1-5]\d\d$/.test(code) ? Number(code) : undefined;
}

/** Longest User-Agent kept (RFC 9110 sets none; a real one is under 300 characters). */
const MAX_USER_AGENT = 512;

/**
 * Method and User-Agent of the HTTP/1.x request at `off`, from its header block as far as it
 * is in [off, end); undefined when the bytes are not a request. Bytes outside printable ASCII
 * in the User-Agent are escaped as \xNN.
 */
export function requestHead(buf: Buffer, off: number, end: number): { method: string; userAgent?: string } | undefined {
  const m = matchMethod(buf, off, end);
  if (m <= 0) return undefined;
  const method = buf.toString('latin1', off, off + m - 1);
  let eol = find(buf, LF, off + m, end);
  if (eol < 0) return { method };
  for (let p = eol + 1; p < end; p = eol + 1) {
    eol = find(buf, LF, p, end);
    const stop = eol < 0 ? end : eol > p && buf[eol - 1] === CR ? eol - 1 : eol;
    if (stop === p) break; // end of the header block
    if (stop - p > 11 && buf.toString('latin1', p, p + 11).toLowerCase() === 'user-agent:') {
      let v = p + 11;
      while (v < stop && (buf[v] === SP || buf[v] === HTAB)) v++;
      let e = stop;
      while (e > v && (buf[e - 1] === SP || buf[e - 1] === HTAB)) e--;
      const text = buf.toString('latin1', v, Math.min(e, v + MAX_USER_AGENT)).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
      return text === '' ? { method } : { method, userAgent: text };
    }
    if (eol < 0) break;
  }
  return { method };
}

/** Where the bytes after an HTTP request's header block start (past its empty line), or -1 when it is not whole in [off, end). */
export function headerEnd(buf: Buffer, off: number, end: number): number {
  for (let p = off; p + 1 < end; p++) {
    if (buf[p] !== LF) continue;
    if (buf[p + 1] === LF) return p + 2;
    if (buf[p + 1] === CR && p + 2 < end && buf[p + 2] === LF) return p + 3;
  }
  return -1;
}

/**
 * Where a request sent to a proxy goes: the host (and port) of its request line's target, in
 * authority form (`CONNECT api.example.com:443`, RFC 9110 §9.3.6) or absolute form
 * (`GET http://api.example.com/x`, RFC 9112 §3.2.2). A proxy goes where the target says, whatever
 * the Host header says (and HTTP/1.0 requests often have none). An IPv6 literal comes without its
 * brackets; the host is lower-cased, with bytes outside printable ASCII escaped as \xNN.
 * undefined when the bytes are not a whole HTTP/1.x request line, or its target is a path
 * (origin form: a client that does not know it talks to a proxy names it in Host). `connect`: a
 * CONNECT (its port is where the tunnel goes).
 */
export function requestTarget(buf: Buffer, off: number, end: number): { host: string; port?: number; connect: boolean } | undefined {
  const m = matchMethod(buf, off, end);
  if (m <= 0) return undefined;
  const eol = find(buf, LF, off + m, end);
  if (eol < 0 || !isHttp1Version(buf, off + m, eol)) return undefined;
  const stop = (eol > off && buf[eol - 1] === CR ? eol - 1 : eol) - 9; // the space before HTTP/1.x
  let target = buf.toString('latin1', off + m, stop);
  const connect = m === CONNECT.length && buf.compare(CONNECT, 0, CONNECT.length, off, off + m) === 0;
  if (!connect) {
    const scheme = /^https?:\/\//i.exec(target);
    if (!scheme) return undefined;
    target = target.slice(scheme[0].length).split(/[/?#]/)[0];
  }
  target = target.slice(target.lastIndexOf('@') + 1); // userinfo (RFC 9110 §4.2.4: deprecated, still sent)
  let host: string;
  let rest: string;
  if (target.startsWith('[')) {
    const close = target.indexOf(']');
    if (close < 0) return undefined;
    host = target.slice(1, close);
    rest = target.slice(close + 1);
  } else {
    const colon = target.indexOf(':');
    host = colon < 0 ? target : target.slice(0, colon);
    rest = colon < 0 ? '' : target.slice(colon);
  }
  const name = readName(Buffer.from(host, 'latin1'), 0, host.length);
  if (name === undefined) return undefined;
  const port = /^:(\d{1,5})$/.exec(rest);
  const n = port ? Number(port[1]) : NaN;
  return n >= 1 && n <= 65535 ? { host: name, port: n, connect } : { host: name, connect };
}
