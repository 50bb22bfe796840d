import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type ConfigInput } from '../../src/config/index.ts';
import { JobScheduler, ScheduleError } from '../../src/jobs/scheduler/job-scheduler.ts';
import type { RunEvent } from '../../src/jobs/scheduler/run-events.ts';
import type { ScheduleDefinition } from '../../src/jobs/scheduler/schedule.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { captureLogger } from '../helpers/transport.ts';

// The scheduler's persistence against a real SQLite file; time is a ManualClock, and the job
// methods are a small function standing in for the registry (its own tests cover the registry).
let dir: string;
const opened: Store[] = [];
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const T0 = Date.parse('2026-01-01T00:00:00Z');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zmq-notify-sched-'));
});
afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One run of the bot: a scheduler over the same database file, on a clock starting at `now`. */
function boot(config: ConfigInput, now: number, fail: ReadonlySet<string> = new Set()) {
  const store = openStore({ path: 'sched.db', baseDir: dir });
  opened.push(store);
  const clock = new ManualClock(now);
  const events: RunEvent[] = [];
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  const { logger, lines } = captureLogger('info');
  const scheduler = new JobScheduler({
    config: parseConfig(config),
    logger,
    store,
    clock,
    call: (method, params) => {
      calls.push({ method, params });
      return fail.has(method) ? Promise.reject(new Error(`${method} broke`)) : Promise.resolve({ ok: method });
    },
    emit: (event) => {
      events.push({ topic: event.topic, data: event.data });
      return event.src === 'zmq-notify/scheduler';
    },
    checkMethod: (method) => (['send_message', 'post_report', 'explode'].includes(method) ? undefined : `Unknown method: ${method}`),
  });
  const shutdown = async (): Promise<void> => {
    await scheduler.stop(1_000);
    store.close();
    opened.splice(opened.indexOf(store), 1);
  };
  return { scheduler, clock, events, calls, logs: lines, shutdown };
}

const discordSchedule = (id: string, spec: ScheduleDefinition['trigger'], method = 'send_message'): ScheduleDefinition => ({
  id,
  trigger: spec,
  method,
  params: { channel_id: '42', content: `from ${id}` },
  sendAlert: false,
  overrides: {},
  origin: 'discord',
  createdBy: '<@1>',
});

