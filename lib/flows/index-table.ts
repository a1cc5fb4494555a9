// The flow table's index: 5-tuple → entry without building a string per packet.
//
// IPv4 (the bulk of traffic) uses open addressing over typed arrays: the key is the protocol,
// the two addresses as 32-bit numbers (lower endpoint first) and both ports packed in 32 bits;
// a lookup hashes and compares four integers and allocates nothing. IPv6 keys are strings in a
// Map. A list through the entries keeps them in insertion order, for eviction of the oldest and
// for sweeps; it is touched only when a flow starts or ends, never per packet. (Not a Set:
// taking a Set's first entry steps over every entry deleted since V8 last rehashed it, which
// made each eviction from a full table cost tens of microseconds; collections/order.ts.)
import { ipv6PairKey, u32, type PacketInfo } from '../decode/index.js';
import { RecencyList, type Linked } from '../collections/index.js';

/** Key fields an entry carries so it can be removed without its packet. */
export class Keyed implements Linked {
  older: Linked | undefined = undefined;
  newer: Linked | undefined = undefined;
  /** In the index (its list) now. */
  indexed = false;
  proto = 0;
  ka = 0;
  kb = 0;
  kp = 0;
  /** IPv6 key; '' for IPv4 entries. */
  ks = '';
  /** Packet time the entry was made (the list is in this order, give or take clock steps). */
  since = 0;
}

const EMPTY = 0;
const INITIAL_CAPACITY = 1024;
/** Words per slot: low address, high address, ports, protocol. */
const SLOT = 4;

export class FlowIndex<E extends Keyed> {
  private cap = INITIAL_CAPACITY;
  private mask = INITIAL_CAPACITY - 1;
  /**
   * One 16-byte slot per entry: the two addresses, the ports, the protocol (0 = empty slot).
   * The protocol shares the slot rather than an array of its own, so a probe reads one cache
   * line instead of two (−3% of the flow table's cost per packet on the bench capture).
   */
  private keys = new Uint32Array(INITIAL_CAPACITY * SLOT);
  private vals: (E | undefined)[] = new Array<E | undefined>(INITIAL_CAPACITY);
  private v4Size = 0;
  private readonly v6 = new Map<string, E>();
  private readonly order = new RecencyList<E>();

  get size(): number {
    return this.order.size;
  }

  /** Entries in insertion order (oldest first). Safe to delete the current entry while iterating. */
  values(): IterableIterator<E> {
    return this.order.values();
  }

  oldest(): E | undefined {
    return this.order.oldest();
  }

  get(pkt: PacketInfo, srcIsLow: boolean): E | undefined {
    if (pkt.ipVersion === 6) return this.v6.get(v6Key(pkt, srcIsLow));
    const buf = pkt.buf;
    const s = u32(buf, pkt.srcOffset);
    const d = u32(buf, pkt.dstOffset);
    const a = srcIsLow ? s : d;
    const b = srcIsLow ? d : s;
    const p = srcIsLow ? ((pkt.srcPort << 16) | pkt.dstPort) >>> 0 : ((pkt.dstPort << 16) | pkt.srcPort) >>> 0;
    const proto = pkt.protocol;
    for (let i = hash(proto, a, b, p) & this.mask; ; i = (i + 1) & this.mask) {
      const k = i * SLOT;
      const t = this.keys[k + 3];
      if (t === EMPTY) return undefined;
      if (t === proto && this.keys[k] === a && this.keys[k + 1] === b && this.keys[k + 2] === p) return this.vals[i];
    }
  }

