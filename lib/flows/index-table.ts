// The flow table's index: 5-tuple → entry without building a string per packet.
//
// IPv4 uses open addressing over typed arrays: the key is the protocol, the two addresses as
// 32-bit numbers (lower endpoint first) and both ports packed in 32 bits; a lookup hashes and
// compares four integers and allocates nothing. IPv6 the same way in a table of its own, ten
// words a key (its addresses are four words each). IPv6 keys were strings in a Map: ~500 ns a
// packet for the key, the lookup and the endpoint comparison, against ~90 ns for IPv4; now
// ~160 ns. A list through the entries keeps them in insertion order, for eviction of the
// oldest and for sweeps; it is touched only when a flow starts or ends, never per packet. (Not a Set:
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
  /** IPv4: the lower address. IPv6: the key's hash (V6Table). */
  ka = 0;
  kb = 0;
  kp = 0;
  /** Indexed by its IPv6 key (V6Table), not IPv4. */
  v6 = false;
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
  private readonly v6 = new V6Table<E>();
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
    if (pkt.ipVersion === 6) return this.v6.get(pkt, srcIsLow);
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
      entry.v6 = true;
      this.v6.set(pkt, srcIsLow, entry);
    } else {
      const buf = pkt.buf;
      const s = u32(buf, pkt.srcOffset);
      const d = u32(buf, pkt.dstOffset);
      entry.v6 = false;
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
    if (entry.v6) {
      this.v6.delete(entry);
      return;
    }
    const i = slotOf(this.keys, this.vals, SLOT, this.mask, entry, v4Home);
    if (i < 0) return; // not indexed (cannot happen; defensive)
    removeSlot(this.keys, this.vals, SLOT, this.mask, i, v4Home);
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

  private grow(): void {
    const old = this.vals;
    const oldKeys = this.keys;
    this.cap *= 2;
    this.mask = this.cap - 1;
    this.keys = new Uint32Array(this.cap * SLOT);
    this.vals = new Array<E | undefined>(this.cap);
    eachOccupied(oldKeys, old, SLOT, (e) => this.insert(e));
  }
}

/** Where an IPv4 entry's probe starts (before the mask): its key's hash. */
const v4Home = (e: Keyed): number => hash(e.proto, e.ka, e.kb, e.kp);
/** An IPv6 entry keeps its key's hash (V6Table). */
const v6Home = (e: Keyed): number => e.ka;

/**
 * Linear-probing deletion by backward shift, over slots of `slot` words whose last word (the
 * protocol) is EMPTY in a free slot: no tombstones, probe chains stay short.
 */
function removeSlot<E>(keys: Uint32Array, vals: (E | undefined)[], slot: number, mask: number, hole: number, home: (e: E) => number): void {
  let i = hole;
  for (let j = (i + 1) & mask; keys[j * slot + slot - 1] !== EMPTY; j = (j + 1) & mask) {
    const e = vals[j] as E;
    const h = home(e) & mask;
    // Move j into the hole when its home slot is not in the cyclic range (i, j].
    const between = i <= j ? h > i && h <= j : h > i || h <= j;
    if (between) continue;
    keys.copyWithin(i * slot, j * slot, j * slot + slot);
    vals[i] = e;
    i = j;
  }
  keys[i * slot + slot - 1] = EMPTY;
  vals[i] = undefined;
}

/** The slot holding `entry`, probing from its home; -1 when it is not in the table. */
function slotOf<E>(keys: Uint32Array, vals: (E | undefined)[], slot: number, mask: number, entry: E, home: (e: E) => number): number {
  let i = home(entry) & mask;
  while (vals[i] !== entry) {
    if (keys[i * slot + slot - 1] === EMPTY) return -1;
    i = (i + 1) & mask;
  }
  return i;
}

