import { setTimeout as sleep } from 'node:timers/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { App, type AppStatus } from '../../src/app.ts';
import { parseConfig, type ConfigInput } from '../../src/config/index.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { defineModule } from '../../src/pipeline/module.ts';
import type { Dispatcher } from '../../src/pipeline/dispatcher.ts';
import type { MalformedReport, Subscriber } from '../../src/transport/subscriber.ts';
import { event } from '../helpers/pipeline.ts';
import { captureLogger, ipcDir } from '../helpers/transport.ts';

// These tests drive the App's receive path by emitting on its real Subscriber, exactly as the
// receive loop does; the ZeroMQ socket itself is exercised by the integration tests.
const cleanups: (() => Promise<void> | void)[] = [];

// The App keeps its Subscriber and Dispatcher private; only these tests reach in, to drive the receive path.
function parts<X extends object>(app: App<X>): { subscriber: Subscriber; dispatcher: Dispatcher<object> } {
  return app as unknown as { subscriber: Subscriber; dispatcher: Dispatcher<object> };
}
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function makeApp(config: ConfigInput, modules: Parameters<typeof defineModule>[0][] = [], http = false) {
  const dir = ipcDir();
  const { logger, lines } = captureLogger('info');
  const app = new App({
    config: parseConfig({ zmq_pub_address: dir.endpoint('pub'), http: { port: 0 }, ...config }),
    logger,
    metrics: new Metrics({ defaultMetrics: false }),
    modules: modules.map((m) => defineModule(m)),
    http,
  });
  cleanups.push(dir.remove, async () => void (await app.stop({ drainTimeoutMs: 0 })));
  return { app, logs: lines };
}

function malformed(kind: MalformedReport['kind'], dropped: boolean, topic?: string): MalformedReport {
  return { kind, detail: kind, sample: '', topic, dropped };
}

function invariant(stats: AppStatus): void {
  expect(stats.counts.received).toBe(stats.counts.dispatched + stats.counts.dropped.total + stats.queue.depth);
}

