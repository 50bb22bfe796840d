import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { Subscriber, type SubscriberEvents } from '../../src/transport/subscriber.ts';
import { captureLogger, freePort, ipcDir, run } from '../helpers/transport.ts';

// Sequence numbers with the envelope's run id, over real sockets: what was sent before we
// connected is told apart from what was lost, and publishers sharing a src are not taken for gaps.

const wait = { timeout: 10_000, interval: 20 };
const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function listen(endpoints: string[]) {
  const log = captureLogger('info');
  const sub = new Subscriber({ endpoints, topics: ['job.'], receiveHwm: 10_000, reconnectIntervalMs: 20, reconnectMaxIntervalMs: 100, maxPayloadBytes: 4096, logger: log.logger });
  const events: ZmqEvent[] = [];
  const beforeConnect: SubscriberEvents['before-connect'][0][] = [];
  const gaps: SubscriberEvents['gap'][0][] = [];
  sub.on('event', (e) => events.push(e));
  sub.on('before-connect', (b) => beforeConnect.push(b));
  sub.on('gap', (g) => gaps.push(g));
  stops.push(() => sub.stop());
  return { sub, events, beforeConnect, gaps, logs: log.lines };
}

async function publisher(endpoint: string, src?: string): Promise<EventPublisher> {
  const pub = new EventPublisher({ endpoint, lingerMs: 0, ...(src !== undefined && { src }) });
  await pub.open();
  stops.push(() => pub.close());
  return pub;
}

describe('sequence numbers with run ids (real sockets)', () => {
  it('a publisher that sent 5 events before we connected: the first seen is seq 6, so "5 sent before we connected", and 0 lost', async () => {
    const dir = ipcDir();
    stops.push(() => dir.remove());
    const endpoint = dir.endpoint('early.sock');
    const pub = await publisher(endpoint);
    // Nobody is subscribed: a PUB socket drops these.
    for (let i = 1; i <= 5; i++) await pub.publish('job.executed', { i });
    const { sub, events, beforeConnect, gaps, logs } = listen([endpoint]);
    await sub.start();
    expect(await pub.waitForSubscriber(10_000, 'job.')).toBe(true);
    for (let i = 6; i <= 8; i++) await pub.publish('job.executed', { i });
    await vi.waitFor(() => expect(events).toHaveLength(3), wait);
    expect(events.map((e) => [e.meta.seq, e.meta.run])).toEqual([
      [6, pub.run],
      [7, pub.run],
      [8, pub.run],
    ]);
    expect(beforeConnect).toEqual([{ src: pub.src, run: pub.run, seq: 6, count: 5 }]);
    expect(gaps).toEqual([]);
    expect(sub.stats()).toMatchObject({ lost: 0, beforeConnect: 5, publisherRestarts: 0 });
    expect(logs().some((l) => String(l.msg).includes('5 were sent before we connected'))).toBe(true);
  });

  it('two publishers sharing one src (20 events each, interleaved): no gap and nothing lost, where without run ids every switch would read as a gap or a restart', async () => {
    const dir = ipcDir();
    stops.push(() => dir.remove());
    const a = await publisher(dir.endpoint('a.sock'), 'shared-src');
    const b = await publisher(dir.endpoint('b.sock'), 'shared-src');
    const { sub, events, gaps } = listen([a.endpoint, b.endpoint]);
    await sub.start();
    expect(await a.waitForSubscriber(10_000, 'job.')).toBe(true);
    expect(await b.waitForSubscriber(10_000, 'job.')).toBe(true);
    for (let i = 1; i <= 20; i++) {
      await a.publish('job.executed', { from: 'a', i });
      await b.publish('job.executed', { from: 'b', i });
    }
    await vi.waitFor(() => expect(events).toHaveLength(40), wait);
    expect(gaps).toEqual([]);
    // The second run seen under the src is counted once as a new run, never as lost events.
    expect(sub.stats()).toMatchObject({ lost: 0, beforeConnect: 0, publisherRestarts: 1 });
    expect(new Set(events.map((e) => e.meta.run))).toEqual(new Set([a.run, b.run]));
  });

  it('envelopes without a run id (a pyzmq publisher sending {v,seq,ts,src} with seq 1, 2, 4) still count a gap of 1', async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    // XPUB so the script sends only once our subscription has arrived.
    const script = `
import json, sys, zmq
ctx = zmq.Context()
pub = ctx.socket(zmq.XPUB)
pub.bind(sys.argv[1])
pub.setsockopt(zmq.RCVTIMEO, 15000)
pub.recv()
for seq in (1, 2, 4):
    envelope = {"v": 1, "seq": seq, "ts": "2024-05-01T12:00:00Z", "src": "py-sched"}
    pub.send_multipart([b"job.executed", json.dumps({"seq": seq}).encode(), json.dumps(envelope).encode()])
pub.close(2000)
ctx.term()
`;
    const python = run('/usr/bin/python3', ['-c', script, endpoint]);
    const { sub, events, gaps } = listen([endpoint]);
    await sub.start();
    await vi.waitFor(() => expect(events).toHaveLength(3), wait);
    const result = await python;
    expect(result.stderr).toBe('');
    expect(events.map((e) => [e.meta.seq, e.meta.run])).toEqual([
      [1, undefined],
      [2, undefined],
      [4, undefined],
    ]);
    expect(gaps).toEqual([{ src: 'py-sched', expected: 3, got: 4, lost: 1 }]);
    expect(sub.stats()).toMatchObject({ lost: 1, beforeConnect: 0 });
  });
});
