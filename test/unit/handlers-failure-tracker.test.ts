import { describe, expect, it } from 'vitest';
import { FailureTracker } from '../../src/handlers/failure-tracker.ts';
import { jobKey } from '../../src/handlers/job-key.ts';

const HOUR = 3_600_000;

describe('FailureTracker (what "recovered" notices are built from)', () => {
  it('a job that failed three times and then succeeded reports 3 failures since the first, with the last error, once', () => {
    const tracker = new FailureTracker({ maxJobs: 10, memoryMs: 24 * HOUR });
    tracker.failed('id:a', '101', 'first', 1_000);
    tracker.failed('id:a', '101', 'second', 2_000);
    tracker.failed('id:a', '101', 'third', 3_000);
    expect(tracker.succeeded('id:a', 4_000)).toEqual({ channelId: '101', count: 3, firstAt: 1_000, lastAt: 3_000, lastError: 'third' });
    expect(tracker.succeeded('id:a', 5_000), 'a second success is not a recovery').toBeUndefined();
    expect(tracker.size).toBe(0);
  });

  it('a success without an earlier failure is not a recovery; another job failing does not count', () => {
    const tracker = new FailureTracker({ maxJobs: 10, memoryMs: HOUR });
    expect(tracker.succeeded('id:never-failed', 1)).toBeUndefined();
    tracker.failed('id:b', '101', 'x', 1);
    expect(tracker.succeeded('id:a', 2)).toBeUndefined();
    expect(tracker.succeeded('id:b', 3)?.count).toBe(1);
  });

  it('after recovering, the next failure starts counting from one again', () => {
    const tracker = new FailureTracker({ maxJobs: 10, memoryMs: HOUR });
    tracker.failed('id:a', '101', 'x', 1);
    tracker.failed('id:a', '101', 'x', 2);
    tracker.succeeded('id:a', 3);
    tracker.failed('id:a', '101', 'y', 10);
    expect(tracker.succeeded('id:a', 11)).toMatchObject({ count: 1, firstAt: 10, lastError: 'y' });
  });

  it('holds at most maxJobs: 20,000 distinct failing jobs keep 10,000, forgetting the least recently failed', () => {
    const tracker = new FailureTracker({ maxJobs: 10_000, memoryMs: 24 * HOUR });
    tracker.failed('id:keep', '101', 'x', 0);
    for (let i = 0; i < 20_000; i++) {
      tracker.failed(`id:${i}`, '101', 'x', i);
      if (i === 5_000) tracker.failed('id:keep', '101', 'again', i);
    }
    expect(tracker.size).toBe(10_000);
    expect(tracker.succeeded('id:0', 30_000)).toBeUndefined();
    expect(tracker.succeeded('id:19999', 30_000)).toBeDefined();
    // Failing again made it recent, but 15,000 newer failures have pushed it out since.
    expect(tracker.succeeded('id:keep', 30_000)).toBeUndefined();
  });

  it('forgets a job that has not failed for longer than memoryMs (no recovered notice for it)', () => {
    const tracker = new FailureTracker({ maxJobs: 10, memoryMs: HOUR });
    tracker.failed('id:old', '101', 'x', 0);
    tracker.failed('id:recent', '101', 'x', 30 * 60_000);
    expect(tracker.succeeded('id:old', HOUR + 1)).toBeUndefined();
    expect(tracker.succeeded('id:recent', HOUR + 1)).toMatchObject({ count: 1 });
  });

  it('a failure after the memory expired starts a new record', () => {
    const tracker = new FailureTracker({ maxJobs: 10, memoryMs: HOUR });
    tracker.failed('id:a', '101', 'x', 0);
    tracker.failed('id:a', '101', 'y', 2 * HOUR);
    expect(tracker.succeeded('id:a', 2 * HOUR + 1)).toMatchObject({ count: 1, firstAt: 2 * HOUR });
  });
});

describe('jobKey', () => {
  it('uses job_id, falls back to job_name, and tells an id from a name', () => {
    expect(jobKey({ job_id: 'j1', job_name: 'etl' })).toBe('id:j1');
    expect(jobKey({ job_id: 42 })).toBe('id:42');
    expect(jobKey({ job_name: 'etl' })).toBe('name:etl');
    expect(jobKey({ job_id: 'etl' })).not.toBe(jobKey({ job_name: 'etl' }));
    expect(jobKey({ job_id: '', job_name: 'etl' })).toBe('name:etl');
  });

  it('is undefined for a payload without a usable id or name (objects, null, nothing)', () => {
    expect(jobKey({})).toBeUndefined();
    expect(jobKey({ job_id: { nested: 1 }, job_name: null })).toBeUndefined();
  });

  it('keeps a 1 MB job_id to a bounded key', () => {
    expect(jobKey({ job_id: 'x'.repeat(1_000_000) })?.length).toBeLessThanOrEqual(260);
  });
});
