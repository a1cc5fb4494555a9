// Low-level reading of a DNS message (RFC 1035 §4.1): names through dns-packet's name codec,
// fixed fields and RDLENGTH bounds checked here. All offsets are relative to `msg`, a view of
// exactly one DNS message, because compression pointers count from the message start.
import dnsPacket from 'dns-packet';

/** A wire-format problem; `kind` is the malformed-counter key. Never escapes the stage. */
export class DnsWireError extends Error {
  constructor(readonly kind: string) {
    super(kind);
  }
}

// dns-packet exports its name codec (`exports.name` in its index.js) but @types/dns-packet
// does not declare it. It rejects forward and self pointers (so no pointer loops), names
// over 254 bytes, reserved label types, and reads past the end of the buffer it is given.
interface NameDecode {
  (buf: Buffer, offset: number): string;
  bytes: number;
}
const nameDecode = (dnsPacket as unknown as { name: { decode: NameDecode } }).name.decode;

/** Maps dns-packet's error texts and Buffer RangeErrors to counter kinds. */
export function errorKind(err: unknown): string {
  if (err instanceof DnsWireError) return err.kind;
  const msg = err instanceof Error ? err.message : '';
  if (msg.includes('bad pointer')) return 'name-bad-pointer';
  if (msg.includes('bad label')) return 'name-bad-label';
  if (msg.includes('too long')) return 'name-too-long';
  if (msg.includes('overflow')) return 'truncated';
  return 'truncated';
}

/** Decoded name (lower-case, no trailing dot; root is ""); `pos.next` gets the offset after it. */
export function readName(msg: Buffer, off: number, pos: { next: number }): string {
  const raw = nameDecode(msg, off);
  pos.next = off + nameDecode.bytes;
  return normaliseName(raw);
}

/** DNS names compare case-insensitively (RFC 4343); we keep them lower-case, no final dot. */
export function normaliseName(raw: string): string {
  if (raw === '.') return '';
  const s = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  return s.toLowerCase();
}

/** Offset after a name, without building it (sections we only count). */
export function skipName(msg: Buffer, off: number): number {
  // A name is at most 255 bytes (RFC 1035 §2.3.4), so 128 labels bound the loop.
  for (let labels = 0; labels < 128; labels++) {
    if (off >= msg.length) throw new DnsWireError('truncated');
    const len = msg[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > msg.length) throw new DnsWireError('truncated');
      return off + 2;
    }
    if ((len & 0xc0) !== 0) throw new DnsWireError('name-bad-label');
    off += 1 + len;
  }
  throw new DnsWireError('name-too-long');
}

/** Throws `truncated` unless `n` bytes are available at `off`. */
export function need(msg: Buffer, off: number, n: number): void {
  if (off + n > msg.length) throw new DnsWireError('truncated');
}

/** Fixed part of a resource record after its owner name (RFC 1035 §4.1.3). */
export interface RecordHeader {
  type: number;
  klass: number;
  ttl: number;
  rdStart: number;
  rdLength: number;
}

/** Reads TYPE, CLASS, TTL, RDLENGTH at `off` into `out` and checks RDATA fits. */
export function readRecordHeader(msg: Buffer, off: number, out: RecordHeader): void {
  need(msg, off, 10);
  out.type = msg.readUInt16BE(off);
  out.klass = msg.readUInt16BE(off + 2);
  const ttl = msg.readUInt32BE(off + 4);
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  out.ttl = ttl > 0x7fffffff ? 0 : ttl;
  out.rdLength = msg.readUInt16BE(off + 8);
  out.rdStart = off + 10;
  need(msg, out.rdStart, out.rdLength);
}
