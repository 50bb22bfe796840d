import { describe, expect, it } from 'vitest';
import { severities, type Severity } from '../../src/config/schema.ts';
import { channelFor, routeOf } from '../../src/handlers/routing.ts';
import { isFailureOrResolution, severityOf, shouldPost, type Postable } from '../../src/handlers/severity.ts';

const ev = (topic: string, data: Record<string, unknown> = {}): Postable => ({ topic, data });

describe('severityOf: the documented table', () => {
  it.each<[string, Postable, Severity]>([
    ['job.failed', ev('job.failed'), 'error'],
    ['job.executed', ev('job.executed'), 'info'],
    ['job.removed', ev('job.removed'), 'info'],
    ['job.scheduled', ev('job.scheduled'), 'debug'],
    ['handler.registered', ev('handler.registered'), 'info'],
    ['handler.unregistered', ev('handler.unregistered'), 'warning'],
    ['handler.ping status "ok"', ev('handler.ping', { status: 'ok' }), 'debug'],
    ['handler.ping status "OK" (case)', ev('handler.ping', { status: 'OK' }), 'debug'],
    ['handler.ping without a status', ev('handler.ping'), 'debug'],
    ['handler.ping status "down"', ev('handler.ping', { status: 'down' }), 'warning'],
    ['handler.ping status "degraded" (not ok)', ev('handler.ping', { status: 'degraded' }), 'warning'],
    ['handler.ping status false', ev('handler.ping', { status: false }), 'warning'],
    ['scheduler.started', ev('scheduler.started'), 'info'],
    ['scheduler.stopped', ev('scheduler.stopped'), 'warning'],
    ['scheduler.heartbeat', ev('scheduler.heartbeat'), 'debug'],
    ['job.missed (a run that never happened)', ev('job.missed'), 'error'],
    ['job.cancelled', ev('job.cancelled'), 'info'],
    ['job.started (ScheduleZero JobAcquired)', ev('job.started'), 'debug'],
    ['job.added (ScheduleZero JobAdded)', ev('job.added'), 'debug'],
    ['job.task_added (ScheduleZero TaskAdded)', ev('job.task_added'), 'debug'],
    ['an unknown job.* topic', ev('job.paused'), 'info'],
    ['a topic outside the catalog', ev('custom.thing'), 'info'],
    ['a prototype key as topic', ev('constructor'), 'info'],
    ['"recovered" notice (ranks as the failure it resolves)', { notice: 'recovered' }, 'error'],
    ['"scheduler silent" notice', { notice: 'scheduler_silent' }, 'error'],
    ['"scheduler back" notice (ranks as the silence it resolves)', { notice: 'scheduler_back' }, 'error'],
  ])('%s → %s', (_what, subject, expected) => {
    expect(severityOf(subject)).toBe(expected);
  });
});

