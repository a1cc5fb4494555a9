// A set of small non-negative integers (fd numbers) as a bitmap: one pid's "fds whose link was
// read and that were open at the last listing". A Set<number> per pid would cost ~50 bytes an
// fd; 1,000 idle processes × 20 fds is 2.5 kB of bitmaps here.

/** Fds above this are not remembered (a sparse table up to 1M fds is 128 kB): always read as new. */
const MAX_FD = 1 << 20;

export class FdBits {
  private bits: Uint8Array;

  constructor(capacity = 64) {
    this.bits = new Uint8Array((Math.min(capacity, MAX_FD) >> 3) + 1);
  }

  has(fd: number): boolean {
    const i = fd >> 3;
    return i < this.bits.length && (this.bits[i]! & (1 << (fd & 7))) !== 0;
  }

  add(fd: number): void {
    if (!(fd >= 0 && fd < MAX_FD)) return;
    const i = fd >> 3;
    if (i >= this.bits.length) {
      const grown = new Uint8Array(Math.max(i + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[i]! |= 1 << (fd & 7);
  }

  /** The lowest fd not in the set: the one the kernel hands out next if nothing was closed since. */
  firstFree(): number {
    let i = 0;
    while (i < this.bits.length && this.bits[i] === 0xff) i++;
    if (i === this.bits.length) return i * 8;
    let bit = 0;
    while (this.bits[i]! & (1 << bit)) bit++;
    return i * 8 + bit;
  }

  delete(fd: number): void {
    const i = fd >> 3;
    if (i < this.bits.length) this.bits[i]! &= ~(1 << (fd & 7));
  }
}
