// Reverse (PTR) lookups for external addresses no other source named. Asynchronous, off the
// packet path; cached (answers and failures), rate-limited, and each lookup bounded by a
// timeout, so a slow or absent resolver costs an alert at most a couple of seconds.
// The lookups go through the system's resolver like any client's; their answers carry no
// A/AAAA records, so the agent's own PTR traffic names nothing and alerts on nothing.
import { OrderedMap } from '../collections/index.js';
import { promises as dns } from 'node:dns';

export interface PtrOptions {
  /** Lookups started per second at most; beyond, the address stays unnamed (default 20). */
  perSecond?: number;
  /** Answers (and failures) cached, entries (default 10000). */
  cacheSize?: number;
  /** How long an answer is reused, ms (default 1 h); failures for a tenth of that. */
  ttlMs?: number;
  /** Per-lookup timeout, ms (default 2000). */
  timeoutMs?: number;
  now?: () => number;
  /** DNS servers ("IP" or "IP:PORT"); default the system's resolvers. */
  servers?: string[];
  /** For tests: the reverse lookup itself. */
  reverse?: (ip: string) => Promise<string[]>;
}

export class PtrResolver {
  readonly stats = { lookups: 0, named: 0, failed: 0, rateLimited: 0, cacheHits: 0 };
  private readonly cache = new OrderedMap<string, { name?: string; until: number; pending?: Promise<string | undefined> }>();
  private readonly reverse: (ip: string) => Promise<string[]>;
  private windowStart = 0;
  private inWindow = 0;

  constructor(private readonly opts: PtrOptions = {}) {
    if (opts.reverse) {
      this.reverse = opts.reverse;
    } else {
      const r = new dns.Resolver({ timeout: opts.timeoutMs ?? 2000, tries: 1 });
      if (opts.servers && opts.servers.length > 0) r.setServers(opts.servers);
      this.reverse = (ip) => r.reverse(ip);
    }
  }

  /** The first PTR name of `ip` (lower-case, no trailing dot), or undefined. */
  lookup(ip: string): Promise<string | undefined> {
    const now = (this.opts.now ?? Date.now)();
    const hit = this.cache.get(ip);
    if (hit && (hit.pending || hit.until > now)) {
      this.stats.cacheHits++;
      return hit.pending ?? Promise.resolve(hit.name);
    }
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= (this.opts.perSecond ?? 20)) {
      this.stats.rateLimited++;
      return Promise.resolve(undefined);
    }
    this.inWindow++;
    this.stats.lookups++;
    const ttl = this.opts.ttlMs ?? 3_600_000;
    const pending = withTimeout(this.reverse(ip), this.opts.timeoutMs ?? 2000).then(
      (names) => {
        const name = names[0]?.toLowerCase().replace(/\.$/, '') || undefined;
        if (name) this.stats.named++;
        else this.stats.failed++;
        this.remember(ip, { name, until: now + (name ? ttl : ttl / 10) });
        return name;
      },
      () => {
        this.stats.failed++;
        this.remember(ip, { until: now + ttl / 10 });
        return undefined;
      },
    );
    this.remember(ip, { until: now + ttl, pending });
    return pending;
  }

  private remember(ip: string, entry: { name?: string; until: number; pending?: Promise<string | undefined> }): void {
    this.cache.delete(ip);
    this.cache.set(ip, entry);
    this.cache.trim(this.opts.cacheSize ?? 10_000);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    t.unref();
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
}
