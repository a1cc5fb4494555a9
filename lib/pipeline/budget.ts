// A budget for costly work on the packet path, on packet time: at most `perSecond` units a
// second on average, in bursts of at most `perSecond`. What the network sends decides how often
// the work is asked for; the budget decides how much of the agent's time it may take.

export class RateBudget {
  private tokens: number;
  private last = Number.NaN;

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  /** Takes one unit at `now` (ms); false when the budget is spent. */
  take(now: number): boolean {
    // The first call, or a clock that stepped back: nothing is refilled for the gap.
    if (!(now >= this.last)) this.last = now;
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
