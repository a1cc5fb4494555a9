// A bounded memo for hot lookups on the per-connection path, cheaper than an exact LRU: two
// plain Maps, a young and an old generation. Hits in the young one cost one Map get; an old hit
// is copied to the young one. When the young generation holds half the bound it becomes the old
// one and the previous old one is dropped (counted as evictions). So at most `max` entries are
// held, anything used within the last max/2 insertions is kept, and nothing is reordered per
// hit. lru-cache's get() / set() cost several times a Map's (its bookkeeping per access), which
// showed in the replay benchmark's profile at two or three lookups per connection.
export class GenerationMemo<K, V> {
  /** Entries dropped when an old generation was discarded. */
  evictions = 0;
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.set(key, o);
    }
    return o;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.half && !this.young.has(key)) {
      this.evictions += this.old.size;
      this.old = this.young;
      this.young = new Map<K, V>();
    }
    this.young.set(key, value);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
