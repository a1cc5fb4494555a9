// Sockets looked up at SYN time (SocketResolver.probe), kept until the batched resolve() for
// the same flow asks: by then a client that connects, sends and closes within a millisecond
// has closed its socket (measured in the container e2e test: connect → close p50 0.7-4 ms
// under load, capture → attribute() 0.3-2.7 ms), so only what the probe saw is left.
import { OrderedMap } from '../collections/index.js';
import type { SocketOwner } from './owner.js';

export interface ProbeCacheOptions {
  /** Entries kept at most (default 4096), oldest evicted first. */
  max?: number;
  /** How long an entry waits for its resolve(), ms (default 5000: past the Attributor's 300 ms retry). */
  ttlMs?: number;
  now: () => number;
}

export class ProbeCache {
  readonly stats = { stored: 0, used: 0, expired: 0, evictions: 0 };
  /** owner null: netlink had no such socket at SYN time (closed already, or another namespace's). */
  private readonly entries = new OrderedMap<string, { owner: SocketOwner | null; at: number }>();
  private readonly max: number;
  private readonly ttlMs: number;

  constructor(private readonly opts: ProbeCacheOptions) {
    this.max = opts.max ?? 4096;
    this.ttlMs = opts.ttlMs ?? 5000;
  }

  static key(transport: string, localIp: string, localPort: number, remoteIp: string, remotePort: number): string {
    return `${transport}|${localIp}|${localPort}|${remoteIp}|${remotePort}`;
  }

  /** null: the probe found no socket, so resolve() need not ask netlink again (a miss is two lookups). */
  put(key: string, owner: SocketOwner | null): void {
    this.entries.set(key, { owner, at: this.opts.now() }, true);
    this.stats.stored++;
    this.stats.evictions += this.entries.trim(this.max);
  }

  /** The probed owner (a copy) or null (no socket), once: a later connection on the same 4-tuple is a new socket. */
  take(key: string): SocketOwner | null | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (this.opts.now() - e.at > this.ttlMs) {
      this.stats.expired++;
      return undefined;
    }
    this.stats.used++;
    return e.owner && { ...e.owner };
  }

  get size(): number {
    return this.entries.size;
  }
}
