import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertState } from '../../src/handlers/alert-state.ts';
import { FailureTracker } from '../../src/handlers/failure-tracker.ts';
import { openStore, type Store } from '../../src/store/index.ts';

let dir: string;
const opened: Store[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zmq-notify-alert-state-'));
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

// A new process on the same file: a store opened afresh, everything else rebuilt from it.
function reopen(): AlertState {
  for (const store of opened.splice(0)) store.close();
  const store = openStore({ path: 'alerts.db', baseDir: dir });
  opened.push(store);
  return new AlertState(store);
}

describe('failure alerts state across a restart (SQLite file)', () => {
  it('a job that failed twice before the restart is "recovered after failing 2 times" after it', () => {
    const before = new FailureTracker({ maxJobs: 10, memoryMs: 60_000, state: reopen() });
    before.failed('sched/etl', '111', 'boom 1', 1_000);
    before.failed('sched/etl', '111', { message: 'boom 2' }, 2_000);
    before.failed('sched/other', '111', 'x', 2_500);
    const after = new FailureTracker({ maxJobs: 10, memoryMs: 60_000, state: reopen() });
    expect(after.size).toBe(2);
    expect(after.succeeded('sched/etl', 3_000)).toEqual({ channelId: '111', count: 2, firstAt: 1_000, lastAt: 2_000, lastError: { message: 'boom 2' } });
    // Forgotten once recovered, in the file too.
    expect(new FailureTracker({ maxJobs: 10, memoryMs: 60_000, state: reopen() }).succeeded('sched/etl', 3_000)).toBeUndefined();
  });

  it('the bounds hold for the stored records too: evicted and expired jobs are gone after a restart', () => {
    const before = new FailureTracker({ maxJobs: 2, memoryMs: 1_000, state: reopen() });
    before.failed('a', '1', 'x', 0);
    before.failed('b', '1', 'x', 10);
    before.failed('c', '1', 'x', 20);
    const after = new FailureTracker({ maxJobs: 2, memoryMs: 1_000, state: reopen() });
    expect(after.size).toBe(2);
    expect(after.succeeded('a', 30)).toBeUndefined();
    after.failed('d', '1', 'x', 5_000);
    expect(new FailureTracker({ maxJobs: 2, memoryMs: 1_000, state: reopen() }).size).toBe(1);
  });
});
