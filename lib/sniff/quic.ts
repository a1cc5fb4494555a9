// Server name from a QUIC client's Initial datagrams (RFC 9000 §17.2.2): unprotect each
// coalesced Initial packet, gather its CRYPTO frames and read the ClientHello they carry. A
// ClientHello with a post-quantum key share (Chrome, Firefox and OpenSSL 3.5 send X25519MLKEM768,
// 1,216 bytes) does not fit one 1,200-byte datagram: its rest, server_name possibly among it
// (Chrome shuffles its extensions), comes in the client's next Initial datagram, so the caller
// gathers the fragments of several (quicInitialCrypto, then quicHelloSni).
import { clientInitialKeys, headerMask, openPayload, versionParams } from './quic-keys.js';
import { handshakeSni } from './tls.js';
import { MORE, NONE, type SniffResult } from './result.js';
import { contiguousPrefix, type StreamFragment } from './assemble.js';

/** Coalesced packets looked at per datagram (RFC 9000 §12.2); a 1200-byte datagram holds few. */
const MAX_PACKETS = 4;
/** Frames walked per packet; Chrome splits its ClientHello into a dozen or so CRYPTO frames. */
const MAX_FRAMES = 256;
/** CRYPTO fragments kept (over the datagrams gathered), and the highest handshake byte. */
const MAX_FRAGMENTS = 64;
const MAX_CRYPTO = 16384;
/**
 * RFC 9000 §14.1: a client pads every datagram carrying an Initial to 1200 bytes and servers
 * drop smaller ones. Checked first, it keeps the key derivation and AES-GCM (~150 µs a
 * datagram, measured on the RFC 9001 vector) off ordinary small UDP payloads.
 */
const MIN_INITIAL_DATAGRAM = 1200;
/** RFC 9000 §17.2: connection IDs are at most 20 bytes in versions 1 and 2. */
const MAX_CID = 20;

const FRAME_PADDING = 0x00;
const FRAME_PING = 0x01;
const FRAME_ACK = 0x02;
const FRAME_ACK_ECN = 0x03;
const FRAME_CRYPTO = 0x06;

/** A CRYPTO frame's data: its offset in the handshake stream, and its bytes in a decrypted payload. */
type Fragment = StreamFragment;

/**
 * Server name of the ClientHello in one QUIC v1 / v2 client Initial datagram, or undefined
 * (also when the rest of the ClientHello is in a later datagram). Never throws.
 */
export function quicInitialSni(buf: Buffer, offset: number, length: number): string | undefined {
  const frags: Fragment[] = [];
  if (!quicInitialCrypto(buf, offset, length, frags)) return undefined;
  const r = quicHelloSni(frags, false);
  return r.kind === 'sni' ? r.name : undefined;
}

/**
 * Appends the CRYPTO data of the client Initial packets in the datagram to `frags` (decrypted
 * copies: they outlive the capture buffer). False when the datagram holds no client Initial we
 * can open, or `frags` is full. Never throws.
 */
export function quicInitialCrypto(buf: Buffer, offset: number, length: number, frags: Fragment[]): boolean {
  const off = Math.max(0, Math.floor(offset) || 0);
  const end = Math.min(buf.length, off + Math.max(0, Math.floor(length) || 0));
  const before = frags.length;
  try {
    datagramCrypto(buf, off, end, frags);
  } catch {
    // Every read is bounds-checked and crypto failures are caught where they happen; this is
    // the backstop that keeps a parser bug from reaching the capture callback.
  }
  return frags.length > before;
}

/**
 * The server name of the ClientHello that `frags` hold: 'sni', 'more' while its part with
 * server_name is still missing and `moreMayCome`, else 'none'.
 */
export function quicHelloSni(frags: readonly Fragment[], moreMayCome: boolean): SniffResult {
  const hello = contiguousPrefix(frags, MAX_CRYPTO);
  if (hello.length === 0) return moreMayCome ? MORE : NONE;
  return handshakeSni(hello, 0, hello.length, moreMayCome);
}

/** quicInitialSni without the backstop, on a clamped [off, end): the fuzz test calls it so a bug shows. */
export function datagramSni(buf: Buffer, off: number, end: number): string | undefined {
  const frags: Fragment[] = [];
  datagramCrypto(buf, off, end, frags);
  if (frags.length === 0) return undefined;
  const r = quicHelloSni(frags, false);
  return r.kind === 'sni' ? r.name : undefined;
}

function datagramCrypto(buf: Buffer, off: number, end: number, frags: Fragment[]): void {
  if (end - off < MIN_INITIAL_DATAGRAM) return;
  let pos = off;
  for (let n = 0; n < MAX_PACKETS && pos < end; n++) {
    const next = readPacket(buf, pos, end, frags);
    if (next <= pos) break;
    pos = next;
  }
}

