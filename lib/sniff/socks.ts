// Where a SOCKS proxy is asked to connect (RFC 1928 SOCKS5, with RFC 1929 user/password
// authentication; SOCKS4 and its 4a extension for names), from the client's byte stream to the
// proxy. The proxy's answers go the other way and are not needed: the client's greeting, its
// authentication (if any) and its request follow one another in its own stream.
import { addressToString } from '../decode/index.js';
import { readName } from './name.js';

export interface SocksTarget {
  version: 4 | 5;
  /** 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE (SOCKS5). */
  command: number;
  /** A name (SOCKS5 domain, SOCKS4a) as readName gives it, or an address as decode writes a packet's (IPv6 as RFC 5952, no brackets). */
  host: string;
  /** Whether `host` is an address the client resolved itself (SOCKS5 ATYP 1/4, SOCKS4). */
  address: boolean;
  port: number;
  /** Offset just past the request: where the tunnelled bytes begin. */
  end: number;
}

/** Longest SOCKS4 user id read (the protocol sets none; clients send a few bytes). */
const MAX_USERID = 255;

/**
 * The request in the SOCKS client stream at buf[off, end): 'more' while it may still come,
 * undefined when the bytes are not a SOCKS4/5 client's (or use an authentication method whose
 * messages cannot be followed, such as GSSAPI).
 */
export function sniffSocks(buf: Buffer, off: number, end: number): SocksTarget | 'more' | undefined {
  if (end <= off) return 'more';
  if (buf[off] === 5) return socks5(buf, off, end);
  if (buf[off] === 4) return socks4(buf, off, end);
  return undefined;
}

function socks5(buf: Buffer, off: number, end: number): SocksTarget | 'more' | undefined {
  // Greeting: VER 5, NMETHODS, METHODS.
  if (end - off < 2) return 'more';
  const methods = buf[off + 1];
  if (methods === 0) return undefined;
  let p = off + 2 + methods;
  if (p > end) return 'more';
  for (let i = off + 2; i < off + 2 + methods; i++) if (buf[i] > 0x02 && buf[i] < 0x80) return undefined; // not a method a client offers
  if (p === end) return 'more';
  if (buf[p] === 1) {
    // RFC 1929 sub-negotiation: VER 1, ULEN, UNAME, PLEN, PASSWD.
    if (p + 2 > end) return 'more';
    p += 2 + buf[p + 1];
    if (p + 1 > end) return 'more';
    p += 1 + buf[p];
    if (p > end) return 'more';
    if (p === end) return 'more';
  }
  // Request: VER 5, CMD, RSV 0, ATYP, DST.ADDR, DST.PORT.
  if (end - p < 4) return end - p >= 1 && buf[p] !== 5 ? undefined : 'more';
  if (buf[p] !== 5 || buf[p + 2] !== 0) return undefined;
  const command = buf[p + 1];
  if (command < 1 || command > 3) return undefined;
  const atyp = buf[p + 3];
  p += 4;
  let host: string | undefined;
  let address = true;
  if (atyp === 1) {
    if (p + 6 > end) return 'more';
    host = addressToString(buf, p, 4);
    p += 4;
  } else if (atyp === 4) {
    if (p + 18 > end) return 'more';
    host = addressToString(buf, p, 6);
    p += 16;
  } else if (atyp === 3) {
    if (p + 1 > end) return 'more';
    const len = buf[p];
    if (len === 0) return undefined;
    if (p + 1 + len + 2 > end) return 'more';
    host = readName(buf, p + 1, len);
    address = false;
    p += 1 + len;
  } else {
    return undefined;
  }
  if (host === undefined) return undefined;
  const port = (buf[p] << 8) | buf[p + 1];
  return { version: 5, command, host, address, port, end: p + 2 };
}