  /** Adds `entry` for the packet's 5-tuple (which must not be present). */
  set(pkt: PacketInfo, srcIsLow: boolean, entry: E): void {
    entry.proto = pkt.protocol;
    if (pkt.ipVersion === 6) {
      entry.ks = v6Key(pkt, srcIsLow);
      this.v6.set(entry.ks, entry);
    } else {
      const buf = pkt.buf;
      const s = u32(buf, pkt.srcOffset);
      const d = u32(buf, pkt.dstOffset);
      entry.ks = '';
      // Kept as signed 32-bit words (the same bits: the slots and the hash see no difference): an
      // unsigned word of 2^31 or more would be a boxed number, 16 bytes more a flow for each.
      entry.ka = (srcIsLow ? s : d) | 0;
      entry.kb = (srcIsLow ? d : s) | 0;
      entry.kp = srcIsLow ? (pkt.srcPort << 16) | pkt.dstPort : (pkt.dstPort << 16) | pkt.srcPort;
      if ((this.v4Size + 1) * 2 > this.cap) this.grow();
      this.insert(entry);
      this.v4Size++;
    }
    this.order.append(entry);
    entry.indexed = true;
  }

  delete(entry: E): void {
    if (!entry.indexed) return;
    entry.indexed = false;
    this.order.remove(entry);
    if (entry.ks !== '') {
      this.v6.delete(entry.ks);
      return;
    }
    let i = hash(entry.proto, entry.ka, entry.kb, entry.kp) & this.mask;
    while (this.vals[i] !== entry) {
      if (this.keys[i * SLOT + 3] === EMPTY) return; // not indexed (cannot happen; defensive)
      i = (i + 1) & this.mask;
    }
    this.removeAt(i);
    this.v4Size--;
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.vals.fill(undefined);
    this.v4Size = 0;
    this.v6.clear();
    for (const e of this.order.values()) e.indexed = false;
    this.order.clear();
  }

  private insert(entry: E): void {
    let i = hash(entry.proto, entry.ka, entry.kb, entry.kp) & this.mask;
    while (this.keys[i * SLOT + 3] !== EMPTY) i = (i + 1) & this.mask;
    const k = i * SLOT;
    this.keys[k] = entry.ka;
    this.keys[k + 1] = entry.kb;
    this.keys[k + 2] = entry.kp;
    this.keys[k + 3] = entry.proto;
    this.vals[i] = entry;
  }

  /** Linear-probing deletion by backward shift: no tombstones, probe chains stay short. */
  private removeAt(hole: number): void {
    const mask = this.mask;
    let i = hole;
    for (let j = (i + 1) & mask; this.keys[j * SLOT + 3] !== EMPTY; j = (j + 1) & mask) {
      const e = this.vals[j] as E;
      const home = hash(e.proto, e.ka, e.kb, e.kp) & mask;
      // Move j into the hole when its home slot is not in the cyclic range (i, j].
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (between) continue;
      this.keys.copyWithin(i * SLOT, j * SLOT, j * SLOT + SLOT);
      this.vals[i] = e;
      i = j;
    }
    this.keys[i * SLOT + 3] = EMPTY;
    this.vals[i] = undefined;
  }

  private grow(): void {
    const old = this.vals;
    const oldKeys = this.keys;
    this.cap *= 2;
    this.mask = this.cap - 1;
    this.keys = new Uint32Array(this.cap * SLOT);
    this.vals = new Array<E | undefined>(this.cap);
    for (let i = 0; i < old.length; i++) {
      const e = old[i];
      if (oldKeys[i * SLOT + 3] !== EMPTY && e !== undefined) this.insert(e);
    }
  }
}

/** 32-bit mix of the key (murmur3-style finaliser over the four words). */
function hash(proto: number, a: number, b: number, p: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ p, 0x27d4eb2f);
  h ^= proto;
  h ^= h >>> 15;
  return h >>> 0;
}

/** The string key of an IPv6 5-tuple, lower endpoint first (also flowKey's IPv6 form). */
export function v6Key(pkt: PacketInfo, srcIsLow: boolean): string {
  return srcIsLow
    ? ipv6PairKey(pkt.protocol, pkt.srcPort, pkt.dstPort, pkt.buf, pkt.srcOffset, pkt.dstOffset)
    : ipv6PairKey(pkt.protocol, pkt.dstPort, pkt.srcPort, pkt.buf, pkt.dstOffset, pkt.srcOffset);
}
