import { describe, expect, it } from 'vitest';
import { freePort, run, runCli } from '../helpers/transport.ts';

// A plain pyzmq SUB, as the Python cog reads: recv_multipart() and nothing else.
const pythonSubscriber = `
import json, sys, zmq
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"job.")
sub.setsockopt(zmq.RCVTIMEO, 15000)
sub.connect(sys.argv[1])
try:
    frames = sub.recv_multipart()
    print(json.dumps([f.decode("utf-8") for f in frames]))
finally:
    sub.close(0)
    ctx.term()
`;

describe('interoperability with pyzmq', () => {
  it('a pyzmq SUB receives `emit job.failed {"job_id":"x"}` as topic, payload and envelope frames', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const [python, emit] = await Promise.all([
      run('/usr/bin/python3', ['-c', pythonSubscriber, endpoint]),
      runCli(['emit', 'job.failed', '{"job_id":"x"}', '-e', endpoint]),
    ]);
    expect(emit.stderr).toBe('');
    expect(emit.code).toBe(0);
    expect(python.stderr).toBe('');
    expect(python.code).toBe(0);
    const frames = JSON.parse(python.stdout) as string[];
    expect(frames).toHaveLength(3);
    expect(frames[0]).toBe('job.failed');
    expect(JSON.parse(frames[1] ?? '')).toEqual({ job_id: 'x' });
    const envelope = JSON.parse(frames[2] ?? '') as Record<string, unknown>;
    expect(envelope).toEqual({ v: 1, seq: 1, ts: expect.any(String), src: expect.any(String), run: expect.stringMatching(/^[\w-]{8}$/) });
    expect(new Date(envelope.ts as string).toISOString()).toBe(envelope.ts);
    expect(envelope.src).toMatch(/.+:\d+:[0-9a-f]{6}$/);
  });
});
