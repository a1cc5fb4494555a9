// Retry delays for the forwarders: exponential backoff with "full jitter" (a uniformly random
// delay between 0 and min(cap, base * 2^attempt)), which spreads a fleet of agents that lost
// their collector at the same moment instead of having them retry in lock step.
// Retry-After (RFC 9110 §10.2.3) is either delay-seconds or an HTTP-date.

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions, private readonly random: () => number = Math.random) {}

  /** The delay before the next retry; each call widens the window until the cap. */
  next(): number {
    const ceiling = Math.min(this.opts.capMs, this.opts.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/** Longest Retry-After we obey (1 hour): a misconfigured server must not park agents for days. */
export const RETRY_AFTER_MAX_MS = 3_600_000;

/** Milliseconds to wait for a Retry-After header value, or undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(0, ms), RETRY_AFTER_MAX_MS);
}
