// The hold window: an alert waits up to --alert-delay after its connection started so it can
// carry the bytes exchanged; the connection's end releases it at once. Driven by the pipeline's
// clock (packet time in replay, wall time live), never by timers of its own.
import { OrderedMap } from '../collections/index.js';

export interface Held<T> {
  item: T;
  due: number;
}

export class AlertHold<T> {
  /**
   * By flow: a connection through a proxy can carry several requests, each judged and alerted on
   * its own. In the order flows were first held, which is the order of their windows' ends, give
   * or take a later request on a proxy connection. Not a Map's own order: the bound lets out its
   * oldest flow, which a Map finds only past every entry deleted since it last rehashed (see
   * collections/order.ts).
   */
  private readonly held = new OrderedMap<object, Held<T>[]>();
  private count = 0;
  /** Items emitted before they were due because `maxHeld` were held. */
  releasedEarly = 0;

  /** `maxHeld`: items held at most; one more lets out the flow held longest first. */
  constructor(private readonly emit: (item: T) => void, private readonly maxHeld = Number.POSITIVE_INFINITY) {}

  get size(): number {
    return this.count;
  }

  /** Holds `item` (keyed by its flow) until `due`, or emits it now when due has passed. */
  add(key: object, item: T, due: number, now: number): void {
    if (due <= now) {
      this.emit(item);
      return;
    }
    if (this.count >= this.maxHeld) this.releaseOldest();
    const list = this.held.get(key);
    if (list) list.push({ item, due });
    else this.held.set(key, [{ item, due }]);
    this.count++;
  }

  /** The flow ended: emit its alerts now. */
  release(key: object): void {
    const list = this.held.get(key);
    if (!list) return;
    this.held.delete(key);
    this.count -= list.length;
    for (const h of list) this.emit(h.item);
  }

  /** The flow held longest: its items go out now (counted in releasedEarly). */
  private releaseOldest(): void {
    const oldest = this.held.shift();
    if (oldest === undefined) return;
    const list = oldest[1];
    this.count -= list.length;
    this.releasedEarly += list.length;
    for (const h of list) this.emit(h.item);
  }

  /** Emits every alert due by `now`. */
  tick(now: number): void {
    for (const [key, list] of this.held.entries()) {
      let kept = 0;
      for (const h of list) {
        if (h.due <= now) {
          this.count--;
          this.emit(h.item);
        } else {
          list[kept++] = h;
        }
      }
      if (kept === 0) this.held.delete(key);
      else list.length = kept;
    }
  }

  /** Emits everything held (shutdown, end of replay). */
  flush(): void {
    const all = [...this.held.values()];
    this.held.clear();
    this.count = 0;
    for (const list of all) for (const h of list) this.emit(h.item);
  }
}
