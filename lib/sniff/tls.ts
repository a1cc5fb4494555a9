// TLS ClientHello server_name (RFC 8446 §4.1.2, RFC 6066 §3) from the client's first bytes,
// with the handshake message reassembled from consecutive records (RFC 8446 §5.1: a handshake
// message may be split across records; tls-client-hello-frag-01.pcap is such a client).
import { readName } from './name.js';
import { MORE, NONE, type SniffResult } from './result.js';

export const CONTENT_HANDSHAKE = 22;
export const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;
const RECORD_HEADER = 5;
/** RFC 8446 §5.2: a record's fragment is at most 2^14 + 256 bytes (2^14 + 2048 in TLS 1.2). */
const MAX_RECORD = 16384 + 2048;
/** Records gathered for one ClientHello; the caller's 16 KiB holds at most ~3300 minimal records. */
const MAX_RECORDS = 64;

/** Quick test the dispatcher uses: does this look like the start of a TLS handshake record? */
export function looksLikeTls(buf: Buffer, off: number, end: number): boolean {
  return end > off && buf[off] === CONTENT_HANDSHAKE && (end - off < 2 || buf[off + 1] === 3);
}

/**
 * Server name of the ClientHello at the start of a TLS stream. 'more' while the handshake
 * message (or the record holding its server_name) is still incomplete; the name is returned
 * as soon as the server_name extension is complete, before the rest of a large ClientHello
 * (post-quantum key shares) has arrived.
 */
export function sniffTls(buf: Buffer, off: number, end: number): SniffResult {
  // Handshake bytes of consecutive handshake records: [start, stop) spans in buf.
  let spans: number[] | undefined;
  let firstStart = -1;
  let firstStop = -1;
  let total = 0;
  let pos = off;
  let records = 0;
  let partial = false;
  while (records < MAX_RECORDS) {
    if (end - pos < RECORD_HEADER) {
      partial = true;
      break;
    }
    const len = buf.readUInt16BE(pos + 3);
    if (buf[pos] !== CONTENT_HANDSHAKE || buf[pos + 1] !== 3 || len === 0 || len > MAX_RECORD) {
      if (records === 0) return NONE;
      break; // a later record of another type ends the handshake bytes we can use
    }
    const start = pos + RECORD_HEADER;
    const stop = Math.min(end, start + len);
    if (records === 0) {
      firstStart = start;
      firstStop = stop;
    } else {
      spans ??= [firstStart, firstStop];
      spans.push(start, stop);
    }
    total += stop - start;
    records++;
    pos = start + len;
    if (pos > end) {
      partial = true;
      break;
    }
    // Stop gathering once the ClientHello is whole (its length is in the first 4 bytes).
    if (total >= 4 && total >= handshakeLength(buf, spans, firstStart) + 4) break;
  }
  if (records === 0) return MORE; // only part of the first record header so far
  let hs = buf;
  let hsOff = firstStart;
  let hsEnd = firstStop;
  if (spans) {
    hs = Buffer.allocUnsafe(total); // only for a ClientHello split across records
    let w = 0;
    for (let i = 0; i < spans.length; i += 2) w += buf.copy(hs, w, spans[i], spans[i + 1]);
    hsOff = 0;
    hsEnd = total;
  }
  // After MAX_RECORDS the next call would gather the same records again: give up instead.
  return handshakeSni(hs, hsOff, hsEnd, partial);
}

/** Handshake message length from its 3-byte length field (the first 4 handshake bytes may span records). */
function handshakeLength(buf: Buffer, spans: number[] | undefined, firstStart: number): number {
  if (!spans) return buf.readUIntBE(firstStart + 1, 3);
  let n = 0;
  let seen = 0;
  for (let i = 0; i < spans.length && seen < 4; i += 2) {
    for (let p = spans[i]; p < spans[i + 1] && seen < 4; p++, seen++) if (seen > 0) n = n * 256 + buf[p];
  }
  return n;
}

