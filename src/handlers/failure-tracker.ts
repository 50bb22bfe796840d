import { LRUCache } from 'lru-cache';
import type { AlertState } from './alert-state.ts';

/** A job's failures since it last succeeded. */
export interface FailureRecord {
  /** The channel its failures were reported in (where its "recovered" notice goes). */
  channelId: string;
  count: number;
  /** First and latest failure, ms since the epoch. */
  firstAt: number;
  lastAt: number;
  lastError?: unknown;
}

/** Settings of a {@link FailureTracker}. */
export interface FailureTrackerOptions {
  /** Jobs remembered at most; the least recently failed is forgotten first. */
  maxJobs: number;
  /** A job not failing again for this long is forgotten (no "recovered" notice after that), ms. */
  memoryMs: number;
  /** Where the records are kept across restarts (none: in memory only). */
  state?: AlertState;
}

/**
 * Remembers which jobs are failing, so that a job's next successful run can be reported as
 * "recovered" with how many failures since when. Bounded in count and in time.
 */
export class FailureTracker {
  private readonly jobs: LRUCache<string, FailureRecord>;

  constructor(private readonly options: FailureTrackerOptions) {
    // The least recently failing job is forgotten first, and its stored copy with it.
    this.jobs = new LRUCache({ max: options.maxJobs, dispose: (_record, key, reason) => reason === 'evict' && this.options.state?.deleteFailure(key) });
    for (const [key, record] of options.state?.loadFailures() ?? []) this.remember(key, record);
  }

  /** Jobs currently remembered as failing. */
  get size(): number {
    return this.jobs.size;
  }

  /** Records a failure of job `key` at `now`; returns its record (a new one if it had none or it expired). */
  failed(key: string, channelId: string, error: unknown, now: number): FailureRecord {
    this.expire(now);
    const record = this.jobs.get(key);
    if (record) {
      record.channelId = channelId;
      record.count++;
      record.lastAt = now;
      record.lastError = error;
      this.options.state?.saveFailure(key, record);
      return record;
    }
    const fresh: FailureRecord = { channelId, count: 1, firstAt: now, lastAt: now, lastError: error };
    this.remember(key, fresh);
    this.options.state?.saveFailure(key, fresh);
    return fresh;
  }

  /** Job `key` succeeded: forgets it and returns its failures, or undefined when it was not failing. */
  succeeded(key: string, now: number): FailureRecord | undefined {
    this.expire(now);
    const record = this.jobs.peek(key);
    if (record === undefined) return undefined;
    this.forget(key);
    return record;
  }

  private remember(key: string, record: FailureRecord): void {
    this.jobs.set(key, record);
  }

  private forget(key: string): void {
    this.jobs.delete(key);
    this.options.state?.deleteFailure(key);
  }

  // Records are kept in order of their last failure, so the expired ones are at the front.
  private expire(now: number): void {
    for (let oldest = this.jobs.rkeys().next(); !oldest.done; oldest = this.jobs.rkeys().next()) {
      const record = this.jobs.peek(oldest.value);
      if (record !== undefined && now - record.lastAt <= this.options.memoryMs) return;
      this.forget(oldest.value);
    }
  }
}
