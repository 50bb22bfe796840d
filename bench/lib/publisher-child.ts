// A bench child that owns one EventPublisher and publishes on request (see BenchChild), so the
// publisher's work never shares an event loop with the process being measured.
import { setTimeout as sleep } from 'node:timers/promises';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { serveRequests } from './child.ts';
import { jobPayload, preciseNow } from './payload.ts';

let publisher: EventPublisher | undefined;

function open(): EventPublisher {
  if (!publisher) throw new Error('publisher-child: "open" first');
  return publisher;
}

serveRequests(
  {
    /** Binds an EventPublisher on a free loopback port. */
    open: async (params: { noDrop?: boolean; sendHwm?: number }) => {
      publisher = new EventPublisher({ endpoint: 'tcp://127.0.0.1:*', src: 'bench', lingerMs: 0, noDrop: params.noDrop ?? false, sendHwm: params.sendHwm ?? 10_000 });
      await publisher.open();
      return { endpoint: publisher.endpoint };
    },
    /** Waits until no subscriber holds a subscription (the previous receiver has gone). */
    waitIdle: async (params: { timeoutMs?: number }) => {
      const until = Date.now() + (params.timeoutMs ?? 10_000);
      while (open().subscriptions().length > 0) {
        if (Date.now() > until) return false;
        await sleep(10);
      }
      return true;
    },
    /** Waits until a subscriber would receive `topic`. */
    waitForSubscriber: async (params: { topic: string; timeoutMs?: number }) => open().waitForSubscriber(params.timeoutMs ?? 20_000, params.topic),
    /** Publishes `count` events as fast as the publisher goes. */
    flood: async (params: { count: number; topic: string; bytes: number }) => {
      const pub = open();
      const data = jobPayload(params.bytes);
      const started = performance.now();
      for (let i = 0; i < params.count; i++) await pub.publish(params.topic, data);
      const seconds = (performance.now() - started) / 1000;
      return { published: params.count, seconds, eps: params.count / seconds, payloadBytes: JSON.stringify(data).length };
    },
    /** Publishes `count` job failures (distinct jobs) as fast as the publisher goes. */
    burst: async (params: { count: number }) => {
      const pub = open();
      const started = performance.now();
      for (let i = 0; i < params.count; i++) {
        await pub.publish('job.failed', {
          job_id: `burst-${i}`,
          job_name: `nightly-etl-${i % 50}`,
          error: `RuntimeError: upstream returned 503 (attempt ${i})`,
          retry_count: 1,
          traceback: `Traceback (most recent call last):\n  File "etl.py", line ${100 + (i % 50)}, in run\nRuntimeError: upstream returned 503`,
        });
      }
      return { published: params.count, seconds: (performance.now() - started) / 1000 };
    },
    /** Publishes `count` events at `rate` per second, each stamped with `sent_at` (precise ms epoch). */
    paced: async (params: { count: number; rate: number; topic: string; bytes: number }) => {
      const pub = open();
      const data = jobPayload(params.bytes);
      const started = performance.now();
      let sent = 0;
      while (sent < params.count) {
        const due = Math.min(params.count, Math.floor(((performance.now() - started) * params.rate) / 1000) + 1);
        for (; sent < due; sent++) await pub.publish(params.topic, { ...data, job_id: `bench-${sent}`, sent_at: preciseNow() });
        await sleep(1);
      }
      const seconds = (performance.now() - started) / 1000;
      return { published: sent, seconds, eps: sent / seconds };
    },
  },
  async () => {
    await publisher?.close();
  },
);
