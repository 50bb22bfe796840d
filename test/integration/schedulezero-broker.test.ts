import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { Subscriber, type MalformedReport, type SubscriberOptions } from '../../src/transport/subscriber.ts';
import { startPythonBroker, type PythonBroker } from '../helpers/schedulezero-broker.ts';
import { captureLogger } from '../helpers/transport.ts';

const wait = { timeout: 15_000, interval: 25 };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(options: { rep?: boolean } = {}): Promise<PythonBroker> {
  const b = await startPythonBroker(options);
  cleanups.push(() => b.close());
  return b;
}

/** A Subscriber with the seed's topics (job., handler., scheduler.) unless told otherwise. */
async function subscriber(endpoints: string[], overrides: Partial<SubscriberOptions> = {}) {
  const log = captureLogger();
  const sub = new Subscriber({
    endpoints,
    topics: ['job.', 'handler.', 'scheduler.'],
    receiveHwm: 10_000,
    reconnectIntervalMs: 20,
    reconnectMaxIntervalMs: 100,
    maxPayloadBytes: 1_048_576,
    logger: log.logger,
    ...overrides,
  });
  const events: ZmqEvent[] = [];
  const malformed: MalformedReport[] = [];
  sub.on('event', (e) => events.push(e));
  sub.on('malformed', (m) => malformed.push(m));
  cleanups.push(() => sub.stop());
  await sub.start();
  return { sub, events, malformed, logs: log.lines };
}

const at = (offsetS: number) => new Date(Date.UTC(2026, 11, 1, 9, 30, offsetS, 123) + 0.456).toISOString().replace('Z', '456+00:00');