describe('JobScheduler with the store', () => {
  it('runs config schedules as job.executed / job.failed events carrying the method\'s result or error', async () => {
    const { scheduler, clock, events, calls } = boot(
      {
        schedules: [
          { id: 'tick', every: '1m', method: 'send_message', params: { channel_id: '42', content: 'tick' } },
          { id: 'boom', every: '1m', method: 'explode' },
        ],
      },
      T0,
      new Set(['explode']),
    );
    scheduler.start();
    clock.advance(60_000);
    await settle();
    expect(calls).toEqual([
      { method: 'send_message', params: { channel_id: '42', content: 'tick' } },
      { method: 'explode', params: {} },
    ]);
    const byTopic = Object.fromEntries(events.map((e) => [e.topic, e.data]));
    expect(byTopic['job.executed']).toMatchObject({ job_id: 'tick', job_name: 'tick', method: 'send_message', result: { ok: 'send_message' }, duration: 0, trigger: 'every 1m' });
    expect(byTopic['job.failed']).toMatchObject({ job_id: 'boom', error: 'explode broke' });
    expect(String(byTopic['job.failed']?.traceback)).toMatch(/explode broke/);
  });

  it('a schedule added from Discord survives a restart and keeps running; its last and next run are remembered', async () => {
    const first = boot({}, T0);
    first.scheduler.start();
    first.scheduler.add(discordSchedule('hourly', { cron: '0 * * * *', timezone: 'Europe/Berlin' }));
    first.clock.advance(3_600_000);
    await settle();
    expect(first.calls).toHaveLength(1);
    await first.shutdown();

    const second = boot({}, T0 + 3_600_000 + 5_000);
    second.scheduler.start();
    const view = second.scheduler.get('hourly');
    expect(view).toMatchObject({ lastRunAt: T0 + 3_600_000, nextRunAt: T0 + 7_200_000, payload: { origin: 'discord', createdBy: '<@1>', params: { content: 'from hourly' } } });
    second.clock.advance(3_600_000);
    await settle();
    expect(second.calls.map((c) => c.method)).toEqual(['send_message']);
  });

  it('after downtime without coalesce, each run due meanwhile is job.missed; with coalesce one catch-up run', async () => {
    const config = (coalesce: boolean): ConfigInput => ({ scheduler: { job_defaults: { coalesce } }, schedules: [{ id: 'tick', every: '1m', method: 'send_message' }] });
    const first = boot(config(false), T0);
    first.scheduler.start();
    first.clock.advance(60_000);
    await settle();
    await first.shutdown();
    // Down from 00:01:00 to 00:05:30: runs at 00:02 … 00:05 fell due.
    const second = boot(config(false), T0 + 330_000);
    second.scheduler.start();
    second.clock.advance(0);
    await settle();
    expect(second.events.map((e) => [e.topic, e.data.scheduled_start])).toEqual([
      ['job.missed', '2026-01-01T00:02:00.000Z'],
      ['job.missed', '2026-01-01T00:03:00.000Z'],
      ['job.missed', '2026-01-01T00:04:00.000Z'],
      ['job.missed', '2026-01-01T00:05:00.000Z'],
    ]);
    expect(second.calls).toHaveLength(0);
    await second.shutdown();
    // Down again from 00:05:30 to 00:10:30, now with coalesce: one run for 00:06 … 00:10.
    const third = boot(config(true), T0 + 630_000);
    third.scheduler.start();
    third.clock.advance(0);
    await settle();
    expect(third.calls).toHaveLength(1);
    expect(third.events).toHaveLength(1);
    expect(third.events[0]).toMatchObject({ topic: 'job.executed', data: { run: 'catch-up', coalesced_runs: 5, scheduled_start: '2026-01-01T00:10:00.000Z' } });
  });

  it('config schedules are re-read at every start: the config wins for its ids, a changed trigger starts afresh, a removed one is forgotten', async () => {
    const first = boot({ schedules: [{ id: 'report', cron: '0 9 * * *', method: 'send_message' }, { id: 'old', every: '1h', method: 'send_message' }] }, T0);
    first.scheduler.start();
    first.scheduler.add(discordSchedule('mine', { every: '5m', timezone: 'UTC' }));
    await first.shutdown();

    const second = boot(
      {
        scheduler: { timezone: 'America/New_York' },
        schedules: [
          { id: 'report', cron: '0 9 * * *', method: 'post_report' },
          { id: 'mine', every: '10m', method: 'send_message', params: { content: 'config' } },
        ],
      },
      T0 + 1_000,
    );
    second.scheduler.start();
    expect(second.scheduler.list().map((v) => v.id).sort()).toEqual(['mine', 'report']);
    // The zone is now New York's: 09:00 EST is 14:00 UTC.
    expect(second.scheduler.get('report')).toMatchObject({ payload: { method: 'post_report', trigger: { cron: '0 9 * * *', timezone: 'America/New_York' } }, nextRunAt: Date.parse('2026-01-01T14:00:00Z') });
    expect(second.scheduler.get('mine')).toMatchObject({ payload: { origin: 'config', params: { content: 'config' }, trigger: { every: '10m' } } });
    await second.shutdown();
    // A third start without the config entries keeps only what Discord added (none left: the config took "mine").
    const third = boot({}, T0 + 2_000);
    third.scheduler.start();
    expect(third.scheduler.list()).toEqual([]);
  });

  it('pause survives a restart; remove is refused for config schedules and forgets Discord ones', async () => {
    const first = boot({ schedules: [{ id: 'cfg', every: '1m', method: 'send_message' }] }, T0);
    first.scheduler.start();
    first.scheduler.add(discordSchedule('mine', { every: '1m', timezone: 'UTC' }));
    first.scheduler.pause('cfg');
    expect(() => first.scheduler.remove('cfg')).toThrow(/defined in the config file/);
    first.scheduler.remove('mine');
    await first.shutdown();
    const second = boot({ schedules: [{ id: 'cfg', every: '1m', method: 'send_message' }] }, T0 + 1_000);
    second.scheduler.start();
    expect(second.scheduler.list().map((v) => [v.id, v.paused])).toEqual([['cfg', true]]);
    second.clock.advance(300_000);
    await settle();
    expect(second.calls).toHaveLength(0);
  });

  it('refuses a bad schedule from Discord with why: unknown method, taken id, bad trigger, no such schedule', () => {
    const { scheduler } = boot({ schedules: [{ id: 'cfg', every: '1m', method: 'send_message' }] }, T0);
    scheduler.start();
    // Tried: a method no sprocket has, the id of a config schedule, a bad cron, an unknown zone, removing a missing id.
    expect(() => scheduler.add(discordSchedule('x', { every: '1m', timezone: 'UTC' }, 'nope'))).toThrow(new ScheduleError('Unknown method: nope'));
    expect(() => scheduler.add(discordSchedule('cfg', { every: '1m', timezone: 'UTC' }))).toThrow(/exists already \(from the config file\)/);
    expect(() => scheduler.add(discordSchedule('y', { cron: '99 * * * *', timezone: 'UTC' }))).toThrow(/cron: got "99 \* \* \* \*", expected a cron expression/);
    expect(() => scheduler.add(discordSchedule('z', { cron: '* * * * *', timezone: 'Mars/Base' }))).toThrow(/timezone: got "Mars\/Base", expected an IANA time zone/);
    expect(() => scheduler.remove('missing')).toThrow(/no schedule "missing"/);
    expect(scheduler.list().map((v) => v.id)).toEqual(['cfg']);
  });
});
