// The hold window: an alert waits up to --alert-delay after its connection started so it can
// carry the bytes exchanged; the connection's end releases it at once. Driven by the pipeline's
// clock (packet time in replay, wall time live), never by timers of its own.

export interface Held<T> {
  item: T;
  due: number;
}

export class AlertHold<T> {
  private readonly held = new Map<object, Held<T>>();

  constructor(private readonly emit: (item: T) => void) {}

  get size(): number {
    return this.held.size;
  }

  /** Holds `item` (keyed by its flow) until `due`, or emits it now when due has passed. */
  add(key: object, item: T, due: number, now: number): void {
    if (due <= now) {
      this.emit(item);
      return;
    }
    this.held.set(key, { item, due });
  }

  /** The flow ended: emit its alert now. */
  release(key: object): void {
    const h = this.held.get(key);
    if (!h) return;
    this.held.delete(key);
    this.emit(h.item);
  }

  /** Emits every alert due by `now`. */
  tick(now: number): void {
    for (const [key, h] of this.held) {
      if (h.due <= now) {
        this.held.delete(key);
        this.emit(h.item);
      }
    }
  }

  /** Emits everything held (shutdown, end of replay). */
  flush(): void {
    const all = [...this.held.values()];
    this.held.clear();
    for (const h of all) this.emit(h.item);
  }
}
