// Seeded PRNG for the synthetic capture: mulberry32 (32-bit state, good enough spread for
// traffic shapes, and a few ns per draw so 2M packets are not bound by random numbers).
// Same seed → same byte-identical capture, so runs on different days compare.

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Unsigned 32-bit integer (TCP initial sequence numbers, DNS ids). */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}
