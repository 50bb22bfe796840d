/** The outcome of {@link LogThrottle.hit}: whether to log now, and how many hits went unlogged. */
export interface ThrottleDecision {
  log: boolean;
  /** Hits of this key that were not logged since the last time it was. */
  suppressed: number;
}

interface Entry {
  lastLoggedAt: number;
  suppressed: number;
}

/**
 * Decides when a repeated log line is worth writing: the first hit of a key is logged, later
 * ones at most once per interval, each with the count of hits skipped in between.
 */
export class LogThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly intervalMs: number,
    // Keys can come from the network (publisher ids), so the map is bounded.
    readonly maxKeys = 1000,
  ) {}

  /** Records one hit of `key` at time `now` (ms) and says whether to log it. */
  hit(key: string, now: number): ThrottleDecision {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
      this.entries.set(key, { lastLoggedAt: now, suppressed: 0 });
      return { log: true, suppressed: 0 };
    }
    if (now - entry.lastLoggedAt >= this.intervalMs) {
      const suppressed = entry.suppressed;
      entry.lastLoggedAt = now;
      entry.suppressed = 0;
      return { log: true, suppressed };
    }
    entry.suppressed += 1;
    return { log: false, suppressed: entry.suppressed };
  }
}
