import type { DeliveryFailure } from './errors.ts';

/** How long to wait between tries: doubling from `baseMs` up to `maxMs`. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** Why a channel cannot be posted to right now, since when, and when it is tried next. */
export interface Unavailability {
  /** `outage`: Discord answers 5xx, times out or cannot be reached; `refused`: the channel answers 403/404. */
  state: 'outage' | 'refused';
  since: number;
  /** Failed tries in this state. */
  failures: number;
  status: number | 'network';
  code?: number;
  message: string;
  reason: DeliveryFailure['reason'];
  /** When the next try may start, ms epoch. */
  nextAttemptAt: number;
}

/** What {@link ChannelAvailability.failed} decided. */
export interface FailureOutcome {
  /** Milliseconds until the next try. */
  delayMs: number;
  /** This failure began a new state (report it once). */
  began: boolean;
}

/**
 * One channel's availability, as a state machine: `ok` → `outage` (5xx, timeouts, unreachable)
 * or `refused` (403/404) on a failure, between those two as the failures change, and back to `ok`
 * on the first success. Each failure sets the next try after an exponential backoff with jitter,
 * from the state's own base up to its cap (outage: about a second up to at most a minute; refused:
 * seconds up to minutes), so a returning Discord or a fixed permission is noticed soon.
 */
export class ChannelAvailability {
  private current: Unavailability | undefined;

  constructor(
    private readonly backoff: { outage: Backoff; refused: Backoff },
    private readonly random: () => number = Math.random,
  ) {}

  /** Why the channel is unavailable now, or undefined while it works. */
  get status(): Unavailability | undefined {
    return this.current;
  }

  /** Records a failed try (an outage or a refusal) at `now` and says when to try again. */
  failed(failure: DeliveryFailure, now: number): FailureOutcome {
    const state = failure.kind === 'channel' ? 'refused' : 'outage';
    const began = this.current?.state !== state;
    const failures = began ? 1 : this.current!.failures + 1;
    const { baseMs, maxMs } = this.backoff[state];
    // Full jitter over the upper half keeps the cap a real cap and spreads channels retrying at once.
    const capped = Math.min(maxMs, baseMs * 2 ** Math.min(30, failures - 1));
    const delayMs = Math.round(capped * (0.5 + this.random() * 0.5));
    this.current = {
      state,
      since: began ? now : this.current!.since,
      failures,
      status: failure.status,
      message: failure.message,
      reason: failure.reason,
      nextAttemptAt: now + delayMs,
      ...(failure.code === undefined ? {} : { code: failure.code }),
    };
    return { delayMs, began };
  }

  /** Records a success; returns the unavailability it ended, if there was one. */
  succeeded(): Unavailability | undefined {
    const ended = this.current;
    this.current = undefined;
    return ended;
  }

  /** Milliseconds until the next try may start (0: now). */
  waitMs(now: number): number {
    return this.current ? Math.max(0, this.current.nextAttemptAt - now) : 0;
  }
}
