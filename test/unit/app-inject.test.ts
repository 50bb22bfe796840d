import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { defineModule } from '../../src/pipeline/module.ts';
import { captureLogger, ipcDir } from '../helpers/transport.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('App.inject: the bot\'s own events', () => {
  it('go through the same queue and handlers as received ones, counted as received, with their source; refused once stopping', async () => {
    const dir = ipcDir();
    const seen: ZmqEvent[] = [];
    const app = new App({
      config: parseConfig({ zmq_pub_address: dir.endpoint('pub'), topics: ['handler.'] }),
      logger: captureLogger('info').logger,
      metrics: new Metrics({ defaultMetrics: false }),
      http: false,
      modules: [defineModule({ name: 'spy', setup: (ctx) => void ctx.on('job.', (event) => void seen.push(event)) })],
    });
    cleanups.push(dir.remove, () => app.stop({ drainTimeoutMs: 0 }));
    // Tried: injecting before start (nothing is queued).
    expect(app.inject({ topic: 'job.failed', data: { job_id: 'early' }, src: 'zmq-notify/scheduler' })).toBe(false);
    await app.start();
    // A topic outside `topics:` still arrives: ZeroMQ subscriptions filter the network, not the bot's own events.
    expect(app.inject({ topic: 'job.failed', data: { job_id: 'daily', error: 'boom' }, src: 'zmq-notify/scheduler' })).toBe(true);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toMatchObject({ topic: 'job.failed', data: { job_id: 'daily', error: 'boom' }, meta: { src: 'zmq-notify/scheduler' } });
    expect(typeof seen[0]?.meta.ts).toBe('string');
    const { counts, queue } = app.status();
    expect(counts.received).toBe(1);
    expect(counts.received).toBe(counts.dispatched + counts.dropped.total + queue.depth);
    await app.stop({ drainTimeoutMs: 1_000 });
    expect(app.inject({ topic: 'job.failed', data: {}, src: 'zmq-notify/scheduler' })).toBe(false);
    expect(app.status().counts.received).toBe(1);
  });
});
