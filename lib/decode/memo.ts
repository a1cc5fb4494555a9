// A direct-mapped memo of IPv4 address text. Traffic repeats itself (the same addresses
// answered by DNS and connected to again and again), so most address strings already exist:
// returning the same string object saves its four number-to-text conversions (~250 ns an
// answer on the bench capture), and a string that was already a Map key has its hash cached,
// so NameCache's lookup of a known address gets cheaper too. (The same memo for names was
// measured slower than making them, once by the cost of a name and again, 2026-12-05, by the
// whole pipeline: hashing the bytes and checking a hit cost as much as latin1Slice.)
//
// A memo, not a cache of facts: a slot is used only when its 32-bit key equals the address,
// so a hit is always the right text; a collision just overwrites the slot. Bounded by
// construction: SLOTS short strings (~0.7 MB at most).
//
// IPv6 the same way, keyed by the address's four words (V6_SLOTS, ~0.6 MB at most). On the bench
// capture (3% IPv6) it was measured as no gain, 2026-12-05; on IPv6 DNS traffic (AAAA answers,
// resolver and client addresses over IPv6) formatting the text was 8% of the DNS path (RFC 5952's
// zero-run search, for the same few addresses again and again), and a hit costs four word compares.
import { addressToString } from './address.js';
import { u32 } from './bytes.js';

const BITS = 14;
const SLOTS = 1 << BITS;
const V6_BITS = 12;
const V6_SLOTS = 1 << V6_BITS;

export class AddressMemo {
  private readonly v4Text: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly v4Key = new Int32Array(SLOTS);
  private readonly v6Text: (string | undefined)[] = new Array<string | undefined>(V6_SLOTS).fill(undefined);
  /** Four words a slot. */
  private readonly v6Key = new Uint32Array(V6_SLOTS * 4);

  /** addressToString(buf, off, version) through the memo. */
  text(buf: Buffer, off: number, version: 4 | 6): string {
    return version === 6 ? this.ipv6(buf, off) : this.ipv4(buf, off);
  }

  /** decode's addressToString text of the IPv6 address at buf[off, off + 16). */
  ipv6(buf: Buffer, off: number): string {
    const a = u32(buf, off);
    const b = u32(buf, off + 4);
    const c = u32(buf, off + 8);
    const d = u32(buf, off + 12);
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2f);
    h = Math.imul(h ^ (h >>> 15) ^ d, 0x9e3779b1);
    const slot = h >>> (32 - V6_BITS);
    const k = slot * 4;
    const keys = this.v6Key;
    const had = this.v6Text[slot];
    if (had !== undefined && keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) return had;
    const s = addressToString(buf, off, 6);
    this.v6Text[slot] = s;
    keys[k] = a;
    keys[k + 1] = b;
    keys[k + 2] = c;
    keys[k + 3] = d;
    return s;
  }

  /** decode's addressToString text of the IPv4 address at buf[off, off + 4). */
  ipv4(buf: Buffer, off: number): string {
    const key = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
    const slot = Math.imul(key, 0x9e3779b1) >>> (32 - BITS);
    const had = this.v4Text[slot];
    if (had !== undefined && this.v4Key[slot] === key) return had;
    const s = addressToString(buf, off, 4);
    this.v4Text[slot] = s;
    this.v4Key[slot] = key;
    return s;
  }
}