function socks4(buf: Buffer, off: number, end: number): SocksTarget | 'more' | undefined {
  // VER 4, CD (1 CONNECT, 2 BIND), DSTPORT, DSTIP, USERID NUL, [SOCKS4a: DOMAIN NUL].
  if (end - off < 2) return 'more';
  const command = buf[off + 1];
  if (command !== 1 && command !== 2) return undefined;
  if (end - off < 9) return 'more';
  const port = (buf[off + 2] << 8) | buf[off + 3];
  let p = off + 8;
  const userEnd = nul(buf, p, Math.min(end, p + MAX_USERID + 1));
  if (userEnd < 0) return end - p > MAX_USERID ? undefined : 'more';
  p = userEnd + 1;
  // 0.0.0.x with x != 0: the name follows (SOCKS4a).
  if (buf[off + 4] === 0 && buf[off + 5] === 0 && buf[off + 6] === 0 && buf[off + 7] !== 0) {
    const nameEnd = nul(buf, p, Math.min(end, p + 256));
    if (nameEnd < 0) return end - p > 255 ? undefined : 'more';
    const host = readName(buf, p, nameEnd - p);
    if (host === undefined) return undefined;
    return { version: 4, command, host, address: false, port, end: nameEnd + 1 };
  }
  return { version: 4, command, host: addressToString(buf, off + 4, 4), address: true, port, end: p };
}

function nul(buf: Buffer, p: number, end: number): number {
  for (; p < end; p++) if (buf[p] === 0) return p;
  return -1;
}

/** What a SOCKS proxy answered a request: `code` its reply (SOCKS5 REP, SOCKS4 CD), `ok` when it granted it. */
export interface SocksReply {
  version: 4 | 5;
  ok: boolean;
  code: number;
}

/**
 * The proxy's answer to a SOCKS request, from the start of its byte stream to the client:
 * SOCKS5 method selection (0xff: no method acceptable), the RFC 1929 status when the method was
 * user/password (non-zero: authentication failed), then the reply to the request; SOCKS4 one
 * reply. 'more' while it may still come; undefined when the bytes are not a SOCKS proxy's.
 */
export function socksReply(buf: Buffer, off: number, end: number): SocksReply | 'more' | undefined {
  if (end - off < 2) return end > off && (buf[off] === 5 || buf[off] === 0) ? 'more' : undefined;
  if (buf[off] === 0) {
    const cd = buf[off + 1];
    if (cd < 0x5a || cd > 0x5d) return undefined;
    return { version: 4, ok: cd === 0x5a, code: cd };
  }
  if (buf[off] !== 5) return undefined;
  const method = buf[off + 1];
  if (method === 0xff) return { version: 5, ok: false, code: 0xff };
  let p = off + 2;
  if (method === 0x02) {
    if (end - p < 2) return 'more';
    if (buf[p] !== 1) return undefined;
    if (buf[p + 1] !== 0) return { version: 5, ok: false, code: 0x100 | buf[p + 1] };
    p += 2;
  }
  if (end - p < 2) return 'more';
  if (buf[p] !== 5) return undefined;
  const rep = buf[p + 1];
  if (rep > 8) return undefined;
  return { version: 5, ok: rep === 0, code: rep };
}

/**
 * A SOCKS client's first message, whole in [off, end): a SOCKS5 greeting (VER 5, the number of
 * methods, the methods a client offers) or a SOCKS4 request. What a proxy's client sends first,
 * before its request (SOCKS5) names anything.
 */
export function looksLikeSocksHello(buf: Buffer, off: number, end: number): boolean {
  if (end - off >= 3 && buf[off] === 5) {
    const n = buf[off + 1];
    if (n === 0 || end - off !== 2 + n) return false;
    for (let i = off + 2; i < end; i++) if (buf[i] > 0x02 && buf[i] < 0x80) return false;
    return true;
  }
  const s = buf[off] === 4 ? sniffSocks(buf, off, end) : undefined;
  return s !== undefined && s !== 'more' && s.end === end;
}
