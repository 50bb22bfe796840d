import { describe, expect, it } from 'vitest';
import { MAX_WALK } from '../../src/jobs/scheduler/due.ts';
import { runEvent } from '../../src/jobs/scheduler/run-events.ts';
import { MAX_MISSED_REPORTS, Scheduler, type RunOutcome, type RunPolicy, type RunRequest, type ScheduledJob } from '../../src/jobs/scheduler/scheduler.ts';
import { createTrigger, type TriggerSpec } from '../../src/jobs/scheduler/trigger.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { captureLogger } from '../helpers/transport.ts';

const MIN = 60_000;
const policy: RunPolicy = { coalesce: false, maxInstances: 3, misfireGraceMs: 15_000 };

/** Lets the runs started by a timer settle (they run on promise callbacks). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(start = Date.parse('2026-01-01T00:00:00Z'), run?: (job: ScheduledJob<string>, request: RunRequest) => Promise<unknown>) {
  const clock = new ManualClock(start);
  const { logger, lines } = captureLogger('info');
  const requests: { id: string; request: RunRequest; at: number }[] = [];
  const outcomes: { id: string; outcome: RunOutcome }[] = [];
  const scheduler = new Scheduler<string>({
    clock,
    logger,
    run:
      run ??
      ((job, request) => {
        requests.push({ id: job.id, request, at: clock.now() });
        return Promise.resolve(`ran ${job.payload}`);
      }),
    report: (job, outcome) => outcomes.push({ id: job.id, outcome }),
  });
  const add = (id: string, spec: TriggerSpec, jobPolicy: Partial<RunPolicy> = {}, resume = {}, anchor = start) =>
    scheduler.add({ id, trigger: createTrigger(spec, anchor), policy: { ...policy, ...jobPolicy }, payload: id }, resume);
  return { clock, scheduler, requests, outcomes, add, logs: lines };
}

describe('Scheduler: running on time', () => {
  it('an every-30s job runs at 30, 60 and 90 s, each outcome reported as executed with its result', async () => {
    const { clock, scheduler, requests, outcomes, add } = setup();
    add('tick', { every: '30s', timezone: 'UTC' });
    scheduler.start();
    clock.advance(90_000);
    await settle();
    expect(requests.map((r) => r.at - Date.parse('2026-01-01T00:00:00Z'))).toEqual([30_000, 60_000, 90_000]);
    expect(outcomes.map((o) => o.outcome.kind)).toEqual(['executed', 'executed', 'executed']);
    expect(outcomes[0]?.outcome).toMatchObject({ kind: 'executed', result: 'ran tick', run: { reason: 'schedule', coalesced: 1 } });
    expect(scheduler.get('tick')).toMatchObject({ nextRunAt: Date.parse('2026-01-01T00:02:00Z'), lastRunAt: Date.parse('2026-01-01T00:01:30Z'), counts: { runs: 3, missed: 0 } });
  });

  it('DST spring forward on the scheduler clock: the 02:30 New York job runs once on 8 March, at 07:00 UTC (03:00 EDT)', async () => {
    const { clock, scheduler, requests, add } = setup(Date.parse('2026-03-07T12:00:00Z'));
    add('early', { cron: '30 2 * * *', timezone: 'America/New_York' });
    scheduler.start();
    clock.advance(24 * 60 * MIN);
    await settle();
    expect(requests.map((r) => new Date(r.at).toISOString())).toEqual(['2026-03-08T07:00:00.000Z']);
  });

  it('DST fall back on the scheduler clock: the 01:30 New York job runs once on 1 November, not twice', async () => {
    const { clock, scheduler, requests, add } = setup(Date.parse('2026-10-31T12:00:00Z'));
    add('night', { cron: '30 1 * * *', timezone: 'America/New_York' });
    scheduler.start();
    clock.advance(24 * 60 * MIN);
    await settle();
    expect(requests.map((r) => new Date(r.at).toISOString())).toEqual(['2026-11-01T05:30:00.000Z']);
  });

  it('a one-shot date job runs once, then has no next run', async () => {
    const { clock, scheduler, requests, add } = setup();
    add('once', { at: '2026-01-01T00:10:00', timezone: 'UTC' });
    scheduler.start();
    clock.advance(60 * MIN);
    await settle();
    expect(requests).toHaveLength(1);
    expect(scheduler.get('once')?.nextRunAt).toBeNull();
    expect(clock.pending, 'no timer left for a job without runs').toBe(0);
  });

  it('a failing run is reported as failed with the error, and counted', async () => {
    const { clock, scheduler, outcomes, add } = setup(undefined, () => Promise.reject(new Error('database is down')));
    add('report', { every: '1m', timezone: 'UTC' });
    scheduler.start();
    clock.advance(MIN);
    await settle();
    expect(outcomes).toHaveLength(1);
    const outcome = outcomes[0]!.outcome;
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && (outcome.error as Error).message).toBe('database is down');
    expect(scheduler.get('report')?.counts.failed).toBe(1);
  });

  it('a paused job does not run and does not catch up on resume; runNow runs it anyway', async () => {
    const { clock, scheduler, requests, add } = setup();
    add('tick', { every: '1m', timezone: 'UTC' });
    scheduler.start();
    scheduler.pause('tick');
    clock.advance(10 * MIN);
    await settle();
    expect(requests).toHaveLength(0);
    const manual = await scheduler.runNow('tick');
    expect(manual).toMatchObject({ kind: 'executed', run: { reason: 'manual' } });
    scheduler.resume('tick');
    clock.advance(MIN);
    await settle();
    expect(requests.map((r) => r.request.reason)).toEqual(['manual', 'schedule']);
  });
});

describe('Scheduler: misfires after downtime', () => {
  // The bot was down from 00:00 to 00:05:30; the store remembered the next run as 00:01.
  const down = { nextRunAt: Date.parse('2026-01-01T00:01:00Z') };
  const back = Date.parse('2026-01-01T00:05:30Z');
  const anchor = Date.parse('2026-01-01T00:00:00Z');

  it('without coalesce, each run that could not start within the grace time is job.missed, naming when it should have run', async () => {
    const { clock, scheduler, requests, outcomes, add, logs } = setup(back);
    add('tick', { every: '1m', timezone: 'UTC' }, { coalesce: false }, down, anchor);
    scheduler.start();
    clock.advance(0);
    await settle();
    await settle();
    expect(requests, 'nothing ran: every due run was more than 15 s late').toHaveLength(0);
    const missed = outcomes.map((o) => o.outcome).filter((o) => o.kind === 'missed');
    expect(missed.map((o) => new Date(o.scheduledAt).toISOString())).toEqual([
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:02:00.000Z',
      '2026-01-01T00:03:00.000Z',
      '2026-01-01T00:04:00.000Z',
      '2026-01-01T00:05:00.000Z',
    ]);
    expect(scheduler.get('tick')).toMatchObject({ nextRunAt: Date.parse('2026-01-01T00:06:00Z'), counts: { missed: 5, runs: 0 } });
    expect(logs().some((l) => l.level === 40 && /5 run\(s\) missed/.test(String(l.msg)))).toBe(true);
    const event = runEvent({ id: 'tick', method: 'send_message', trigger: createTrigger({ every: '1m', timezone: 'UTC' }) }, missed[0]!, back);
    expect(event).toMatchObject({ topic: 'job.missed', data: { job_id: 'tick', job_name: 'tick', method: 'send_message', scheduled_start: '2026-01-01T00:01:00.000Z', late_s: 270 } });
  });

  it('a run late by less than the grace time still runs; older ones are missed', async () => {
    const { clock, scheduler, requests, outcomes, add } = setup(Date.parse('2026-01-01T00:05:10Z'));
    add('tick', { every: '1m', timezone: 'UTC' }, { coalesce: false }, down, anchor);
    scheduler.start();
    clock.advance(0);
    await settle();
    await settle();
    expect(requests.map((r) => new Date(r.request.scheduledAt).toISOString())).toEqual(['2026-01-01T00:05:00.000Z']);
    expect(outcomes.filter((o) => o.outcome.kind === 'missed')).toHaveLength(4);
  });

  it('with coalesce, the missed runs become one catch-up run that says how many it stands for', async () => {
    const { clock, scheduler, requests, outcomes, add } = setup(back);
    add('tick', { every: '1m', timezone: 'UTC' }, { coalesce: true }, down, anchor);
    scheduler.start();
    clock.advance(0);
    await settle();
    await settle();
    expect(requests).toHaveLength(1);
    expect(requests[0]?.request).toEqual({ scheduledAt: Date.parse('2026-01-01T00:05:00Z'), reason: 'catch-up', coalesced: 5 });
    expect(outcomes.map((o) => o.outcome.kind)).toEqual(['executed']);
    const event = runEvent({ id: 'tick', method: 'm', trigger: createTrigger({ every: '1m', timezone: 'UTC' }) }, outcomes[0]!.outcome, back);
    expect(event.data).toMatchObject({ run: 'catch-up', coalesced_runs: 5, scheduled_start: '2026-01-01T00:05:00.000Z' });
  });

  it('a long downtime gives a bounded number of job.missed events: the first ones, then one with the count of the rest', async () => {
    // Every 10 s for a day: 8,640 due runs; the last two (23:59:50, 00:00:00) are within the 15 s grace, 8,638 missed.
    const { clock, scheduler, outcomes, add } = setup(Date.parse('2026-01-02T00:00:05Z'));
    add('fast', { every: '10s', timezone: 'UTC' }, { coalesce: false }, { nextRunAt: Date.parse('2026-01-01T00:00:10Z') }, anchor);
    scheduler.start();
    clock.advance(0);
    await settle();
    const missed = outcomes.map((o) => o.outcome).filter((o) => o.kind === 'missed');
    expect(missed).toHaveLength(MAX_MISSED_REPORTS);
    expect(missed.slice(0, -1).every((o) => o.count === 1)).toBe(true);
    expect(missed.at(-1)).toMatchObject({ count: 8_638 - (MAX_MISSED_REPORTS - 1), atLeast: false, lastScheduledAt: Date.parse('2026-01-01T23:59:40Z') });
    expect(scheduler.get('fast')?.counts).toMatchObject({ missed: 8_638, runs: 2 });
  });

  it('a downtime longer than the walk bound still ends: the count is reported as a lower bound', async () => {
    // Every second for a day: 86,400 due runs, more than MAX_WALK.
    const { clock, scheduler, outcomes, add } = setup(Date.parse('2026-01-02T00:00:00.500Z'));
    add('fastest', { every: '1s', timezone: 'UTC' }, { coalesce: false }, { nextRunAt: Date.parse('2026-01-01T00:00:01Z') }, anchor);
    scheduler.start();
    clock.advance(0);
    await settle();
    await settle();
    const missed = outcomes.map((o) => o.outcome).filter((o) => o.kind === 'missed');
    expect(missed.at(-1)).toMatchObject({ atLeast: true });
    expect(missed.at(-1)!.count).toBeGreaterThanOrEqual(MAX_WALK - MAX_MISSED_REPORTS);
    // The runs within the 15 s grace window (00:00:00 back to 23:59:46) still start, up to max_instances.
    expect(outcomes.filter((o) => o.outcome.kind === 'executed')).toHaveLength(3);
  });
});

describe('Scheduler: misfires while busy', () => {
  it('a run whose timer fires later than the grace time (the event loop was blocked) is job.missed; one within it runs', async () => {
    // Every timer fires 20 s late, as when the process is too busy to run it on time.
    class BusyClock extends ManualClock {
      override setTimeout(callback: () => void, ms: number): unknown {
        return super.setTimeout(callback, ms + 20_000);
      }
    }
    const clock = new BusyClock(Date.parse('2026-01-01T00:00:00Z'));
    const outcomes: RunOutcome[] = [];
    const scheduler = new Scheduler<string>({ clock, logger: captureLogger('info').logger, run: () => Promise.resolve('ok'), report: (_job, outcome) => outcomes.push(outcome) });
    scheduler.add({ id: 'strict', trigger: createTrigger({ every: '1m', timezone: 'UTC' }, clock.now()), policy: { ...policy, misfireGraceMs: 15_000 }, payload: 'strict' });
    scheduler.add({ id: 'lenient', trigger: createTrigger({ every: '1m', timezone: 'UTC' }, clock.now()), policy: { ...policy, misfireGraceMs: 30_000 }, payload: 'lenient' });
    scheduler.start();
    clock.advance(100_000);
    await settle();
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['executed', 'missed']);
    expect(outcomes.find((o) => o.kind === 'missed')).toMatchObject({ scheduledAt: Date.parse('2026-01-01T00:01:00Z'), lateMs: 20_000 });
    expect(scheduler.get('strict')?.counts.missed).toBe(1);
    expect(scheduler.get('lenient')?.counts.runs).toBe(1);
  });
});

describe('Scheduler: max_instances', () => {
  it('bounds concurrent runs of one job; a run due beyond it is skipped, counted and logged', async () => {
    const release: (() => void)[] = [];
    const started: number[] = [];
    const { clock, scheduler, add, logs } = setup(undefined, (_job, request) => {
      started.push(request.scheduledAt);
      return new Promise<void>((resolve) => release.push(resolve));
    });
    add('slow', { every: '10s', timezone: 'UTC' }, { maxInstances: 2 });
    scheduler.start();
    clock.advance(40_000);
    await settle();
    expect(started, 'two runs in progress, the third and fourth skipped').toHaveLength(2);
    expect(scheduler.get('slow')).toMatchObject({ running: 2, counts: { runs: 2, skipped: 2 } });
    const skipLogs = logs().filter((l) => /run\(s\) skipped, 2 already running \(max_instances 2\)/.test(String(l.msg)));
    expect(skipLogs).toHaveLength(2);
    expect(skipLogs[0]).toMatchObject({ schedule: 'slow', maxInstances: 2, skipped: 1 });
    // Once one finishes, the next due run starts again.
    release.shift()?.();
    await settle();
    clock.advance(10_000);
    await settle();
    expect(started).toHaveLength(3);
    expect(await scheduler.runNow('slow'), 'a manual run is bound by the same limit').toBe('skipped');
    for (const r of release) r();
    expect(await scheduler.stop(1_000)).toBe(true);
  });

  it('stop() waits for runs in progress, at most its bound', async () => {
    const { clock, scheduler, add } = setup(undefined, () => new Promise<void>(() => undefined));
    add('stuck', { every: '1m', timezone: 'UTC' });
    scheduler.start();
    clock.advance(MIN);
    await settle();
    const stopped = scheduler.stop(5_000);
    clock.advance(5_000);
    expect(await stopped).toBe(false);
  });
});

describe('runEvent: outcomes as catalog events', () => {
  const schedule = { id: 'daily_report', method: 'send_message', trigger: createTrigger({ cron: '30 14 * * 1-5', timezone: 'America/New_York' }) };
  const run: RunRequest = { scheduledAt: Date.parse('2026-12-01T19:30:00Z'), reason: 'schedule', coalesced: 1 };
  const now = Date.parse('2026-12-01T19:30:02Z');

  it('job.failed carries the error and its stack as the traceback; job.executed the duration in seconds and the result', () => {
    const failed = runEvent(schedule, { kind: 'failed', run, startedAt: run.scheduledAt, durationMs: 1_250, error: new Error('channel 123 not found') }, now);
    expect(failed.topic).toBe('job.failed');
    expect(failed.data).toMatchObject({ job_id: 'daily_report', job_name: 'daily_report', error: 'channel 123 not found', duration: 1.25, trigger: 'cron 30 14 * * 1-5 (America/New_York)', scheduled_start: '2026-12-01T19:30:00.000Z' });
    expect(String(failed.data.traceback)).toMatch(/^Error: channel 123 not found\n\s+at /);
    const executed = runEvent(schedule, { kind: 'executed', run, startedAt: run.scheduledAt, durationMs: 40, result: { message_id: '1' } }, now);
    expect(executed).toEqual({
      topic: 'job.executed',
      data: { job_id: 'daily_report', job_name: 'daily_report', method: 'send_message', trigger: 'cron 30 14 * * 1-5 (America/New_York)', timestamp: '2026-12-01T19:30:02.000Z', duration: 0.04, result: { message_id: '1' }, scheduled_start: '2026-12-01T19:30:00.000Z' },
    });
  });

  it('a huge result or a thrown non-Error is kept small and readable', () => {
    // Tried: a 1 MB string result, a thrown plain object, a thrown string.
    const big = runEvent(schedule, { kind: 'executed', run, startedAt: 0, durationMs: 0, result: 'x'.repeat(1_000_000) }, now);
    expect(String(big.data.result).length).toBeLessThan(4_100);
    expect(String(big.data.result)).toMatch(/truncated 996000 chars\]$/);
    expect(runEvent(schedule, { kind: 'failed', run, startedAt: 0, durationMs: 0, error: { code: 42 } }, now).data).toMatchObject({ error: '{"code":42}' });
    expect(runEvent(schedule, { kind: 'failed', run, startedAt: 0, durationMs: 0, error: 'boom' }, now).data.error).toBe('boom');
  });
});
