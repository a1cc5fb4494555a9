// A Bloom filter over strings: "certainly not added" or "maybe added", in a fixed number of bits.
// The baseline keeps one of every key in its store, so a key it has never written is known to be
// absent without a LevelDB read (a new destination is the case that must be decided fast).

/** Bit positions set per key. With 16 bits a key, 4 positions give ~0.25% false "maybe". */
const PROBES = 4;

export class BloomFilter {
  private readonly words: Uint32Array;
  private readonly mask: number;
  /** Keys added (with repeats): how full the filter is. */
  added = 0;

  /** `bits`: rounded up to a power of two, at least 1024. */
  constructor(bits: number) {
    let size = 1024;
    while (size < bits && size < 2 ** 31) size *= 2;
    this.words = new Uint32Array(size / 32);
    this.mask = size - 1;
  }

  get bits(): number {
    return this.mask + 1;
  }

  add(key: string): void {
    this.added++;
    const [h1, h2] = hashes(key);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      this.words[bit >>> 5] |= 1 << (bit & 31);
    }
  }

  /** False: `key` was certainly never added. True: it may have been. */
  mayHave(key: string): boolean {
    const [h1, h2] = hashes(key);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      if ((this.words[bit >>> 5] & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

const pair: [number, number] = [0, 0];

/** Two independent 32-bit hashes of the key's UTF-16 code units (FNV-1a, and a multiplicative mix); the second odd. */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  pair[0] = a >>> 0;
  pair[1] = (b | 1) >>> 0;
  return pair;
}
