// Insertion (or recency) order with O(1) removal of any entry and of the oldest.
//
// Why not a Map's own order: V8 keeps a deleted Map / Set entry as a hole in its insertion-
// ordered table until the next rehash, and every new iterator starts at the front and steps
// over the holes. A bounded Map that evicts with `map.keys().next()` therefore pays for every
// entry deleted since the last rehash, each time: measured, a 65,536-entry FIFO cost ~40 µs an
// insertion once full (a 100,000-address name cache over 200 µs an answer) instead of ~0.1 µs.
// Here the order is a doubly linked list through the entries themselves; the Map (when there
// is one) is only ever used for get / set / delete.

/** An entry that can sit in one RecencyList (the fields belong to the list). */
export interface Linked {
  older: Linked | undefined;
  newer: Linked | undefined;
}

export class RecencyList<T extends Linked> {
  private head: T | undefined;
  private tail: T | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The oldest entry (least recently appended or moved). */
  oldest(): T | undefined {
    return this.head;
  }

  /** Appends `e` as the newest; `e` must not be in a list. */
  append(e: T): void {
    e.older = this.tail;
    e.newer = undefined;
    if (this.tail === undefined) this.head = e;
    else this.tail.newer = e;
    this.tail = e;
    this.count++;
  }

  /** Removes `e`, which must be in this list. */
  remove(e: T): void {
    const older = e.older as T | undefined;
    const newer = e.newer as T | undefined;
    if (older === undefined) this.head = newer;
    else older.newer = newer;
    if (newer === undefined) this.tail = older;
    else newer.older = older;
    e.older = undefined;
    e.newer = undefined;
    this.count--;
  }

  /** Moves `e` (in this list) to the newest end. */
  moveToNewest(e: T): void {
    if (this.tail === e) return;
    this.remove(e);
    this.append(e);
  }

  clear(): void {
    for (let e = this.head; e !== undefined;) {
      const next = e.newer as T | undefined;
      e.older = undefined;
      e.newer = undefined;
      e = next;
    }
    this.head = undefined;
    this.tail = undefined;
    this.count = 0;
  }

  /** Oldest first. Removing the entry just returned (and only it) while iterating is safe. */
  *values(): IterableIterator<T> {
    for (let e = this.head; e !== undefined;) {
      const next = e.newer as T | undefined;
      yield e;
      e = next;
    }
  }
}

interface Node<K, V> extends Linked {
  key: K;
  value: V;
}

/**
 * A Map bounded by its owner, oldest first: set() appends a new key as the newest (an existing
 * key keeps its place unless `touch`), shift() removes the oldest in O(1).
 */
export class OrderedMap<K, V> {
  private readonly map = new Map<K, Node<K, V>>();
  private readonly order = new RecencyList<Node<K, V>>();

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  get(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  /** Sets the value; a new key becomes the newest, an existing one too when `touch`. */
  set(key: K, value: V, touch = false): void {
    const n = this.map.get(key);
    if (n !== undefined) {
      n.value = value;
      if (touch) this.order.moveToNewest(n);
      return;
    }
    const node: Node<K, V> = { key, value, older: undefined, newer: undefined };
    this.map.set(key, node);
    this.order.append(node);
  }

  delete(key: K): boolean {
    const n = this.map.get(key);
    if (n === undefined) return false;
    this.map.delete(key);
    this.order.remove(n);
    return true;
  }

  /** Removes the oldest entries until at most `max` are left; returns how many it removed. */
  trim(max: number): number {
    let removed = 0;
    while (this.map.size > Math.max(0, max)) {
      this.shift();
      removed++;
    }
    return removed;
  }

  /** Removes and returns the oldest entry. */
  shift(): [K, V] | undefined {
    const n = this.order.oldest();
    if (n === undefined) return undefined;
    this.map.delete(n.key);
    this.order.remove(n);
    return [n.key, n.value];
  }

  clear(): void {
    this.map.clear();
    this.order.clear();
  }

  /** Oldest first; the current entry may be deleted while iterating. */
  *entries(): IterableIterator<[K, V]> {
    for (const n of this.order.values()) yield [n.key, n.value];
  }

  *values(): IterableIterator<V> {
    for (const n of this.order.values()) yield n.value;
  }
}
