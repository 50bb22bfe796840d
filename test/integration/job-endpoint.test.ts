import type { Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JobEndpoint } from '../../src/jobs/endpoint.ts';
import { JobRegistry } from '../../src/jobs/registry.ts';
import { defineSprocket } from '../../src/jobs/sprocket.ts';
import { discordId } from '../../src/jobs/params.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { PythonScheduleZero } from '../helpers/schedulezero.ts';
import { captureLogger } from '../helpers/transport.ts';

const runs: Record<string, number> = {};
let release: (() => void) | undefined;

const testSprocket = defineSprocket({
  name: 'test',
  methods: {
    echo_channel: {
      params: z.object({ channel_id: discordId, note: z.string().default('') }).strict(),
      run: ({ channel_id, note }) => {
        runs.echo_channel = (runs.echo_channel ?? 0) + 1;
        return { channel_id, note };
      },
    },
    plain_value: { params: z.object({}), run: () => 42 },
    fails: {
      params: z.object({}),
      run: async () => {
        throw new Error('No space left on device');
      },
    },
    // Runs until the test releases it, as a send to a 429'd channel would.
    slow_post: {
      params: z.object({ channel_id: discordId, content: z.string() }),
      run: async ({ channel_id }) => {
        runs.slow_post = (runs.slow_post ?? 0) + 1;
        await new Promise<void>((resolve) => (release = resolve));
        return { message_id: '900000000000000001', channel_id };
      },
    },
  },
});