/**
 * SNI of a handshake message starting at `off` (type, 3-byte length, body). `moreMayCome`:
 * bytes past `end` may still arrive, so a message cut short is 'more' rather than 'none'.
 * Shared with QUIC, whose CRYPTO frames carry the same handshake message without records.
 */
export function handshakeSni(buf: Buffer, off: number, end: number, moreMayCome: boolean): SniffResult {
  if (end - off < 4) return moreMayCome ? MORE : NONE;
  if (buf[off] !== HANDSHAKE_CLIENT_HELLO) return NONE;
  const msgEnd = off + 4 + buf.readUIntBE(off + 1, 3);
  const complete = end >= msgEnd;
  const name = clientHelloSni(buf, off + 4, Math.min(end, msgEnd), msgEnd);
  if (typeof name === 'string') return { kind: 'sni', name };
  if (name === TRUNCATED && !complete && moreMayCome) return MORE;
  return NONE;
}

const TRUNCATED = 1;
const ABSENT = 2;

/**
 * server_name host_name of a ClientHello body in [p, end) (`msgEnd`: where the whole body would
 * end); TRUNCATED when it runs past end.
 */
function clientHelloSni(buf: Buffer, p: number, end: number, msgEnd: number): string | typeof TRUNCATED | typeof ABSENT {
  p = extensionsAt(buf, p, end);
  if (p < 0) return TRUNCATED;
  if (p + 2 > end) return p === msgEnd ? ABSENT : TRUNCATED; // TLS 1.0 hellos may have no extensions
  const extEnd = p + 2 + buf.readUInt16BE(p);
  p += 2;
  while (p + 4 <= extEnd) {
    if (p + 4 > end) return TRUNCATED;
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    p += 4;
    if (type === EXT_SERVER_NAME) {
      if (p + len > end) return TRUNCATED;
      return serverName(buf, p, p + len);
    }
    p += len;
    if (p > end) return TRUNCATED;
  }
  return extEnd > end ? TRUNCATED : ABSENT;
}

/**
 * Where a ClientHello body starting at `p` has its extensions (their 2-byte length), past
 * legacy_version, random, legacy_session_id, cipher_suites and legacy_compression_methods; -1
 * when those run past `end`. The extensions block itself is not checked.
 */
function extensionsAt(buf: Buffer, p: number, end: number): number {
  p += 2 + 32; // legacy_version, random
  if (p + 1 > end) return -1;
  p += 1 + buf[p]; // legacy_session_id
  if (p + 2 > end) return -1;
  p += 2 + buf.readUInt16BE(p); // cipher_suites
  if (p + 1 > end) return -1;
  return p + 1 + buf[p]; // legacy_compression_methods
}

/** RFC 6066 §3 ServerNameList: the first host_name entry. */
function serverName(buf: Buffer, p: number, end: number): string | typeof ABSENT {
  if (p + 2 > end) return ABSENT;
  const listEnd = Math.min(end, p + 2 + buf.readUInt16BE(p));
  p += 2;
  while (p + 3 <= listEnd) {
    const type = buf[p];
    const len = buf.readUInt16BE(p + 1);
    p += 3;
    if (p + len > listEnd) return ABSENT;
    if (type === NAME_TYPE_HOST) return readName(buf, p, len) ?? ABSENT;
    p += len;
  }
  return ABSENT;
}

// The whole ClientHello, for what is read from it past its server name (the alert's JA3,
// lib/sniff/ja3.ts): gathered from the records as the SNI reader above gathers them.

/**
 * The ClientHello handshake message (type, 3-byte length, body) at the start of a TLS byte
 * stream, joined from as many handshake records as it spans; undefined when the stream does not
 * start with one or it is not whole within [off, end).
 */