/** Variable-length integer (RFC 9000 §16) at p: value, or -1 if it runs past end. */
function varint(buf: Buffer, p: number, end: number): number {
  if (p >= end) return -1;
  const len = varintLength(buf[p]);
  if (p + len > end) return -1;
  let v = buf[p] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + buf[p + i];
  return v;
}

function varintLength(first: number): number {
  return 1 << (first >> 6);
}

/**
 * One long-header packet at pos: if it is a client Initial we can open, its CRYPTO frames go
 * into frags. Returns the offset of the next coalesced packet, or -1 to stop.
 */
function readPacket(buf: Buffer, pos: number, end: number, frags: Fragment[]): number {
  if (end - pos < 7 || (buf[pos] & 0x80) === 0) return -1; // short header: no more long ones
  const version = buf.readUInt32BE(pos + 1);
  const v = versionParams(version);
  if (!v) return -1; // version negotiation or a version whose layout we do not know
  const dcidLen = buf[pos + 5];
  if (dcidLen > MAX_CID) return -1;
  let p = pos + 6 + dcidLen;
  if (p >= end) return -1;
  const scidLen = buf[p];
  if (scidLen > MAX_CID) return -1;
  p += 1 + scidLen;
  const type = (buf[pos] >> 4) & 3;
  const initial = type === v.initialType;
  if (initial) {
    const tokenLen = varint(buf, p, end);
    if (tokenLen < 0) return -1;
    p += varintLength(buf[p]) + tokenLen;
  } else if (type === (v.initialType + 3) % 4) {
    return -1; // Retry (0b11 in v1, 0b00 in v2) has no Length field
  }
  const len = varint(buf, p, end);
  if (len < 0) return -1;
  const pnOffset = p + varintLength(buf[p]);
  const packetEnd = pnOffset + len;
  if (packetEnd > end) return -1;
  if (initial) openInitial(buf, pos, pnOffset, packetEnd, version, frags);
  return packetEnd;
}

function openInitial(buf: Buffer, pos: number, pnOffset: number, packetEnd: number, version: number, frags: Fragment[]): void {
  // RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number's start.
  if (pnOffset + 4 + 16 > packetEnd) return;
  const keys = clientInitialKeys(version, buf.subarray(pos + 6, pos + 6 + buf[pos + 5]));
  if (!keys) return;
  const mask = headerMask(keys.hp, buf, pnOffset + 4);
  const first = buf[pos] ^ (mask[0] & 0x0f); // long header: low 4 bits protected
  const pnLen = (first & 3) + 1;
  const header = Buffer.from(buf.subarray(pos, pnOffset + pnLen)); // copy: never write the caller's buffer
  header[0] = first;
  let pn = 0;
  for (let i = 0; i < pnLen; i++) {
    const at = pnOffset - pos + i;
    header[at] ^= mask[1 + i];
    pn = pn * 256 + header[at];
  }
  // The client's first Initial packets are numbered from 0, so the truncated number is the
  // full one (RFC 9000 §17.1 with no packet acknowledged yet).
  const payload = openPayload(keys, pn, header, buf, pnOffset + pnLen, packetEnd);
  if (payload) readFrames(payload, frags);
}

/** PADDING, PING, ACK and CRYPTO frames of an Initial payload; stops at any other frame. */
function readFrames(pl: Buffer, frags: Fragment[]): void {
  const end = pl.length;
  let p = 0;
  for (let n = 0; n < MAX_FRAMES && p < end; n++) {
    const type = pl[p++];
    if (type === FRAME_PADDING) {
      while (p < end && pl[p] === FRAME_PADDING) p++; // one run counts as one frame
    } else if (type === FRAME_PING) {
      continue;
    } else if (type === FRAME_ACK || type === FRAME_ACK_ECN) {
      p = skipAck(pl, p, end, type === FRAME_ACK_ECN);
      if (p < 0) return;
    } else if (type === FRAME_CRYPTO) {
      const offset = varint(pl, p, end);
      if (offset < 0) return;
      p += varintLength(pl[p]);
      const len = varint(pl, p, end);
      if (len < 0) return;
      p += varintLength(pl[p]);
      if (p + len > end) return;
      if (frags.length < MAX_FRAGMENTS && offset < MAX_CRYPTO) frags.push({ offset, data: pl.subarray(p, p + len) });
      p += len;
    } else {
      return;
    }
  }
}

/** ACK frame body (RFC 9000 §19.3) after its type; returns the next offset or -1. */
function skipAck(pl: Buffer, p: number, end: number, ecn: boolean): number {
  let total = 4; // largest, delay, range count, first range; then gap/length pairs, ECN counts
  for (let i = 0; i < total; i++) {
    const v = varint(pl, p, end);
    if (v < 0) return -1;
    if (i === 2) {
      if (v > end) return -1; // each range needs at least 2 bytes: a larger count cannot fit
      total = 4 + v * 2 + (ecn ? 3 : 0);
    }
    p += varintLength(pl[p]);
  }
  return p;
}
