import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as zmq from 'zeromq';
import { decodeMessage } from '../../src/transport/codec.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { ipcDir } from '../helpers/transport.ts';

const wait = { timeout: 10_000, interval: 20 };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(options: ConstructorParameters<typeof EventPublisher>[0]): Promise<EventPublisher> {
  const pub = new EventPublisher({ lingerMs: 0, ...options });
  await pub.open();
  cleanups.push(() => pub.close());
  return pub;
}

/** A plain zeromq SUB (subscribed to everything) collecting decoded events. */
function rawSubscriber(): { sub: zmq.Subscriber; events: ZmqEvent[] } {
  const sub = new zmq.Subscriber({ linger: 0 });
  sub.subscribe();
  const events: ZmqEvent[] = [];
  void (async () => {
    for await (const frames of sub) {
      const result = decodeMessage(frames, { maxPayloadBytes: 1_048_576 });
      if (result.ok) events.push(result.event);
    }
  })();
  cleanups.push(() => sub.close());
  return { sub, events };
}

describe('EventPublisher', () => {
  it('resolves the real port for tcp://127.0.0.1:0 and for tcp://127.0.0.1:*', async () => {
    const zero = await open({ endpoint: 'tcp://127.0.0.1:0' });
    const star = await open({ endpoint: 'tcp://127.0.0.1:*' });
    for (const pub of [zero, star]) {
      expect(pub.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(pub.endpoint).not.toMatch(/:0$/);
    }
    expect(zero.endpoint).not.toBe(star.endpoint);
  });

  it('stamps envelopes with seq 1, 2, 3, an ISO ts and the default src host@endpoint for a bound publisher', async () => {
    const pub = await open({ endpoint: 'tcp://127.0.0.1:*' });
    const { sub, events } = rawSubscriber();
    sub.connect(pub.endpoint);
    expect(await pub.waitForSubscriber(10_000)).toBe(true);
    for (let i = 0; i < 3; i++) await pub.publish('job.executed', { i });
    await vi.waitFor(() => expect(events).toHaveLength(3), wait);
    expect(events.map((e) => e.meta.seq)).toEqual([1, 2, 3]);
    expect(pub.seq).toBe(3);
    expect(events.every((e) => e.meta.src === pub.src)).toBe(true);
    expect(pub.src).toBe(`${hostname()}@${pub.endpoint}`);
    expect(new Date(events[0]?.meta.ts ?? '').toISOString()).toBe(events[0]?.meta.ts);
  });

  it('connects (mode connect) to a bound SUB and waits for its subscription', async () => {
    const dir = ipcDir();
    cleanups.push(() => dir.remove());
    const { sub, events } = rawSubscriber();
    await sub.bind(dir.endpoint('bound-sub.sock'));
    const pub = await open({ endpoint: dir.endpoint('bound-sub.sock'), mode: 'connect', src: 'connector' });
    expect(await pub.waitForSubscriber(10_000, 'job.failed')).toBe(true);
    await pub.publish('job.failed', { job_id: 'c' });
    await vi.waitFor(() => expect(events.map((e) => e.data)).toEqual([{ job_id: 'c' }]), wait);
  });

  it('sends scheduler.heartbeat {deployment, timestamp} every 30 ms when asked', async () => {
    const pub = await open({ endpoint: 'tcp://127.0.0.1:*', heartbeatIntervalMs: 30, deployment: 'prod-eu' });
    const { sub, events } = rawSubscriber();
    sub.connect(pub.endpoint);
    await vi.waitFor(() => expect(events.length).toBeGreaterThanOrEqual(2), wait);
    expect(events[0]?.topic).toBe('scheduler.heartbeat');
    expect(events[0]?.data).toEqual({ deployment: 'prod-eu', timestamp: expect.any(String) });
    const seqs = events.map((e) => e.meta.seq ?? 0);
    expect(seqs[1]).toBe((seqs[0] ?? 0) + 1);
  });

  it('waitForSubscriber resolves false after 100 ms with nobody there, and on close()', async () => {
    const pub = new EventPublisher({ endpoint: 'tcp://127.0.0.1:*', lingerMs: 0 });
    await pub.open();
    expect(await pub.waitForSubscriber(100)).toBe(false);
    const pending = pub.waitForSubscriber(60_000);
    await pub.close();
    expect(await pending).toBe(false);
  });

  it('rejects publish() before open(), with an empty topic, and with array or null data', async () => {
    const closed = new EventPublisher({ endpoint: 'tcp://127.0.0.1:*' });
    await expect(closed.publish('job.x', {})).rejects.toThrow(/not open/);
    const pub = await open({ endpoint: 'tcp://127.0.0.1:*' });
    await expect(pub.publish('', {})).rejects.toThrow(TypeError);
    await expect(pub.publish('job.x', [1] as unknown as object)).rejects.toThrow(/JSON object/);
    await expect(pub.publish('job.x', null as unknown as object)).rejects.toThrow(/JSON object/);
    expect(pub.seq).toBe(0);
  });

  it('reports a bind failure on an endpoint already bound, naming it', async () => {
    const first = await open({ endpoint: 'tcp://127.0.0.1:*' });
    const second = new EventPublisher({ endpoint: first.endpoint });
    await expect(second.open()).rejects.toThrow(new RegExp(`cannot bind .*${first.endpoint.replace(/[.]/g, '\\.')}`));
  });
});
