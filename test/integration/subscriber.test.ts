import { afterEach, describe, expect, it, vi } from 'vitest';
import * as zmq from 'zeromq';
import type { MalformedKind } from '../../src/transport/codec.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { Subscriber, type ListenerState, type MalformedReport, type SubscriberEvents, type SubscriberOptions } from '../../src/transport/subscriber.ts';
import { captureLogger, ipcDir } from '../helpers/transport.ts';

const wait = { timeout: 10_000, interval: 20 };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Subscriber with fast reconnects that records everything it emits; stopped after the test. */
function subscriber(endpoints: string[], overrides: Partial<SubscriberOptions> = {}) {
  const log = captureLogger();
  const sub = new Subscriber({
    endpoints,
    topics: ['job.', 'handler.', 'scheduler.'],
    receiveHwm: 10_000,
    reconnectIntervalMs: 20,
    reconnectMaxIntervalMs: 100,
    maxPayloadBytes: 1024,
    logger: log.logger,
    ...overrides,
  });
  const seen = {
    events: [] as ZmqEvent[],
    malformed: [] as MalformedReport[],
    gaps: [] as SubscriberEvents['gap'][0][],
    restarts: [] as SubscriberEvents['publisher-restart'][0][],
    states: [] as ListenerState[],
    connections: [] as SubscriberEvents['connection'][0][],
  };
  sub.on('event', (e) => seen.events.push(e));
  sub.on('malformed', (m) => seen.malformed.push(m));
  sub.on('gap', (g) => seen.gaps.push(g));
  sub.on('publisher-restart', (r) => seen.restarts.push(r));
  sub.on('state', (s) => seen.states.push(s));
  sub.on('connection', (c) => seen.connections.push(c));
  cleanups.push(() => sub.stop());
  return { sub, seen, logLines: log.lines };
}

async function eventPublisher(endpoint: string, src?: string): Promise<EventPublisher> {
  const pub = new EventPublisher({ endpoint, src, lingerMs: 0 });
  await pub.open();
  cleanups.push(() => pub.close());
  return pub;
}

async function rawPublisher(endpoint = 'tcp://127.0.0.1:*'): Promise<zmq.Publisher> {
  const pub = new zmq.Publisher({ linger: 0 });
  await pub.bind(endpoint);
  cleanups.push(() => pub.close());
  return pub;
}

/** A raw PUB cannot see subscriptions: send a probe until one arrives, so later sends are not lost. */
async function untilSubscribed(pub: zmq.Publisher, seen: { events: ZmqEvent[] }): Promise<void> {
  await vi.waitFor(async () => {
    if (seen.events.some((e) => e.topic === 'job.probe')) return;
    await pub.send(['job.probe', '{}']);
    throw new Error('probe not received yet');
  }, wait);
}

const envelope = (seq: number, src = 'raw-scheduler') => JSON.stringify({ v: 1, seq, ts: new Date().toISOString(), src });