describe('shouldPost', () => {
  const all = { notify_only_on_failure: false, min_severity: 'debug' as Severity };

  it('min_severity posts what ranks at or above it, for every level', () => {
    const byLevel: Record<Severity, Postable> = {
      debug: ev('job.scheduled'),
      info: ev('job.executed'),
      warning: ev('scheduler.stopped'),
      error: ev('job.failed'),
      critical: ev('job.failed'),
    };
    for (const min of severities) {
      for (const level of ['debug', 'info', 'warning', 'error'] as const) {
        const expected = severities.indexOf(level) >= severities.indexOf(min);
        expect(shouldPost(byLevel[level], { notify_only_on_failure: false, min_severity: min }), `${level} event under min ${min}`).toBe(expected);
      }
    }
  });

  it('the default filters (info) drop job.scheduled and healthy pings, keep executed, removed, failures, warnings', () => {
    const filters = { notify_only_on_failure: false, min_severity: 'info' as Severity };
    expect(shouldPost(ev('job.scheduled'), filters)).toBe(false);
    expect(shouldPost(ev('handler.ping', { status: 'ok' }), filters)).toBe(false);
    expect(shouldPost(ev('handler.ping', { status: 'timeout' }), filters)).toBe(true);
    for (const topic of ['job.executed', 'job.removed', 'job.failed', 'handler.registered', 'handler.unregistered', 'scheduler.started', 'scheduler.stopped']) {
      expect(shouldPost(ev(topic), filters), topic).toBe(true);
    }
  });

  it('notify_only_on_failure passes failures and their resolutions only', () => {
    const filters = { ...all, notify_only_on_failure: true };
    const passed = ['job.failed', 'job.missed', 'scheduler.stopped'];
    const blocked = ['job.executed', 'job.scheduled', 'job.removed', 'handler.registered', 'handler.unregistered', 'handler.ping', 'scheduler.started', 'scheduler.heartbeat', 'job.paused', 'job.started'];
    for (const topic of passed) expect(shouldPost(ev(topic), filters), topic).toBe(true);
    for (const topic of blocked) expect(shouldPost(ev(topic), filters), topic).toBe(false);
    for (const notice of ['recovered', 'scheduler_silent', 'scheduler_back'] as const) expect(shouldPost({ notice }, filters), notice).toBe(true);
    expect(isFailureOrResolution(ev('handler.ping', { status: 'down' }))).toBe(false);
  });

  it('both filters apply together: failure-only and min_severity error drop a stopped scheduler (warning)', () => {
    const filters = { notify_only_on_failure: true, min_severity: 'error' as Severity };
    expect(shouldPost(ev('scheduler.stopped'), filters)).toBe(false);
    expect(shouldPost(ev('job.failed'), filters)).toBe(true);
    expect(shouldPost({ notice: 'recovered' }, filters)).toBe(true);
  });

  it('min_severity critical posts none of the built-in kinds', () => {
    const filters = { notify_only_on_failure: false, min_severity: 'critical' as Severity };
    expect(shouldPost(ev('job.failed'), filters)).toBe(false);
    expect(shouldPost({ notice: 'scheduler_silent' }, filters)).toBe(false);
  });
});

describe('routing', () => {
  it.each([
    ['job.failed', 'job_failed'],
    ['job.missed', 'job_failed'],
    ['job.missed_x', 'job_notices'],
    ['job.cancelled', 'job_notices'],
    ['job.executed', 'job_notices'],
    ['job.scheduled', 'job_notices'],
    ['job.removed', 'job_notices'],
    ['job.failed_permanently', 'job_notices'],
    ['handler.registered', 'handler_notices'],
    ['handler.unregistered', 'handler_notices'],
    ['handler.ping', 'handler_notices'],
    ['scheduler.started', 'scheduler_notices'],
    ['scheduler.stopped', 'scheduler_notices'],
    ['scheduler.heartbeat', 'heartbeat'],
    ['custom.event', undefined],
    ['jobfailed', undefined],
    ['', undefined],
  ])('routeOf(%j) = %j', (topic, route) => {
    expect(routeOf(topic)).toBe(route);
  });

  const all = { job_failed: '1', job_executed: '2', handler_status: '3', scheduler: '4' };

  it('each route uses its own channel when set', () => {
    expect(channelFor('job_failed', all)).toEqual({ channelId: '1', key: 'job_failed' });
    expect(channelFor('job_notices', all)).toEqual({ channelId: '2', key: 'job_executed' });
    expect(channelFor('handler_notices', all)).toEqual({ channelId: '3', key: 'handler_status' });
    expect(channelFor('scheduler_notices', all)).toEqual({ channelId: '4', key: 'scheduler' });
    expect(channelFor('scheduler_health', all)).toEqual({ channelId: '4', key: 'scheduler' });
  });

  it('scheduler notices fall back to handler_status; the watchdog further to job_failed; job routes never fall back', () => {
    const cog = { job_failed: '1', job_executed: '2', handler_status: '3' };
    expect(channelFor('scheduler_notices', cog)).toEqual({ channelId: '3', key: 'handler_status' });
    expect(channelFor('scheduler_health', cog)).toEqual({ channelId: '3', key: 'handler_status' });
    const failuresOnly = { job_failed: '1', scheduler: null };
    expect(channelFor('scheduler_notices', failuresOnly)).toBeUndefined();
    expect(channelFor('scheduler_health', failuresOnly)).toEqual({ channelId: '1', key: 'job_failed' });
    expect(channelFor('job_notices', failuresOnly)).toBeUndefined();
    expect(channelFor('handler_notices', failuresOnly)).toBeUndefined();
    expect(channelFor('job_failed', {})).toBeUndefined();
  });
});