describe('App accounting', () => {
  it('keeps received = dispatched + dropped + queued at every moment through a flood of 100,000 events into capacity 1,000 with a slow handler', async () => {
    const seen = { failed: 0, all: 0 };
    const checks: AppStatus[] = [];
    const { app } = makeApp({ queue: { capacity: 1_000 }, dispatcher: { concurrency: 8, handler_timeout_ms: 10_000, max_events_per_second: null } }, [
      {
        name: 'slow',
        setup(ctx) {
          ctx.on('', async (e) => {
            // Checked from inside a handler, while the flood is still arriving.
            if (seen.all % 97 === 0) checks.push(app.status());
            seen.all++;
            if (e.topic === 'job.failed') seen.failed++;
            await sleep(1);
          });
        },
      },
    ]);
    await app.start();
    const topics = ['job.executed', 'job.scheduled', 'scheduler.heartbeat', 'handler.ping', 'job.executed', 'job.removed', 'scheduler.heartbeat', 'handler.ping', 'job.executed', 'job.scheduled'];
    let sentFailed = 0;
    for (let batch = 0; batch < 200; batch++) {
      for (let i = 0; i < 500; i++) {
        const n = batch * 500 + i;
        // One job.failed in a hundred: it outranks everything else, so none may be dropped.
        const topic = n % 100 === 0 ? 'job.failed' : (topics[n % topics.length] as string);
        if (topic === 'job.failed') sentFailed++;
        parts(app).subscriber.emit('event', event(topic, { n }));
      }
      parts(app).subscriber.emit('malformed', malformed('single_frame', true));
      parts(app).subscriber.emit('malformed', malformed('invalid_json', false, 'job.x'));
      invariant(app.status());
      await nextTurn();
    }
    const result = await app.stop({ drainTimeoutMs: 120_000 });
    expect(result).toEqual({ drained: true, droppedOnShutdown: 0 });

    const stats = app.status();
    for (const s of checks) invariant(s);
    expect(checks.length).toBeGreaterThan(10);
    invariant(stats);
    expect(stats.counts.received).toBe(100_000 + 200);
    expect(stats.counts.dropped.malformed).toBe(200);
    expect(stats.counts.dropped.overflow).toBeGreaterThan(0);
    expect(stats.queue.depth).toBe(0);
    expect(stats.counts.dispatched).toBe(seen.all);
    expect(seen.failed).toBe(sentFailed);

    const m = app.metrics;
    expect(await m.value(m.eventsReceived)).toBe(stats.counts.received);
    expect(await m.value(m.eventsDispatched)).toBe(stats.counts.dispatched);
    expect(await m.value(m.eventsDropped, { reason: 'overflow' })).toBe(stats.counts.dropped.overflow);
    expect(await m.value(m.eventsDropped, { reason: 'malformed' })).toBe(200);
    expect(await m.value(m.framesMalformed, { kind: 'invalid_json' })).toBe(200);
  });

  it('drops what is still queued at the drain bound with reason "shutdown", keeping the invariant (handler blocks, 10 queued, bound 50 ms)', async () => {
    const { app } = makeApp({ dispatcher: { concurrency: 1, handler_timeout_ms: 60_000, max_events_per_second: null } }, [
      { name: 'stuck', setup: (ctx) => void ctx.on('', () => sleep(5_000)) },
    ]);
    await app.start();
    for (let i = 0; i < 11; i++) parts(app).subscriber.emit('event', event('job.executed'));
    const result = await app.stop({ drainTimeoutMs: 50 });
    expect(result).toEqual({ drained: false, droppedOnShutdown: 10 });
    const stats = app.status();
    expect(stats.counts.dropped.shutdown).toBe(10);
    invariant(stats);
    expect(await app.metrics.value(app.metrics.eventsDropped, { reason: 'shutdown' })).toBe(10);
  });

  it('restartListener() keeps queued events and says so: 5 queued behind a blocked handler are reported kept and all dispatched after the restart', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let handled = 0;
    const { app } = makeApp({ dispatcher: { concurrency: 1, handler_timeout_ms: 60_000, max_events_per_second: null } }, [
      {
        name: 'gated',
        setup: (ctx) =>
          void ctx.on('', async () => {
            await gate;
            handled++;
          }),
      },
    ]);
    await app.start();
    for (let i = 0; i < 6; i++) parts(app).subscriber.emit('event', event('job.executed'));
    expect(app.status().queue.depth).toBe(5);
    // No publisher is bound: the outcome reports the endpoint as not connected rather than waiting.
    const outcome = await app.restartListener({ connectTimeoutMs: 0 });
    // Nothing was connected, so there was nothing in flight to wait for.
    expect(outcome).toMatchObject({ state: 'running', handover: 'quiet', kept: 5, lost: 0, duplicates: 0, endpoints: [{ endpoint: app.status().listener.endpoints[0], connected: false }] });
    expect(app.status().listener).toMatchObject({ state: 'running', restarts: 1 });
    expect(app.status().queue.depth).toBe(5);
    release();
    await app.stop({ drainTimeoutMs: 5_000 });
    expect(handled).toBe(6);
  });
});

