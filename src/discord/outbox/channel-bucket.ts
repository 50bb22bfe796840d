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
 * How many messages a channel may send now, how long it must wait when it may send none, and how
 * long it should wait so that its sends spread over the window instead of spending it at once.
 * Discord's headers set it after every response; until the first one (or if a response carries
 * none) it counts sends itself against an assumed limit, Discord's documented 5 per 5 seconds.
 */
export class ChannelBucket {
  private limit: number;
  private remaining: number;
  private resetAt = 0;
  /** When the next send may start if sends are to be spread evenly over the window. */
  private nextAt = 0;
  /** Whether Discord's headers (rather than the assumption) set the current state. */
  fromHeaders = false;

  constructor(
    private readonly assumed: { limit: number; windowMs: number },
    /** Extra wait after a reset, as @discordjs/rest adds, so both agree the bucket has reset. */
    private readonly offsetMs = 100,
  ) {
    this.limit = assumed.limit;
    this.remaining = assumed.limit;
  }

  /** Notes that a send starts now. */
  consume(now: number): void {
    if (now >= this.resetAt) {
      this.remaining = this.limit;
      this.resetAt = now + this.assumed.windowMs;
    }
    this.remaining = Math.max(0, this.remaining - 1);
    this.pace(now);
  }

  /** Applies the headers of a response to a message sent to this channel. */
  update(headers: BucketHeaders, now: number): void {
    if (headers.remaining === undefined || headers.resetAfter === undefined) return;
    this.fromHeaders = true;
    if (headers.limit !== undefined && headers.limit > 0) this.limit = headers.limit;
    this.remaining = headers.remaining;
    this.resetAt = now + headers.resetAfter * 1000 + this.offsetMs;
    this.pace(now);
  }

  /** Sends that may start before the channel has to wait (at least 0). */
  budget(now: number): number {
    return now >= this.resetAt ? this.limit : this.remaining;
  }

  /** Milliseconds to wait before the next send may start without exceeding the limit (0: now). */
  waitMs(now: number): number {
    return this.budget(now) > 0 ? 0 : Math.max(0, this.resetAt - now);
  }

  /**
   * Milliseconds to wait before the next send so that the sends left in the window are spread
   * evenly over it (0: now). A channel whose window has reset (an idle one) sends at once; one
   * with no sends left waits for the reset, as {@link waitMs} does.
   */
  pacedWaitMs(now: number): number {
    if (now >= this.resetAt) return 0;
    return Math.max(this.waitMs(now), this.nextAt - now, 0);
  }

  // With `remaining` sends left in a window that resets at resetAt, the next send comes after an
  // even share of the time left, counting the first send after the reset as one more: at 5 per 5 s
  // that is one a second, and the last send of a window still comes a share before the reset, so
  // no send is wasted (dividing by `remaining` alone would put it on the reset itself).
  private pace(now: number): void {
    this.nextAt = now + Math.max(0, this.resetAt - now) / (this.remaining + 1);
  }
}