/** Each entry of a table being grown, with where its key starts in `keys`. */
function eachOccupied<E>(keys: Uint32Array, vals: (E | undefined)[], slot: number, put: (e: E, at: number) => void): void {
  for (let i = 0; i < vals.length; i++) {
    const e = vals[i];
    if (keys[i * slot + slot - 1] !== EMPTY && e !== undefined) put(e, i * slot);
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

/** Words per IPv6 slot: the lower address (4), the higher (4), ports, protocol. */
const SLOT6 = 10;
const INITIAL_CAPACITY6 = 256;

/**
 * The IPv6 part of FlowIndex: open addressing as for IPv4, ten words a slot, linear probing with
 * backward-shift deletion. An entry keeps its key's hash (Keyed.ka) to be found again without
 * its packet; the key's words live only in the slots.
 */
class V6Table<E extends Keyed> {
  private cap = INITIAL_CAPACITY6;
  private mask = INITIAL_CAPACITY6 - 1;
  private keys = new Uint32Array(INITIAL_CAPACITY6 * SLOT6);
  private vals: (E | undefined)[] = new Array<E | undefined>(INITIAL_CAPACITY6);
  private size = 0;
  /** The key being looked up or added, read once from the packet. */
  private readonly key = new Uint32Array(SLOT6);

  get(pkt: PacketInfo, srcIsLow: boolean): E | undefined {
    const key = this.key;
    const h = readKey(pkt, srcIsLow, key);
    const keys = this.keys;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const k = i * SLOT6;
      const t = keys[k + 9];
      if (t === EMPTY) return undefined;
      if (t === key[9] && keys[k + 8] === key[8] && keys[k] === key[0] && keys[k + 1] === key[1] && keys[k + 2] === key[2]
        && keys[k + 3] === key[3] && keys[k + 4] === key[4] && keys[k + 5] === key[5] && keys[k + 6] === key[6] && keys[k + 7] === key[7]) return this.vals[i];
    }
  }

  /** Adds `entry` for the packet's 5-tuple (which must not be present). */
  set(pkt: PacketInfo, srcIsLow: boolean, entry: E): void {
    if ((this.size + 1) * 2 > this.cap) this.grow();
    entry.ka = readKey(pkt, srcIsLow, this.key) | 0;
    this.insert(entry, this.key, 0);
    this.size++;
  }

  delete(entry: E): void {
    const i = slotOf(this.keys, this.vals, SLOT6, this.mask, entry, v6Home);
    if (i < 0) return; // not indexed (cannot happen; defensive)
    removeSlot(this.keys, this.vals, SLOT6, this.mask, i, v6Home);
    this.size--;
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.vals.fill(undefined);
    this.size = 0;
  }

  /** Puts `entry` with the key at from[at, at + SLOT6) into the first free slot from its home. */
  private insert(entry: E, from: Uint32Array, at: number): void {
    let i = entry.ka & this.mask;
    while (this.keys[i * SLOT6 + 9] !== EMPTY) i = (i + 1) & this.mask;
    this.keys.set(from.subarray(at, at + SLOT6), i * SLOT6);
    this.vals[i] = entry;
  }

  private grow(): void {
    const old = this.vals;
    const oldKeys = this.keys;
    this.cap *= 2;
    this.mask = this.cap - 1;
    this.keys = new Uint32Array(this.cap * SLOT6);
    this.vals = new Array<E | undefined>(this.cap);
    eachOccupied(oldKeys, old, SLOT6, (e, at) => this.insert(e, oldKeys, at));
  }
}

/**
 * Reads the packet's IPv6 5-tuple into `key` (lower endpoint's address, the higher's, both ports,
 * the protocol) and returns its hash (murmur3-style, as hash() for IPv4).
 */
function readKey(pkt: PacketInfo, srcIsLow: boolean, key: Uint32Array): number {
  const buf = pkt.buf;
  const lo = srcIsLow ? pkt.srcOffset : pkt.dstOffset;
  const hi = srcIsLow ? pkt.dstOffset : pkt.srcOffset;
  let h = 0x9e3779b9;
  for (let w = 0; w < 4; w++) {
    const a = u32(buf, lo + 4 * w);
    const b = u32(buf, hi + 4 * w);
    key[w] = a;
    key[w + 4] = b;
    h = Math.imul(h ^ a, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  }
  const p = srcIsLow ? ((pkt.srcPort << 16) | pkt.dstPort) >>> 0 : ((pkt.dstPort << 16) | pkt.srcPort) >>> 0;
  key[8] = p;
  key[9] = pkt.protocol;
  h = Math.imul(h ^ (h >>> 16) ^ p, 0x27d4eb2f);
  h ^= pkt.protocol;
  h ^= h >>> 15;
  return h >>> 0;
}

/** The string key of an IPv6 5-tuple, lower endpoint first (also flowKey's IPv6 form). */
export function v6Key(pkt: PacketInfo, srcIsLow: boolean): string {
  return srcIsLow
    ? ipv6PairKey(pkt.protocol, pkt.srcPort, pkt.dstPort, pkt.buf, pkt.srcOffset, pkt.dstOffset)
    : ipv6PairKey(pkt.protocol, pkt.dstPort, pkt.srcPort, pkt.buf, pkt.dstOffset, pkt.srcOffset);
}
