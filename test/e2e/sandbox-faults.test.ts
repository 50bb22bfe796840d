import { DiscordAPIError, HTTPError, type Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, getJson, postJson, startSandbox, textChannel, type StartedSandbox } from '../helpers/sandbox.ts';

interface Stats {
  faultsServed: Record<string, number>;
  rateLimited: { injected: number };
}

// One sandbox and client; each test injects faults on its own channel through POST /sandbox/faults.
let started: StartedSandbox;
let client: Client<true>;
const names = ['f500', 'f502', 'f502x4', 'f403', 'f404', 'f429', 'other'];

beforeAll(async () => {
  started = await startSandbox({ channels: names.map((name) => ({ name })) });
  client = await connectClient(started.address, { rest: { api: `${started.address.url}/api`, retries: 3 } });
});

afterAll(async () => {
  await client?.destroy();
  await started?.sandbox.stop();
});

async function fault(name: string, status: number, count: number, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await postJson(`${started.address.url}/sandbox/faults`, { channel_id: started.sandbox.channelId(name), status, count, ...extra });
  expect(res.status).toBe(201);
}

async function served(status: number): Promise<number> {
  return (await getJson<Stats>(`${started.address.url}/sandbox/stats`)).faultsServed[String(status)] ?? 0;
}

describe('sandbox faults drive the real client\'s error paths', () => {
  it('500 once: discord.js retries by itself and the message arrives once', async () => {
    await fault('f500', 500, 1);
    const sent = await textChannel(client, started.sandbox, 'f500').send('after a 500');
    expect(sent.content).toBe('after a 500');
    expect(started.sandbox.messages(sent.channelId).map((m) => m.content)).toEqual(['after a 500']);
    expect(await served(500)).toBe(1);
  });

  it('502 (Cloudflare HTML body) once: retried, then delivered', async () => {
    await fault('f502', 502, 1);
    await textChannel(client, started.sandbox, 'f502').send('after a 502');
    expect(started.sandbox.messages(started.sandbox.channelId('f502'))).toHaveLength(1);
    expect(await served(502)).toBeGreaterThanOrEqual(1);
  });

  it('502 more times than the client retries (3 retries, 4 faults): surfaced as HTTPError 502, nothing stored', async () => {
    await fault('f502x4', 502, 4);
    const err = await textChannel(client, started.sandbox, 'f502x4').send('never').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HTTPError);
    expect((err as HTTPError).status).toBe(502);
    expect(started.sandbox.messages(started.sandbox.channelId('f502x4'))).toHaveLength(0);
  });

  it('403: DiscordAPIError 403 Missing Permissions (50013), not retried; the next send succeeds', async () => {
    await fault('f403', 403, 1);
    const channel = textChannel(client, started.sandbox, 'f403');
    const err = await channel.send('denied').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect([(err as DiscordAPIError).status, (err as DiscordAPIError).code]).toEqual([403, 50013]);
    await channel.send('allowed again');
    expect(started.sandbox.messages(channel.id).map((m) => m.content)).toEqual(['allowed again']);
  });

  it('404: DiscordAPIError 404 Unknown Channel (10003)', async () => {
    await fault('f404', 404, 1);
    const err = await textChannel(client, started.sandbox, 'f404').send('gone').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect([(err as DiscordAPIError).status, (err as DiscordAPIError).code]).toEqual([404, 10003]);
  });

  it('429 with retry_after 0.3 s: discord.js waits it out and the message arrives', async () => {
    await fault('f429', 429, 1, { retry_after: 0.3 });
    const began = Date.now();
    await textChannel(client, started.sandbox, 'f429').send('after a 429');
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    expect(started.sandbox.messages(started.sandbox.channelId('f429'))).toHaveLength(1);
    expect((await getJson<Stats>(`${started.address.url}/sandbox/stats`)).rateLimited.injected).toBe(1);
  });

  it('a fault touches only its channel, is listed until used, and bad requests are refused with a reason', async () => {
    await fault('f404', 404, 2);
    expect(await getJson<unknown[]>(`${started.address.url}/sandbox/faults`)).toEqual([{ channel_id: started.sandbox.channelId('f404'), status: 404, remaining: 2 }]);
    await textChannel(client, started.sandbox, 'other').send('unaffected');
    expect(started.sandbox.messages(started.sandbox.channelId('other'))).toHaveLength(1);
    await fetch(`${started.address.url}/sandbox/faults`, { method: 'DELETE' });
    expect(await getJson<unknown[]>(`${started.address.url}/sandbox/faults`)).toEqual([]);
    const bad = await postJson<{ error: string }>(`${started.address.url}/sandbox/faults`, { channel_id: started.sandbox.channelId('other'), status: 418, count: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('429, 500, 502, 403, 404');
    // A form-encoded or text/plain POST (what a web page can send without a preflight) is refused.
    const crossSite = await fetch(`${started.address.url}/sandbox/faults`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ channel_id: started.sandbox.channelId('other'), status: 500 }) });
    expect(crossSite.status).toBe(400);
    expect(await getJson<unknown[]>(`${started.address.url}/sandbox/faults`)).toEqual([]);
  });
});
