import Bottleneck from 'bottleneck';

/** A channel's message rate limit as Discord's X-RateLimit-* headers describe it. */
export interface BucketHeaders {
  limit?: number;
  remaining?: number;
  /** Seconds until the bucket resets (X-RateLimit-Reset-After). */
  resetAfter?: number;
}

/** Reads the rate-limit headers of a response, ignoring absent or malformed ones. */
export function readBucketHeaders(headers: { get(name: string): string | null }): BucketHeaders {
  const num = (name: string): number | undefined => {
    const raw = headers.get(name);
    const value = raw === null || raw.trim() === '' ? NaN : Number(raw);
    return Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const out: BucketHeaders = {};
  const limit = num('x-ratelimit-limit');
  const remaining = num('x-ratelimit-remaining');
  const resetAfter = num('x-ratelimit-reset-after');
  if (limit !== undefined) out.limit = limit;
  if (remaining !== undefined) out.remaining = remaining;
  if (resetAfter !== undefined) out.resetAfter = resetAfter;
  return out;
}

/**
 * One channel's rate limiter: a Bottleneck with one request at a time (`maxConcurrent: 1`), sends
 * spaced evenly over what is left of Discord's window (`minTime`), and none while the bucket is
 * empty (`reservoir` 0 until the reset). Discord's headers set it after every response; until the
 * first one it assumes Discord's documented 5 messages per 5 s. A 429 empties the reservoir for
 * as long as Discord said.
 */
export class ChannelLimiter {
  private readonly bottleneck: Bottleneck;
  private limit: number;
  private remaining: number;
  private resetAt = 0;
  private refill: NodeJS.Timeout | undefined;
  /** Whether Discord's headers (rather than the assumption) set the current state. */
  fromHeaders = false;

  constructor(
    private readonly assumed: { limit: number; windowMs: number },
    /** Extra wait after a reset, as @discordjs/rest adds, so both agree the bucket has reset. */
    private readonly offsetMs = 100,
  ) {
    this.limit = assumed.limit;
    this.remaining = assumed.limit;
    this.bottleneck = new Bottleneck({ maxConcurrent: 1, minTime: Math.ceil(assumed.windowMs / assumed.limit) });
  }

  /** Runs `job` when the channel may send (one at a time); resolves with its result. */
  schedule<T>(job: () => Promise<T>): Promise<T> {
    return this.bottleneck.schedule(async () => {
      this.consumed(Date.now());
      return job();
    });
  }

  /** Applies the headers of a response to a message request in this channel. */
  update(headers: BucketHeaders, now: number): void {
    if (headers.remaining === undefined || headers.resetAfter === undefined) return;
    this.fromHeaders = true;
    if (headers.limit !== undefined && headers.limit > 0) this.limit = headers.limit;
    this.remaining = headers.remaining;
    const resetInMs = headers.resetAfter * 1000 + this.offsetMs;
    this.resetAt = now + resetInMs;
    // The next send waits an even share of what is left of the window, counting the first send after
    // the reset as one more: at 5 per 5 s about one a second, and the last one still before the reset.
    const minTime = Math.ceil(resetInMs / (this.remaining + 1));
    if (this.remaining > 0) this.bottleneck.updateSettings({ reservoir: this.remaining, minTime });
    else this.holdFor(resetInMs, minTime);
  }

  /** Sends nothing for `ms` (a 429's retry-after), then one request to learn the bucket again. */
  pauseFor(ms: number, now: number): void {
    this.remaining = 0;
    this.resetAt = now + ms;
    this.holdFor(ms);
  }

  /** Sends that may start before the channel has to wait (at least 0). */
  budget(now: number): number {
    return now >= this.resetAt ? this.limit : this.remaining;
  }

  /** Drops waiting jobs and timers; resolves once the running job ends. */
  async stop(): Promise<void> {
    clearTimeout(this.refill);
    await this.bottleneck.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  private consumed(now: number): void {
    if (now >= this.resetAt) {
      this.remaining = this.limit;
      this.resetAt = now + this.assumed.windowMs;
    }
    this.remaining = Math.max(0, this.remaining - 1);
  }

  private holdFor(ms: number, minTime?: number): void {
    clearTimeout(this.refill);
    this.bottleneck.updateSettings({ reservoir: 0, ...(minTime === undefined ? {} : { minTime }) });
    this.refill = setTimeout(() => {
      this.refill = undefined;
      // Unknown until the next response says: one send, whose headers set the rest.
      this.bottleneck.updateSettings({ reservoir: null });
    }, Math.max(0, ms));
  }
}
