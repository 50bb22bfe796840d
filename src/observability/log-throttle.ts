import { LRUCache } from 'lru-cache';

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
 * @example
 * const throttle = new LogThrottle(60_000);
 * const { log, suppressed } = throttle.hit('invalid_json', Date.now());
 * if (log) logger.warn({ notLoggedSinceLast: suppressed }, 'malformed message');
 */
export class LogThrottle {
  private readonly entries: LRUCache<string, Entry>;

  constructor(
    readonly intervalMs: number,
    // Keys can come from the network (publisher ids), so they are bounded: the least recently hit is forgotten.
    readonly maxKeys = 1000,
  ) {
    this.entries = new LRUCache({ max: maxKeys });
  }

  /** Records one hit of `key` at time `now` (ms) and says whether to log it. */
  hit(key: string, now: number): ThrottleDecision {
    const entry = this.entries.get(key);
    if (entry === undefined) {
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