describe('JobEndpoint answers a pyzmq ScheduleZero exactly as §2.3 says', () => {
  let server: PythonScheduleZero;
  let endpoint: JobEndpoint;
  let address: string;
  const metrics = new Metrics({ defaultMetrics: false });
  const { logger, lines } = captureLogger('info');

  beforeAll(async () => {
    const registry = new JobRegistry({ discord: () => ({}) as Client, logger, metrics });
    registry.load(testSprocket);
    endpoint = new JobEndpoint({ registry, handlerId: 'test-bot', bind: 'tcp://127.0.0.1:0', replyTimeoutMs: 500, logger });
    address = await endpoint.start();
    server = await PythonScheduleZero.start();
  });
  afterAll(async () => {
    release?.();
    await server?.stop();
    await endpoint?.stop();
  });

  it('answers ping with pong and the handler_id, params ignored', async () => {
    const out = await server.call(address, { call: { method: 'ping', params: {} } });
    expect(out).toMatchObject({ text: '{"success":true,"message":"pong","handler_id":"test-bot"}' });
  });

  it('keeps a 19-digit channel_id exact (above 2^53) and adds success: true to a dict result', async () => {
    // Python's json.dumps writes the integer with all its digits: {"channel_id": 1234567890123456789, ...}
    const out = await server.call(address, { call: { method: 'echo_channel', params: { channel_id: 1234567890123456789n } } });
    expect('reply' in out && out.reply).toEqual({ success: true, channel_id: '1234567890123456789', note: '' });
  });

  it('wraps a non-dict result as {"success": true, "result": value}', async () => {
    const out = await server.call(address, { call: { method: 'plain_value', params: {} } });
    expect('reply' in out && out.reply).toEqual({ success: true, result: 42 });
  });

  it('answers a method that raised with {"success": false, "error": str(e)}', async () => {
    const out = await server.call(address, { call: { method: 'fails', params: {} } });
    expect('reply' in out && out.reply).toEqual({ success: false, error: 'No space left on device' });
  });

  it('answers "Unknown method: X", and "Unknown method: None" when there is no method', async () => {
    const unknown = await server.call(address, { call: { method: 'drop_tables', params: {} } });
    expect('reply' in unknown && unknown.reply).toEqual({ success: false, error: 'Unknown method: drop_tables' });
    const none = await server.call(address, { call: { params: {} } });
    expect('reply' in none && none.reply).toEqual({ success: false, error: 'Unknown method: None' });
  });

  it('answers "Invalid JSON" to a frame that is not JSON, and keeps answering', async () => {
    const bad = await server.call(address, { send: '{"method": "echo_channel", "params": {' });
    expect('reply' in bad && bad.reply).toEqual({ success: false, error: 'Invalid JSON' });
    const list = await server.call(address, { send: '[1, 2]' });
    expect('reply' in list && list.reply.success).toBe(false);
    const after = await server.call(address, { call: { method: 'ping' } });
    expect('reply' in after && after.reply.message).toBe('pong');
  });

  it('drops a peer that sends a request over 1 MiB instead of buffering it, and keeps serving others', async () => {
    const huge = await server.call(address, { call: { method: 'echo_channel', params: { channel_id: 1, note: 'x'.repeat(2 * 1024 * 1024) } } }, 1_500);
    expect(huge).toMatchObject({ timeout: true });
    const after = await server.call(address, { call: { method: 'ping' } });
    expect('reply' in after && after.reply.message).toBe('pong');
    expect(runs.echo_channel ?? 0).toBe(1);
  });

  it('names the bad param and what is wrong with it', async () => {
    const letters = await server.call(address, { call: { method: 'echo_channel', params: { channel_id: 'general' } } });
    expect('reply' in letters && letters.reply).toEqual({ success: false, error: expect.stringMatching(/^channel_id: got "general", expected a Discord ID/) });
    const missing = await server.call(address, { call: { method: 'echo_channel', params: {} } });
    expect('reply' in missing && missing.reply).toEqual({ success: false, error: expect.stringMatching(/^channel_id: got \(missing\), expected/) });
    const extra = await server.call(address, { call: { method: 'echo_channel', params: { channel_id: 1, colour: 3 } } });
    expect('reply' in extra && extra.reply.error).toMatch(/^colour: .*unknown key/);
    const notObject = await server.call(address, { call: { method: 'echo_channel', params: [1] } });
    expect('reply' in notObject && notObject.reply.error).toMatch(/^params: got \[1\], expected object/);
  });

  it('answers a call still running after replyTimeoutMs "pending" in time, runs its retry once, and gives later retries the first result', async () => {
    const call = { method: 'slow_post', params: { channel_id: 100000000000000101n, content: 'nightly report' } };
    const first = await server.call(address, { call });
    // Answered well inside ScheduleZero's 10 s, not a timeout.
    expect('reply' in first && first.reply).toMatchObject({ success: true, pending: true, status: 'accepted', method: 'slow_post' });
    // ScheduleZero's retry of the same call while it runs joins it instead of posting twice.
    const retry = await server.call(address, { call });
    expect('reply' in retry && retry.reply.pending).toBe(true);
    expect(runs.slow_post).toBe(1);
    release?.();
    await new Promise((r) => setTimeout(r, 50));
    const late = await server.call(address, { call });
    expect('reply' in late && late.reply).toEqual({ success: true, message_id: '900000000000000001', channel_id: '100000000000000101' });
    expect(runs.slow_post).toBe(1);
    expect(await metrics.value(metrics.jobsTotal, { method: 'slow_post', outcome: 'success' })).toBe(1);
    expect(await metrics.value(metrics.jobsTotal, { method: 'slow_post', outcome: 'duplicate' })).toBe(2);
    expect(lines().some((l) => String(l.msg).startsWith('job slow_post from schedulezero: success'))).toBe(true);
  });

  it('counts every call by method and outcome, unknown methods under one label', async () => {
    expect(await metrics.value(metrics.jobsTotal, { method: '(unknown)', outcome: 'unknown_method' })).toBe(1);
    expect(await metrics.value(metrics.jobsTotal, { method: 'echo_channel', outcome: 'invalid' })).toBe(4);
    expect(await metrics.value(metrics.jobsTotal, { method: 'fails', outcome: 'error' })).toBe(1);
  });
});

describe('JobEndpoint allow_ips (ZAP)', () => {
  it('refuses a peer whose IP is not listed and serves one that is', async () => {
    const { logger } = captureLogger('info');
    const registry = new JobRegistry({ discord: () => ({}) as Client, logger });
    const denied = new JobEndpoint({ registry, handlerId: 'zap-bot', bind: 'tcp://127.0.0.1:0', allowIps: ['10.9.8.7', '192.168.0.0/16'], logger });
    const allowed = new JobEndpoint({ registry, handlerId: 'zap-bot', bind: 'tcp://127.0.0.1:0', allowIps: ['127.0.0.0/8'], logger });
    const server = await PythonScheduleZero.start();
    try {
      const deniedAt = await denied.start();
      const allowedAt = await allowed.start();
      const refused = await server.call(deniedAt, { call: { method: 'ping' } }, 1_500);
      expect(refused).toMatchObject({ timeout: true });
      expect(denied.stats().refusedConnections).toBeGreaterThan(0);
      const served = await server.call(allowedAt, { call: { method: 'ping' } });
      expect('reply' in served && served.reply.handler_id).toBe('zap-bot');
    } finally {
      await server.stop();
      await denied.stop();
      await allowed.stop();
    }
  });
});
