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
// construction: SLOTS short strings (~0.7 MB at most). (IPv6 text through the same kind of
// memo was measured, 2026-12-05: no gain in the whole pipeline; 3% of the bench's packets.)
import { addressToString } from './address.js';

const BITS = 14;
const SLOTS = 1 << BITS;

export class AddressMemo {
  private readonly v4Text: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly v4Key = new Int32Array(SLOTS);

  /** addressToString(buf, off, version): IPv4 through the memo. */
  text(buf: Buffer, off: number, version: 4 | 6): string {
    return version === 6 ? addressToString(buf, off, 6) : this.ipv4(buf, off);
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