export function clientHelloFromRecords(buf: Buffer, off: number, end: number): Buffer | undefined {
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let pos = off;
  for (let records = 0; records < MAX_RECORDS && pos + 5 <= end; records++) {
    if (buf[pos] !== CONTENT_HANDSHAKE || buf[pos + 1] !== 3) return undefined;
    const len = buf.readUInt16BE(pos + 3);
    const stop = Math.min(end, pos + 5 + len);
    parts.push(buf.subarray(pos + 5, stop));
    have += stop - pos - 5;
    pos += 5 + len;
    if (need < 0 && have >= 4) {
      const first = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      if (first[0] !== HANDSHAKE_CLIENT_HELLO) return undefined;
      need = 4 + first.readUIntBE(1, 3);
    }
    if (need >= 0 && have >= need) return Buffer.concat(parts, have).subarray(0, need);
  }
  return undefined;
}

/**
 * Whether the ClientHello at the start of a TLS byte stream is whole within [off, end), without
 * copying it: its handshake length against the handshake records' lengths seen.
 */
export function clientHelloComplete(buf: Buffer, off: number, end: number): boolean {
  if (end - off < 9 || buf[off] !== CONTENT_HANDSHAKE || buf[off + 1] !== 3) return false;
  if (buf.readUInt16BE(off + 3) < 4) return clientHelloFromRecords(buf, off, end) !== undefined; // a 1-3 byte first record
  const need = 4 + buf.readUIntBE(off + 6, 3);
  let have = 0;
  for (let pos = off, records = 0; records < MAX_RECORDS && pos + 5 <= end; records++) {
    if (buf[pos] !== CONTENT_HANDSHAKE) return false;
    const len = buf.readUInt16BE(pos + 3);
    have += Math.min(end, pos + 5 + len) - pos - 5;
    if (have >= need) return true;
    pos += 5 + len;
  }
  return false;
}

/** encrypted_client_hello (RFC 9849, draft-ietf-tls-esni-13 and later) and the older ESNI drafts' encrypted_server_name. */
const EXT_ECH = 0xfe0d;
const EXT_ESNI = 0xffce;

/**
 * Whether a ClientHello handshake message (type, 3-byte length, body) in [off, end) offers
 * Encrypted Client Hello. With ECH in use, its server_name is the provider's public name
 * (`cloudflare-ech.com`), not the site; Chrome also sends a GREASE ECH extension, alike on the
 * wire, when it has no ECH config (its server_name is then the site's). False for a message cut short.
 */
export function helloOffersEch(buf: Buffer, off: number, end: number): boolean {
  if (end - off < 4 || buf[off] !== HANDSHAKE_CLIENT_HELLO) return false;
  const msgEnd = off + 4 + buf.readUIntBE(off + 1, 3);
  if (msgEnd > end) return false;
  let p = extensionsAt(buf, off + 4, msgEnd);
  if (p < 0 || p + 2 > msgEnd) return false;
  const extEnd = Math.min(msgEnd, p + 2 + buf.readUInt16BE(p));
  for (p += 2; p + 4 <= extEnd; p += 4 + buf.readUInt16BE(p + 2)) {
    const type = buf.readUInt16BE(p);
    if (type === EXT_ECH || type === EXT_ESNI) return true;
  }
  return false;
}

/** helloOffersEch of the ClientHello at the start of a TLS byte stream (records), when it is whole there. */
export function recordsOfferEch(buf: Buffer, off: number, end: number): boolean {
  if (end - off < 9 || buf[off] !== CONTENT_HANDSHAKE || buf[off + 1] !== 3) return false;
  const len = buf.readUInt16BE(off + 3);
  // The usual case: the whole ClientHello in its first record, read in place.
  if (len >= 4 && 4 + buf.readUIntBE(off + 6, 3) <= len) return helloOffersEch(buf, off + 5, Math.min(end, off + 5 + len));
  const hello = clientHelloFromRecords(buf, off, end);
  return hello !== undefined && helloOffersEch(hello, 0, hello.length);
}
