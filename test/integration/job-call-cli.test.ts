import type { Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JobEndpoint } from '../../src/jobs/endpoint.ts';
import { discordId } from '../../src/jobs/params.ts';
import { JobRegistry } from '../../src/jobs/registry.ts';
import { defineSprocket } from '../../src/jobs/sprocket.ts';
import { captureLogger, freePort, runCli } from '../helpers/transport.ts';

const echo = defineSprocket({
  name: 'echo',
  methods: {
    echo_channel: { params: z.object({ channel_id: discordId }).strict(), run: ({ channel_id }) => ({ channel_id }) },
  },
});

describe('zmq-notify call METHOD [JSON] [-e ENDPOINT]', () => {
  let endpoint: JobEndpoint;
  let address: string;

  beforeAll(async () => {
    const { logger } = captureLogger('info');
    const registry = new JobRegistry({ discord: () => ({}) as Client, logger });
    registry.load(echo);
    endpoint = new JobEndpoint({ registry, handlerId: 'cli-bot', bind: 'tcp://127.0.0.1:0', logger });
    address = await endpoint.start();
  });
  afterAll(() => endpoint?.stop());

  it('sends a 19-digit integer as the same JSON number and prints the reply; exit 0 on success', async () => {
    const result = await runCli(['call', 'echo_channel', '{"channel_id": 1234567890123456789}', '-e', address]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ success: true, channel_id: '1234567890123456789' });
  });

  it('prints a failure reply and exits 1 (an unknown method)', async () => {
    const result = await runCli(['call', 'drop_tables', '-e', address]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ success: false, error: 'Unknown method: drop_tables' });
  });

  it('answers ping with the handler id', async () => {
    const result = await runCli(['call', 'ping', '-e', address]);
    expect(JSON.parse(result.stdout)).toEqual({ success: true, message: 'pong', handler_id: 'cli-bot' });
  });

  it('exits 2 for a JSON argument that is not an object, and 1 when nobody answers in time', async () => {
    const bad = await runCli(['call', 'echo_channel', '[1]', '-e', address]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/JSON argument must be a JSON object/);
    const nobody = await runCli(['call', 'ping', '-e', `tcp://127.0.0.1:${await freePort()}`, '--timeout-ms', '300']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/no reply from tcp:\/\/127\.0\.0\.1:\d+ within 300 ms/);
  });

  it('finds the endpoint in the config: tcp://handler_host:handler_port', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-call-'));
    const port = Number(address.split(':').at(-1));
    writeFileSync(join(dir, 'schedulezero.yaml'), `handler_id: cli-bot\nhandler_port: ${port}\nserver_address: tcp://127.0.0.1:4242\napi_endpoint: http://localhost:8888\n`);
    writeFileSync(join(dir, 'bot.yaml'), 'schedulezero: schedulezero.yaml\n');
    const result = await runCli(['call', 'ping', '-c', join(dir, 'bot.yaml')]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).handler_id).toBe('cli-bot');
  });
});
