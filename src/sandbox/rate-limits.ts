import { createHash } from 'node:crypto';

/** A per-route limit: at most `limit` requests in any `windowMs`, counted per major resource. */
export interface BucketRule {
  /** Names the bucket (the X-RateLimit-Bucket hash is derived from it). */
  name: string;
  limit: number;
  windowMs: number;
}

/** The outcome of one request against the limits, with the headers Discord would send. */
export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
  /** When refused: the 429 body Discord sends. */
  body?: { message: string; retry_after: number; global: boolean };
}

/** At most `limit` timestamps in the last `windowMs`: a sliding log, so no window is ever exceeded. */
class SlidingLog {
  private times: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  prune(now: number): void {
    const cutoff = now - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && (this.times[drop] as number) <= cutoff) drop += 1;
    if (drop > 0) this.times = this.times.slice(drop);
  }

  /** Records a request if there is room; returns false (recording nothing) when full. */
  tryTake(now: number): boolean {
    this.prune(now);
    if (this.times.length >= this.limit) return false;
    this.times.push(now);
    return true;
  }

  remaining(now: number): number {
    this.prune(now);
    return Math.max(0, this.limit - this.times.length);
  }

  /** Milliseconds until one more request fits (or until the oldest leaves, when not full). */
  resetAfterMs(now: number): number {
    this.prune(now);
    const oldest = this.times[0];
    return oldest === undefined ? this.windowMs : Math.max(1, oldest + this.windowMs - now);
  }

  idleSince(now: number): boolean {
    this.prune(now);
    return this.times.length === 0;
  }
}

const seconds = (ms: number): string => (Math.max(ms, 1) / 1000).toFixed(3);

/**
 * Discord's REST rate limits: a global requests-per-second cap plus per-route buckets counted
 * per major resource (channel, guild, webhook). Answers with the X-RateLimit-* headers that
 * @discordjs/rest reads (Limit, Remaining, Reset, Reset-After, Bucket; Scope, Global and
 * Retry-After on a 429).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, SlidingLog>();
  private readonly global: SlidingLog;
  private readonly hashes = new Map<string, string>();

  constructor(
    globalPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.global = new SlidingLog(globalPerSecond, 1000);
  }

  /** Counts one request against the global limit; refused requests get the global 429. */
  takeGlobal(): RateDecision {
    const now = this.now();
    if (this.global.tryTake(now)) return { allowed: true, headers: {} };
    const wait = this.global.resetAfterMs(now);
    return {
      allowed: false,
      headers: { 'Retry-After': seconds(wait), 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global' },
      body: { message: 'You are being rate limited.', retry_after: Number(seconds(wait)), global: true },
    };
  }

  /** Counts one request against a route bucket for one major resource. */
  take(rule: BucketRule, major: string): RateDecision {
    const now = this.now();
    const log = this.log(rule, major);
    if (log.tryTake(now)) return { allowed: true, headers: this.headers(rule, log, now) };
    const wait = log.resetAfterMs(now);
    return {
      allowed: false,
      headers: { ...this.headers(rule, log, now), 'Retry-After': seconds(wait), 'X-RateLimit-Scope': 'user' },
      body: { message: 'You are being rate limited.', retry_after: Number(seconds(wait)), global: false },
    };
  }

  /** The bucket's headers without counting a request (for answers that do not reach the route). */
  peek(rule: BucketRule, major: string): Record<string, string> {
    const now = this.now();
    return this.headers(rule, this.log(rule, major), now);
  }

  /** A 429 as Discord sends for a shared resource limit (used for injected faults). */
  sharedLimit(rule: BucketRule | undefined, major: string, retryAfterMs: number): RateDecision {
    const base = rule ? this.peek(rule, major) : {};
    return {
      allowed: false,
      headers: { ...base, 'Retry-After': seconds(retryAfterMs), 'X-RateLimit-Scope': 'shared' },
      body: { message: 'You are being rate limited.', retry_after: Number(seconds(retryAfterMs)), global: false },
    };
  }

  private log(rule: BucketRule, major: string): SlidingLog {
    const key = `${rule.name}\u0000${major}`;
    let log = this.buckets.get(key);
    if (!log) {
      if (this.buckets.size >= 10_000) this.sweep();
      log = new SlidingLog(rule.limit, rule.windowMs);
      this.buckets.set(key, log);
    }
    return log;
  }

  /** Forgets idle buckets so that memory stays bounded however many channels are touched. */
  sweep(): void {
    const now = this.now();
    for (const [key, log] of this.buckets) if (log.idleSince(now)) this.buckets.delete(key);
  }

  private hash(name: string): string {
    let hash = this.hashes.get(name);
    if (!hash) {
      hash = createHash('sha256').update(name).digest('hex').slice(0, 32);
      this.hashes.set(name, hash);
    }
    return hash;
  }

  private headers(rule: BucketRule, log: SlidingLog, now: number): Record<string, string> {
    const resetAfter = log.resetAfterMs(now);
    return {
      'X-RateLimit-Limit': String(rule.limit),
      'X-RateLimit-Remaining': String(log.remaining(now)),
      'X-RateLimit-Reset': ((now + resetAfter) / 1000).toFixed(3),
      'X-RateLimit-Reset-After': seconds(resetAfter),
      'X-RateLimit-Bucket': this.hash(rule.name),
    };
  }
}
