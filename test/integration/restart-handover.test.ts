import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App, type ListenerRestart } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { defineModule } from '../../src/pipeline/module.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { captureLogger, ipcDir } from '../helpers/transport.ts';

// /zmq_restart's promise, over real sockets: the new socket is connected before the old one is
// closed, so a restart in the middle of a steady stream loses nothing and delivers nothing twice.

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('App.restartListener() under a steady stream (real sockets)', () => {
  it('3 restarts while ~2 events/ms flow: every seq reaches the handler exactly once, no sequence gap, nothing counted lost', async () => {
    const dir = ipcDir();
    stops.push(() => dir.remove());
    const endpoint = dir.endpoint('stream.sock');
    const pub = new EventPublisher({ endpoint, lingerMs: 0, sendHwm: 100_000 });
    await pub.open();
    stops.push(() => pub.close());

    const seqs: number[] = [];
    const { logger } = captureLogger('info');
    const app = new App({
      config: parseConfig({ zmq_pub_address: endpoint, topics: ['job.'], http: { enabled: false }, subscriber: { reconnect_interval_ms: 20 } }),
      logger,
      metrics: new Metrics({ defaultMetrics: false }),
      modules: [defineModule({ name: 'count', setup: (ctx) => void ctx.on('job.', (e) => void seqs.push(e.meta.seq ?? 0)) })],
    });
    await app.start();
    stops.push(async () => void (await app.stop({ drainTimeoutMs: 1_000 })));
    expect(await pub.waitForSubscriber(10_000, 'job.')).toBe(true);

    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await pub.publish('job.executed', { seq: pub.seq + 1 });
        if (pub.seq % 2 === 0) await sleep(1);
      }
    })();
    const outcomes: ListenerRestart[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(150);
      outcomes.push(await app.restartListener({ connectTimeoutMs: 0 }));
    }
    await sleep(150);
    streaming = false;
    await stream;
    const sent = pub.seq;
    await vi.waitFor(() => expect(seqs.length).toBeGreaterThanOrEqual(sent), { timeout: 10_000, interval: 20 });

    expect(sent).toBeGreaterThan(300);
    // Counted by seq in what the handler got: 1..sent, each once.
    expect(seqs).toHaveLength(sent);
    expect(new Set(seqs).size).toBe(sent);
    expect(Math.min(...seqs)).toBe(1);
    expect(Math.max(...seqs)).toBe(sent);
    expect(app.status().counts).toMatchObject({ lost: 0, beforeConnect: 0 });
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ state: 'running', handover: 'caught-up', lost: 0 });
      // The two sockets overlapped: the old one was read while the new one already received.
      expect(outcome.fromOldSocket + outcome.held).toBeGreaterThan(0);
    }
    expect(app.status().listener.restarts).toBe(3);
  });
});
