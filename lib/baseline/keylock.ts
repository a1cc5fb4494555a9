// Per-key serialisation. observe() reads an entry, decides novelty and writes it back
// across awaits; two connections to the same new destination arriving together must not
// both see "no entry". Each key keeps a promise chain only while work is queued on it, so
// the map holds at most the keys in flight.

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs fn after every earlier fn queued on the same key has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    const result = prev === undefined ? fn() : prev.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Whether work is queued or running on `key`. */
  has(key: string): boolean {
    return this.tails.has(key);
  }

  /** Keys with work queued or running. */
  get size(): number {
    return this.tails.size;
  }
}