describe('Subscriber', () => {
  it('receives an EventPublisher event with data and envelope meta (seq, ts, src)', async () => {
    const pub = await eventPublisher('tcp://127.0.0.1:*', 'sched-a');
    const { sub, seen } = subscriber([pub.endpoint]);
    await sub.start();
    expect(await pub.waitForSubscriber(10_000, 'job.failed')).toBe(true);
    await pub.publish('job.failed', { job_id: 'x', error: 'boom 💥' });
    await vi.waitFor(() => expect(seen.events).toHaveLength(1), wait);
    const [event] = seen.events;
    expect(event?.topic).toBe('job.failed');
    expect(event?.data).toEqual({ job_id: 'x', error: 'boom 💥' });
    expect(event?.meta).toMatchObject({ seq: 1, src: 'sched-a' });
    expect(Date.parse(event?.meta.ts ?? '')).not.toBeNaN();
    expect(event?.meta.receivedAt).toBeGreaterThan(0);
    expect(sub.stats()).toMatchObject({ received: 1, delivered: 1, lost: 0, connected: [pub.endpoint] });
    expect(sub.publishers()).toEqual([expect.objectContaining({ src: 'sched-a', lastSeq: 1, received: 1 })]);
  });

  it('receives a plain two-frame message from a raw zeromq Publisher with data and no seq/src', async () => {
    const pub = await rawPublisher();
    const { sub, seen } = subscriber([pub.lastEndpoint ?? '']);
    await sub.start();
    await untilSubscribed(pub, seen);
    await pub.send(['job.failed', '{"job_id":"py","error":"Traceback ..."}']);
    await vi.waitFor(() => expect(seen.events.find((e) => e.topic === 'job.failed')).toBeDefined(), wait);
    const event = seen.events.find((e) => e.topic === 'job.failed');
    expect(event?.data).toEqual({ job_id: 'py', error: 'Traceback ...' });
    expect(event?.meta.seq).toBeUndefined();
    expect(event?.meta.src).toBeUndefined();
    expect(event?.meta.ts).toBeUndefined();
    expect(sub.publishers()).toEqual([]);
  });

  it('only receives topics matching its prefixes (handler.x filtered when subscribed to job.)', async () => {
    const pub = await eventPublisher('tcp://127.0.0.1:*');
    const { sub, seen } = subscriber([pub.endpoint], { topics: ['job.'] });
    await sub.start();
    await pub.waitForSubscriber(10_000, 'job.x');
    await pub.publish('handler.registered', { handler_id: 'h' });
    await pub.publish('job.executed', { job_id: 'j' });
    await vi.waitFor(() => expect(seen.events).toHaveLength(1), wait);
    expect(seen.events[0]?.topic).toBe('job.executed');
  });

  it('counts every malformed kind from a raw Publisher, logs each once, and keeps receiving', async () => {
    const pub = await rawPublisher();
    // Subscribed to everything so that an empty or non-UTF-8 topic is not filtered out first.
    const { sub, seen, logLines } = subscriber([pub.lastEndpoint ?? ''], { topics: [], maxPayloadBytes: 1024 });
    await sub.start();
    await untilSubscribed(pub, seen);
    const oversized = JSON.stringify({ traceback: 'x'.repeat(5000) });
    const inputs: [MalformedKind, (string | Buffer)[]][] = [
      ['single_frame', ['job.failed']],
      ['non_utf8_topic', [Buffer.from([0x6a, 0xff, 0xfe]), '{}']],
      ['empty_topic', ['', '{"job_id":"x"}']],
      ['non_utf8_payload', ['job.failed', Buffer.from([0x7b, 0xc3, 0x28, 0x7d])]],
      ['invalid_json', ['job.failed', '{"job_id":']],
      ['invalid_json', ['job.failed', 'not json either']],
      ['invalid_json', ['job.failed', '{']],
      ['not_object', ['job.failed', '[1,2,3]']],
      ['oversized', ['job.failed', oversized]],
      ['bad_envelope', ['job.failed', '{"job_id":"y"}', '{"v":1,"seq":"one"}']],
    ];
    for (const [, frames] of inputs) await pub.send(frames);
    await pub.send(['job.executed', '{"job_id":"after"}']);
    await vi.waitFor(() => expect(seen.events.find((e) => e.data.job_id === 'after')).toBeDefined(), wait);

    expect(sub.state).toBe('running');
    expect(sub.stats().malformed).toEqual({
      single_frame: 1,
      non_utf8_topic: 1,
      empty_topic: 1,
      non_utf8_payload: 1,
      invalid_json: 3,
      not_object: 1,
      oversized: 1,
      bad_envelope: 1,
    });
    expect(seen.malformed.map((m) => [m.kind, m.dropped])).toEqual(
      inputs.map(([kind]) => [kind, kind === 'single_frame' || kind === 'non_utf8_topic' || kind === 'empty_topic']),
    );
    // 1 probe (at least) + 10 malformed + 1 good; the 3 unusable ones are not delivered.
    const stats = sub.stats();
    expect(stats.received - stats.delivered).toBe(3);
    const byData = (topic: string) => seen.events.filter((e) => e.topic === topic).map((e) => e.data);
    expect(byData('job.failed')).toEqual([
      { raw: '{\uFFFD(}' },
      { raw: '{"job_id":' },
      { raw: 'not json either' },
      { raw: '{' },
      { value: [1, 2, 3] },
      { raw: oversized.slice(0, 4096), oversized_bytes: Buffer.byteLength(oversized) },
      { job_id: 'y' },
    ]);
    const warnings = logLines().filter((l) => typeof l.kind === 'string');
    expect(warnings.map((l) => l.kind)).toEqual(['single_frame', 'non_utf8_topic', 'empty_topic', 'non_utf8_payload', 'invalid_json', 'not_object', 'oversized', 'bad_envelope']);
    expect(warnings.find((l) => l.kind === 'invalid_json')).toMatchObject({ sample: '{"job_id":', topic: 'job.failed', dropped: false });
  });

  it('keeps receiving when an event listener throws', async () => {
    const pub = await eventPublisher('tcp://127.0.0.1:*');
    const { sub, seen } = subscriber([pub.endpoint]);
    sub.prependListener('event', (e) => {
      if (e.data.explode) throw new Error('listener bug');
    });
    await sub.start();
    await pub.waitForSubscriber(10_000);
    await pub.publish('job.failed', { explode: true });
    await pub.publish('job.failed', { job_id: 'next' });
    await vi.waitFor(() => expect(seen.events.find((e) => e.data.job_id === 'next')).toBeDefined(), wait);
    expect(sub.state).toBe('running');
  });

  it('reports hand-made envelopes seq 1,2,5 as one gap of 2 events', async () => {
    const pub = await rawPublisher();
    const { sub, seen, logLines } = subscriber([pub.lastEndpoint ?? '']);
    await sub.start();
    await untilSubscribed(pub, seen);
    for (const seq of [1, 2, 5, 6]) await pub.send(['job.executed', JSON.stringify({ n: seq }), envelope(seq)]);
    await vi.waitFor(() => expect(seen.events.filter((e) => e.meta.src === 'raw-scheduler')).toHaveLength(4), wait);
    expect(seen.gaps).toEqual([{ src: 'raw-scheduler', expected: 3, got: 5, lost: 2 }]);
    expect(seen.restarts).toEqual([]);
    expect(sub.stats().lost).toBe(2);
    expect(sub.publishers()[0]).toMatchObject({ src: 'raw-scheduler', lastSeq: 6, received: 4, lost: 2, gaps: 1 });
    expect(logLines().some((l) => l.src === 'raw-scheduler' && l.lost === 2)).toBe(true);
  });

  it('reconnects when the publisher restarts on the same endpoint and reports a restart, not a gap', async () => {
    const dir = ipcDir();
    cleanups.push(() => dir.remove());
    const endpoint = dir.endpoint('events.sock');
    // Default src on both runs: a bound publisher's default id is stable, so its restart is recognised.
    const first = new EventPublisher({ endpoint, lingerMs: 0 });
    await first.open();
    const { sub, seen } = subscriber([endpoint]);
    await sub.start();
    await first.waitForSubscriber(10_000);
    for (let i = 1; i <= 3; i++) await first.publish('job.executed', { run: 1, i });
    await vi.waitFor(() => expect(seen.events).toHaveLength(3), wait);
    await first.close();
    await vi.waitFor(() => expect(sub.stats().connected).toEqual([]), wait);

    const second = await eventPublisher(endpoint);
    expect(second.src).toBe(first.src);
    expect(await second.waitForSubscriber(10_000)).toBe(true);
    await second.publish('job.executed', { run: 2, i: 1 });
    await vi.waitFor(() => expect(seen.events).toHaveLength(4), wait);
    expect(seen.events[3]?.meta.seq).toBe(1);
    expect(second.run).not.toBe(first.run);
    expect(seen.restarts).toEqual([{ src: first.src, previousSeq: 3, seq: 1, lost: 0, beforeConnect: 0, run: second.run }]);
    expect(seen.gaps).toEqual([]);
    expect(sub.stats()).toMatchObject({ lost: 0, publisherRestarts: 1, connected: [endpoint] });
    expect(seen.connections).toEqual([
      { endpoint, connected: true },
      { endpoint, connected: false },
      { endpoint, connected: true },
    ]);
  });

  it('connects to a publisher that starts after the subscriber', async () => {
    const dir = ipcDir();
    cleanups.push(() => dir.remove());
    const endpoint = dir.endpoint('late.sock');
    const { sub, seen } = subscriber([endpoint]);
    await sub.start();
    expect(sub.state).toBe('running');
    expect(sub.stats().connected).toEqual([]);
    const pub = await eventPublisher(endpoint);
    expect(await pub.waitForSubscriber(10_000)).toBe(true);
    await pub.publish('scheduler.started', { deployment: 'late' });
    await vi.waitFor(() => expect(seen.events.map((e) => e.data.deployment)).toEqual(['late']), wait);
  });

  it('receives again after stop() and start() in the same process', async () => {
    const pub = await eventPublisher('tcp://127.0.0.1:*');
    const { sub, seen } = subscriber([pub.endpoint]);
    await sub.start();
    await pub.waitForSubscriber(10_000);
    await pub.publish('job.executed', { n: 1 });
    await vi.waitFor(() => expect(seen.events).toHaveLength(1), wait);

    await sub.stop();
    expect(sub.state).toBe('stopped');
    expect(sub.stats().connected).toEqual([]);
    // The publisher sees the subscription go away before it is back.
    await vi.waitFor(() => expect(pub.subscriptions()).toEqual([]), wait);

    await sub.start();
    expect(await pub.waitForSubscriber(10_000)).toBe(true);
    await pub.publish('job.executed', { n: 2 });
    await vi.waitFor(() => expect(seen.events.map((e) => e.data.n)).toEqual([1, 2]), wait);
    expect(seen.states).toEqual(['starting', 'running', 'stopping', 'stopped', 'starting', 'running']);
    expect(sub.stats()).toMatchObject({ received: 2, delivered: 2 });
  });

  it('restart() three times at once in a steady stream loses nothing, while 25 events published when it was stopped are counted lost, exactly, as one gap', async () => {
    const pub = await eventPublisher('tcp://127.0.0.1:*', 'sched-restart');
    const { sub, seen } = subscriber([pub.endpoint]);
    await sub.start();
    await pub.waitForSubscriber(10_000);
    for (let i = 1; i <= 20; i++) await pub.publish('job.executed', { n: i });
    await vi.waitFor(() => expect(seen.events).toHaveLength(20), wait);

    // Stopped, nobody is subscribed: the PUB socket drops seq 21..45.
    await sub.stop();
    await vi.waitFor(() => expect(pub.subscriptions()).toEqual([]), wait);
    for (let i = 21; i <= 45; i++) await pub.publish('job.executed', { n: i });
    await sub.start();
    expect(await pub.waitForSubscriber(10_000)).toBe(true);

    // A steady stream from seq 46 on, with three restarts at once in the middle of it.
    const flow = setInterval(() => void pub.publish('job.executed', {}), 2);
    cleanups.push(() => clearInterval(flow));
    await vi.waitFor(() => expect(seen.events.length).toBeGreaterThan(30), wait);
    await Promise.all([sub.restart(), sub.restart(), sub.restart()]);
    expect(sub.state).toBe('running');
    const afterRestart = seen.events.length;
    await vi.waitFor(() => expect(seen.events.length).toBeGreaterThan(afterRestart + 10), wait);
    clearInterval(flow);
    await vi.waitFor(() => expect(seen.events.at(-1)?.meta.seq).toBe(pub.seq), wait);

    // The loss is the 25 and nothing else: one gap, counted, and not taken for a publisher restart.
    expect(seen.gaps).toHaveLength(1);
    expect(seen.gaps[0]).toMatchObject({ src: 'sched-restart', expected: 21, got: 46, lost: 25 });
    expect(sub.stats()).toMatchObject({ lost: 25, publisherRestarts: 0 });
    expect(sub.publishers()[0]).toMatchObject({ src: 'sched-restart', lost: 25, gaps: 1 });
    // Every other seq arrived exactly once and in order, across the restarts.
    const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(seen.events.map((e) => e.meta.seq)).toEqual([...range(1, 20), ...range(46, pub.seq)]);
  });

  it('receives from two endpoints at once (tcp and ipc)', async () => {
    const dir = ipcDir();
    cleanups.push(() => dir.remove());
    const tcp = await eventPublisher('tcp://127.0.0.1:*', 'over-tcp');
    const ipc = await eventPublisher(dir.endpoint('two.sock'), 'over-ipc');
    const { sub, seen } = subscriber([tcp.endpoint, ipc.endpoint]);
    await sub.start();
    expect(await tcp.waitForSubscriber(10_000)).toBe(true);
    expect(await ipc.waitForSubscriber(10_000)).toBe(true);
    await tcp.publish('job.failed', { via: 'tcp' });
    await ipc.publish('job.failed', { via: 'ipc' });
    await vi.waitFor(() => expect(seen.events).toHaveLength(2), wait);
    expect(seen.events.map((e) => `${e.meta.src}:${String(e.data.via)}`).sort()).toEqual(['over-ipc:ipc', 'over-tcp:tcp']);
    expect(sub.stats().connected.sort()).toEqual([ipc.endpoint, tcp.endpoint].sort());
  });

  it('replaces its zeromq socket by itself when that socket is closed behind its back', async () => {
    const pub = await eventPublisher('tcp://127.0.0.1:*');
    const { sub, seen, logLines } = subscriber([pub.endpoint]);
    await sub.start();
    await pub.waitForSubscriber(10_000);
    // The only way to make the real socket fail without a mock: close it under the receive loop.
    (sub as unknown as { socket: zmq.Subscriber }).socket.close();
    await vi.waitFor(() => expect(seen.states).toEqual(['starting', 'running', 'stopping', 'stopped', 'starting', 'running']), wait);
    expect(logLines().some((l) => String(l.msg).includes('closed unexpectedly'))).toBe(true);
    await vi.waitFor(async () => {
      await pub.publish('job.executed', { after: 'recovery' });
      expect(seen.events.some((e) => e.data.after === 'recovery')).toBe(true);
    }, wait);
    expect(sub.state).toBe('running');
  });

  it('rejects start() for an endpoint zeromq cannot use, and stays stopped', async () => {
    const { sub } = subscriber(['carrier-pigeon://nest']);
    await expect(sub.start()).rejects.toThrow(/carrier-pigeon:\/\/nest/);
    expect(sub.state).toBe('stopped');
  });
});
