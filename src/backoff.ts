// the retry delays of every component, pure (the random draw is injected). two policies: decorrelated jitter for
// the poller's calls (a delay that grows from the last one), and full jitter for datadog's deliveries (many
// workers that must spread out after an outage).

/** decorrelated jitter (aws architecture blog): each delay is random in [base, 3 x previous], capped */
export class Backoff {
  private prev: number;
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    this.prev = baseMs;
  }
  next(): number {
    const hi = Math.min(this.maxMs, this.prev * 3);
    this.prev = Math.min(this.maxMs, this.baseMs + this.random() * Math.max(0, hi - this.baseMs));
    return this.prev;
  }
  reset(): void {
    this.prev = this.baseMs;
  }
}

/** full jitter: a uniform draw in [0, min(cap, base * 2^attempt)) for retry number `attempt` (0 first) */
export function fullJitterMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const window = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(unit(random()) * window);
}

/** a random draw kept in [0, 1), whatever the injected source returns */
export function unit(r: number): number {
  if (!(r >= 0)) return 0;
  return r >= 1 ? 0.999999 : r;
}
