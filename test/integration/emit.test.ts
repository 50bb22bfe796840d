import { afterEach, describe, expect, it, vi } from 'vitest';
import * as zmq from 'zeromq';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { Subscriber } from '../../src/transport/subscriber.ts';
import { captureLogger, ipcDir, runCli } from '../helpers/transport.ts';

const wait = { timeout: 10_000, interval: 20 };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An ipc endpoint in a fresh temp dir, with a started Subscriber on it (before `emit` binds it). */
async function listening(topics = ['job.', 'handler.', 'scheduler.']): Promise<{ endpoint: string; events: ZmqEvent[] }> {
  const dir = ipcDir();
  cleanups.push(() => dir.remove());
  const endpoint = dir.endpoint('emit.sock');
  const sub = new Subscriber({
    endpoints: [endpoint],
    topics,
    receiveHwm: 10_000,
    reconnectIntervalMs: 20,
    reconnectMaxIntervalMs: 100,
    maxPayloadBytes: 1_048_576,
    logger: captureLogger().logger,
  });
  const events: ZmqEvent[] = [];
  sub.on('event', (e) => events.push(e));
  await sub.start();
  cleanups.push(() => sub.stop());
  return { endpoint, events };
}

describe('zmq-notify emit', () => {
  it('binds, waits for the subscriber, and delivers job.failed {"job_id":"x"} with an envelope', async () => {
    const { endpoint, events } = await listening();
    const result = await runCli(['emit', 'job.failed', '{"job_id":"x","error":"磁盘已满 💥"}', '-e', endpoint]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`sent job.failed (seq 1) to ${endpoint}`);
    await vi.waitFor(() => expect(events).toHaveLength(1), wait);
    expect(events[0]).toMatchObject({ topic: 'job.failed', data: { job_id: 'x', error: '磁盘已满 💥' }, meta: { seq: 1 } });
    expect(events[0]?.meta.src).toMatch(/.+:\d+:[0-9a-f]{6}$/);
  });

  it('publishes {} when no JSON argument is given', async () => {
    const { endpoint, events } = await listening();
    const result = await runCli(['emit', 'scheduler.started', '-e', endpoint]);
    expect(result.code).toBe(0);
    await vi.waitFor(() => expect(events.map((e) => e.data)).toEqual([{}]), wait);
  });

  it('--connect publishes job.failed to a SUB that bound the endpoint', async () => {
    const dir = ipcDir();
    cleanups.push(() => dir.remove());
    const endpoint = dir.endpoint('bound.sock');
    const sub = new zmq.Subscriber({ linger: 0 });
    sub.subscribe('job.');
    await sub.bind(endpoint);
    cleanups.push(() => sub.close());
    const received = sub.receive();
    const result = await runCli(['emit', 'job.failed', '{"job_id":"c"}', '--connect', '-e', endpoint]);
    expect(result.code).toBe(0);
    const frames = await received;
    expect(frames.slice(0, 2).map((f) => f.toString())).toEqual(['job.failed', '{"job_id":"c"}']);
  });

  it('exits 1 within a bounded time when nobody subscribes (--wait-ms 500)', async () => {
    const dir = ipcDir();
    cleanups.push(() => dir.remove());
    const started = Date.now();
    const result = await runCli(['emit', 'job.failed', '{"job_id":"x"}', '-e', dir.endpoint('nobody.sock'), '--wait-ms', '500']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no subscriber connected to ipc:\/\/.*nobody\.sock within 500 ms; nothing was sent/);
    expect(result.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('exits 1 when the only subscriber holds a prefix that does not match the topic (handler. vs job.failed)', async () => {
    const { endpoint, events } = await listening(['handler.']);
    const result = await runCli(['emit', 'job.failed', '-e', endpoint, '--wait-ms', '500']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hold "handler.", none of which matches "job.failed"');
    expect(events).toEqual([]);
  });

  it('--stdin publishes the good lines, reports bad lines 2 and 4 by number, and exits 1', async () => {
    const { endpoint, events } = await listening();
    const input = [
      '{"topic":"job.executed","data":{"job_id":"a"}}',
      '{"topic":"job.failed","data":',
      '{"topic":"job.failed","data":{"job_id":"b"}}',
      '{"topic":5}',
      '',
      '{"topic":"handler.ping"}',
    ].join('\n');
    const result = await runCli(['emit', '--stdin', '-e', endpoint], { input });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/stdin line 2: not valid JSON/);
    expect(result.stderr).toMatch(/stdin line 4: "topic" must be a non-empty string/);
    expect(result.stderr).not.toMatch(/line [1356]\b/);
    expect(result.stdout).toContain(`sent 3 event(s) to ${endpoint}; skipped 2 bad line(s)`);
    await vi.waitFor(() => expect(events).toHaveLength(3), wait);
    expect(events.map((e) => [e.topic, e.data, e.meta.seq])).toEqual([
      ['job.executed', { job_id: 'a' }, 1],
      ['job.failed', { job_id: 'b' }, 2],
      ['handler.ping', {}, 3],
    ]);
  });

  it('--stdin with only good lines, and TOPIC as the default topic, exits 0', async () => {
    const { endpoint, events } = await listening();
    const input = '{"data":{"n":1}}\n{"topic":"job.failed","data":{"n":2}}\n';
    const result = await runCli(['emit', 'job.executed', '--stdin', '-e', endpoint], { input });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('sent 2 event(s)');
    await vi.waitFor(() => expect(events.map((e) => e.topic)).toEqual(['job.executed', 'job.failed']), wait);
  });

  // Usage errors start no sockets, so these child processes can run side by side.
  describe.concurrent('usage errors', () => {
    it('exits 2 on a wrong flag (--bogus)', async () => {
      const result = await runCli(['emit', 'job.failed', '--bogus']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("unknown option '--bogus'");
    });

    it.each([
      ['{"job_id":', /JSON argument is not valid JSON/],
      ['[1,2]', /JSON argument must be a JSON object .*got an array/],
      ['"text"', /JSON argument must be a JSON object .*got a string/],
    ])('exits 2 with a clear message for the JSON argument %s', async (json, message) => {
      const result = await runCli(['emit', 'job.failed', json, '-e', 'tcp://127.0.0.1:0']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    });

    it('exits 2 for --wait-ms soon and for a missing TOPIC', async () => {
      const badWait = await runCli(['emit', 'job.failed', '--wait-ms', 'soon']);
      expect(badWait.code).toBe(2);
      expect(badWait.stderr).toMatch(/--wait-ms.*'soon' is invalid/);
      const noTopic = await runCli(['emit']);
      expect(noTopic.code).toBe(2);
      expect(noTopic.stderr).toContain('missing TOPIC');
    });
  });
});