describe('ScheduleZero broker messages from a real pyzmq publisher', () => {
  it('the seed\'s topics receive them with no config change (prefix {"type" subscribed), each mapped onto the catalog; broken ones are counted by kind and the loop lives on', async () => {
    const py = await broker();
    const { sub, events, malformed, logs } = await subscriber([py.pub]);
    await py.send({ op: 'heartbeats', interval: 0.1 });
    await vi.waitFor(() => expect(events.some((e) => e.topic === 'scheduler.heartbeat')).toBe(true), wait);
    await py.send({ op: 'heartbeats', interval: 0 });

    const scheduleId = 'backup-handler_run_backup_1764581400.123456';
    await py.send({ op: 'event', class: 'TaskAdded', body: { timestamp: at(0), task_id: 'job_executor' } });
    await py.send({ op: 'event', class: 'ScheduleAdded', body: { timestamp: at(0), schedule_id: scheduleId, task_id: 'job_executor', next_fire_time: at(60) } });
    await py.send({ op: 'event', class: 'JobAcquired', body: { timestamp: at(1), job_id: 'c0ffee00-0000-4000-8000-000000000001', scheduler_id: 'h', task_id: 'job_executor', schedule_id: scheduleId, scheduled_start: at(0) } });
    await py.send({ op: 'released', schedule_id: scheduleId, outcome: 'error', error: "[Errno 28] No space left on device: '/var/backups/データ'" });
    await py.send({ op: 'event', class: 'JobExploded', body: { timestamp: at(2) } });
    await py.send({ op: 'raw_payload', payload: 'Sm9iUmVsZWFzZWQge30*!' });
    await py.send({ op: 'raw_payload', payload: Buffer.from('JobReleased {"timestamp": 2026-12-01').toString('base64') });
    await py.send({ op: 'released', schedule_id: scheduleId, outcome: 'success' });
    await py.send({ op: 'released', schedule_id: 'nightly_report_1', outcome: 'missed_start_deadline' });
    await py.send({ op: 'event', class: 'ScheduleRemoved', body: { timestamp: at(3), schedule_id: scheduleId, task_id: 'job_executor', finished: false } });
    await py.send({ op: 'catalog', topic: 'job.failed', payload: { job_id: 'catalog-1', error: 'on the same endpoint' } });

    const expected = ['job.task_added', 'job.scheduled', 'job.started', 'job.failed', 'job.executed', 'job.missed', 'job.removed', 'job.failed'];
    await vi.waitFor(() => expect(events.filter((e) => e.topic !== 'scheduler.heartbeat').map((e) => e.topic)).toEqual(expected), wait);
    const after = events.filter((e) => e.topic !== 'scheduler.heartbeat');

    const heartbeat = events.find((e) => e.topic === 'scheduler.heartbeat');
    expect(heartbeat?.data).toMatchObject({ deployment: py.instanceId, schedulezero: { type: 'heartbeat', instance_id: py.instanceId, address: py.pub } });
    expect(heartbeat?.meta).toMatchObject({ src: py.instanceId });
    expect(heartbeat?.meta.seq).toBeUndefined();

    const failed = after[3] as ZmqEvent;
    expect(failed.data).toMatchObject({
      job_id: scheduleId,
      outcome: 'error',
      error: "Exception: Handler returned error: [Errno 28] No space left on device: '/var/backups/データ'",
    });
    expect(failed.data.run_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(failed.data.traceback).toMatch(/^ {2}File ".*schedulezero_broker\.py", line \d+, in job_released\n.*\n {2}File ".*", line \d+, in failing_handler\n {4}raise Exception\(message\)$/s);
    expect(failed.data.duration).toBeCloseTo(1.25, 2);
    expect(failed.data.scheduled_start).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    const body = (failed.data.schedulezero as { body: Record<string, unknown> }).body;
    expect(Object.keys(body)).toEqual(['timestamp', 'job_id', 'scheduler_id', 'task_id', 'schedule_id', 'scheduled_start', 'started_at', 'outcome', 'exception_type', 'exception_message', 'exception_traceback']);
    expect(Array.isArray(body.exception_traceback)).toBe(true);

    const executed = after[4] as ZmqEvent;
    expect(executed.data).toMatchObject({ job_id: scheduleId, outcome: 'success' });
    expect(executed.data.duration).toBeCloseTo(1.25, 2);
    expect((executed.data.schedulezero as { body: Record<string, unknown> }).body).toMatchObject({ exception_type: null, exception_message: null, exception_traceback: null });
    expect(after[5]?.data).toMatchObject({ job_id: 'nightly_report_1', outcome: 'missed_start_deadline' });
    expect(after[5]?.data.scheduled_start).toEqual(expect.any(String));
    expect(after[7]).toMatchObject({ topic: 'job.failed', data: { job_id: 'catalog-1' } });

    expect(malformed.map((m) => [m.kind, m.dropped])).toEqual([
      ['unknown_event_class', true],
      ['bad_base64', true],
      ['invalid_notification', true],
    ]);
    expect(sub.stats().malformed).toEqual({ unknown_event_class: 1, bad_base64: 1, invalid_notification: 1 });
    const warnings = logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('malformed ZeroMQ message'));
    expect(warnings.map((w) => [w.kind, typeof w.sample === 'string' && w.sample.length > 0])).toEqual([
      ['unknown_event_class', true],
      ['bad_base64', true],
      ['invalid_notification', true],
    ]);
    expect(warnings[0]?.sample).toMatch(/^JobExploded \{/);
    // Without sequence numbers the publisher is known, but what it lost is not.
    expect(sub.publishers()).toEqual([expect.objectContaining({ src: py.instanceId, sequenced: false, lost: 0 })]);
    expect(sub.lastHeardFrom(py.instanceId)).toEqual(expect.any(Number));
  });

  it('the topics filter applies after mapping: with topics [job.failed] heartbeats and successes are counted as filtered, not delivered', async () => {
    const py = await broker();
    const { sub, events } = await subscriber([py.pub], { topics: ['job.failed'] });
    await py.send({ op: 'heartbeats', interval: 0.1 });
    await vi.waitFor(() => expect(sub.stats().filtered).toBeGreaterThan(0), wait);
    await py.send({ op: 'released', schedule_id: 's1', outcome: 'success' });
    await py.send({ op: 'released', schedule_id: 's1', outcome: 'error', error: 'boom' });
    await vi.waitFor(() => expect(events.map((e) => e.topic)).toEqual(['job.failed']), wait);
    const stats = sub.stats();
    expect(stats.received).toBe(stats.delivered + stats.filtered);
    expect(stats.delivered).toBe(1);
  });
});

describe('an endpoint that is not a PUB socket', () => {
  it('a REP socket (ScheduleZero\'s registration server) as endpoint is reported: which endpoint, not a PUB, where the broker listens; never "connected"', async () => {
    const py = await broker({ rep: true });
    const rep = py.rep as string;
    const { sub, logs } = await subscriber([rep, py.pub]);
    const problems: unknown[] = [];
    sub.on('endpoint-problem', (p) => problems.push(p));
    await py.send({ op: 'heartbeats', interval: 0.1 });
    await vi.waitFor(() => expect(sub.stats().problems.map((p) => p.endpoint)).toEqual([rep]), wait);
    const problem = sub.stats().problems[0];
    expect(problem?.problem).toBe('not_a_publisher');
    expect(problem?.message).toContain(`${rep} is not a ZeroMQ PUB socket`);
    expect(problem?.message).toContain("ScheduleZero's event broker publishes on tcp://127.0.0.1:5555 by default");
    await vi.waitFor(() => expect(sub.stats().connected).toEqual([py.pub]), wait);
    const errors = logs().filter((l) => l.level === 50 && l.endpoint === rep);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toBe(problem?.message);
    expect(logs().filter((l) => l.msg === 'ZeroMQ publisher connected').map((l) => l.endpoint)).toEqual([py.pub]);
  });
});