describe('App observability', () => {
  it('/metrics has the names and exact values after a known input: 3 job events, 1 heartbeat, 1 dropped and 1 salvaged malformed, 1 handler throw, 1 unhandled', async () => {
    const { app, logs } = makeApp({ topics: ['job.', 'scheduler.', 'handler.'] }, [
      {
        name: 'jobs',
        setup(ctx) {
          ctx.on('job.', (e) => {
            if (e.topic === 'job.failed') throw new Error('boom');
          });
          ctx.on('scheduler.', () => undefined);
        },
      },
    ], true);
    await app.start();
    const started = logs().find((l) => typeof l.url === 'string');
    expect(started?.msg).toMatch(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect(started?.url).toBe(app.httpUrl);

    for (const topic of ['job.failed', 'job.executed', 'job.scheduled', 'scheduler.heartbeat', 'handler.ping']) parts(app).subscriber.emit('event', event(topic));
    parts(app).subscriber.emit('malformed', malformed('single_frame', true, 'job.broken'));
    parts(app).subscriber.emit('malformed', malformed('not_object', false, 'job.odd'));
    parts(app).subscriber.emit('event', event('job.odd', { value: 7 }));
    parts(app).subscriber.emit('gap', { src: 'p1', expected: 5, got: 9, lost: 4 });
    await parts(app).dispatcher.drain(5_000);

    const res = await fetch(`${app.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const sample = (line: string): void => expect(text.split('\n')).toContain(line);
    sample('zmq_notify_events_received_total{topic_prefix="job."} 5');
    sample('zmq_notify_events_received_total{topic_prefix="scheduler."} 1');
    sample('zmq_notify_events_received_total{topic_prefix="handler."} 1');
    sample('zmq_notify_events_dispatched_total 6');
    sample('zmq_notify_events_dropped_total{reason="malformed"} 1');
    sample('zmq_notify_events_unhandled_total 1');
    sample('zmq_notify_events_lost_total 4');
    sample('zmq_notify_frames_malformed_total{kind="single_frame"} 1');
    sample('zmq_notify_frames_malformed_total{kind="not_object"} 1');
    sample('zmq_notify_handler_errors_total{handler="jobs:job.",reason="throw"} 1');
    sample('zmq_notify_queue_depth 0');
    sample('zmq_notify_queue_capacity 10000');
    sample('zmq_notify_listener_up 1');
    expect(text).toMatch(/^zmq_notify_handler_seconds_count \d+$/m);
  });

  it('/healthz answers 200 with state "running", then 503 with state "stopped" once the listener stops', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { app } = makeApp({ queue: { capacity: 123 }, dispatcher: { concurrency: 1, handler_timeout_ms: 60_000, max_events_per_second: null } }, [
      { name: 'gated', setup: (ctx) => void ctx.on('', () => gate) },
    ], true);
    cleanups.push(() => release());
    await app.start();
    // One runs (and waits), three stay queued.
    for (let i = 0; i < 4; i++) parts(app).subscriber.emit('event', event('job.x'));

    const up = await fetch(`${app.httpUrl}/healthz`);
    expect(up.status).toBe(200);
    const body = (await up.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', listener: { state: 'running', endpoints: parts(app).subscriber.endpoints, connected: [] }, queue: { depth: 3, capacity: 123 } });
    expect(body.last_event_age_seconds).toBeNull();
    expect(Array.isArray(body.publishers)).toBe(true);

    await parts(app).subscriber.stop();
    const down = await fetch(`${app.httpUrl}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'unavailable', listener: { state: 'stopped' } });
    const metrics = await (await fetch(`${app.httpUrl}/metrics`)).text();
    expect(metrics.split('\n')).toContain('zmq_notify_listener_up 0');
    expect(metrics.split('\n')).toContain('zmq_notify_queue_depth 3');
    expect((await fetch(`${app.httpUrl}/nope`)).status).toBe(404);
  });

  it('status() lists modules, handlers (module + prefix), endpoints, topics and uptime', async () => {
    const { app } = makeApp({ topics: ['job.'] }, [
      {
        name: 'watcher',
        setup(ctx) {
          ctx.on('job.failed', () => undefined);
          ctx.on('', () => undefined);
        },
      },
    ]);
    await app.start();
    const stats = app.status();
    expect(stats.modules).toEqual(['watcher']);
    expect(stats.handlers).toEqual([
      { module: 'watcher', prefix: 'job.failed', name: 'watcher:job.failed' },
      { module: 'watcher', prefix: '', name: 'watcher:*' },
    ]);
    expect(stats.listener).toMatchObject({ state: 'running', topics: ['job.'], endpoints: parts(app).subscriber.endpoints });
    expect(stats.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(stats.httpUrl).toBeUndefined();
  });

  it('gives each module the context extension the program provides', async () => {
    const dir = ipcDir();
    const posted: string[] = [];
    const app = new App<{ post: (channel: string, text: string) => void }>({
      config: parseConfig({ zmq_pub_address: dir.endpoint('pub') }),
      logger: captureLogger().logger,
      metrics: new Metrics({ defaultMetrics: false }),
      http: false,
      extendContext: (core) => ({ post: (channel, text) => void posted.push(`${core.name}>${channel}:${text}`) }),
      modules: [defineModule<{ post: (channel: string, text: string) => void }>({ name: 'poster', setup: (ctx) => void ctx.on('job.', (e) => ctx.post('42', e.topic)) })],
    });
    cleanups.push(dir.remove, async () => void (await app.stop({ drainTimeoutMs: 0 })));
    await app.start();
    parts(app).subscriber.emit('event', event('job.failed'));
    await parts(app).dispatcher.drain(5_000);
    expect(posted).toEqual(['poster>42:job.failed']);
  });
});
