import type { Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/sandbox/index.ts';
import { connectClient, getJson, startSandbox, textChannel, type StartedSandbox } from '../helpers/sandbox.ts';

interface Stats {
  requests: { byRoute: Record<string, number> };
  rateLimited: { total: number; route: number; global: number };
}

const windowMs = 400;

describe('sandbox rate limits: per-channel message bucket', () => {
  let started: StartedSandbox;
  let client: Client<true>;

  beforeAll(async () => {
    // Discord's 5 messages per channel, with a short window so the test stays quick.
    started = await startSandbox({ channels: [{ name: 'burst' }, { name: 'raw' }], rateLimits: { messagesPerWindow: 5, windowMs } });
    client = await connectClient(started.address);
  });

  afterAll(async () => {
    await client?.destroy();
    await started?.sandbox.stop();
  });

  it('20 rapid sends to one channel all arrive through discord.js\'s own rate-limit handling, never more than 5 in any window', async () => {
    const channel = textChannel(client, started.sandbox, 'burst');
    const began = Date.now();
    const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => channel.send(`burst ${i}`)));
    const elapsed = Date.now() - began;
    expect(sent).toHaveLength(20);
    const stored = await getJson<MessageView[]>(`${started.address.url}/sandbox/messages?channel_id=${channel.id}`);
    expect(stored.map((m) => m.content).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `burst ${i}`).sort());
    // The 6th message after any message came a full window later (a few ms of slack: the
    // limiter and the message ID read the clock separately).
    const times = stored.map((m) => Date.parse(m.timestamp)).sort((a, b) => a - b);
    for (let i = 0; i + 5 < times.length; i++) expect(times[i + 5]! - times[i]!).toBeGreaterThanOrEqual(windowMs - 20);
    // 20 messages at 5 per window cannot take less than 3 windows.
    expect(elapsed).toBeGreaterThanOrEqual(3 * windowMs - 20);
    // Every 429 served was retried by discord.js: attempts = 20 successes + the 429s.
    const stats = await getJson<Stats>(`${started.address.url}/sandbox/stats`);
    expect(stats.requests.byRoute['POST /channels/:channel_id/messages']).toBe(20 + stats.rateLimited.route);
  });

  it('a client that ignores the headers gets 429s with retry_after and the X-RateLimit-* headers discord.js reads', async () => {
    const channelId = started.sandbox.channelId('raw');
    const send = (): Promise<Response> =>
      fetch(`${started.address.apiUrl}/v10/channels/${channelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${started.address.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'raw' }),
      });
    const before = await getJson<Stats>(`${started.address.url}/sandbox/stats`);
    const responses = await Promise.all(Array.from({ length: 7 }, send));
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect([ok.length, limited.length]).toEqual([5, 2]);
    for (const r of ok) {
      expect(r.headers.get('x-ratelimit-limit')).toBe('5');
      expect(Number(r.headers.get('x-ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
      expect(Number(r.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(0);
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1);
      expect(r.headers.get('x-ratelimit-bucket')).toMatch(/^[0-9a-f]{32}$/);
    }
    const body = (await limited[0]!.json()) as { message: string; retry_after: number; global: boolean };
    expect(body.message).toBe('You are being rate limited.');
    expect(body.global).toBe(false);
    expect(body.retry_after).toBeGreaterThan(0);
    expect(body.retry_after).toBeLessThanOrEqual(windowMs / 1000);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeCloseTo(body.retry_after, 3);
    expect(limited[0]!.headers.get('x-ratelimit-scope')).toBe('user');
    expect(limited[0]!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited[0]!.headers.has('x-ratelimit-global')).toBe(false);
    const after = await getJson<Stats>(`${started.address.url}/sandbox/stats`);
    expect(after.rateLimited.route - before.rateLimited.route).toBe(2);
    expect(started.sandbox.messages(channelId)).toHaveLength(5);
  });
});

describe('sandbox rate limits: the global requests-per-second limit', () => {
  let started: StartedSandbox;
  let client: Client<true>;

  beforeAll(async () => {
    // A global limit far below discord.js's assumed 50/s, so the client meets real global 429s.
    started = await startSandbox({ channels: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], rateLimits: { globalPerSecond: 5 } });
    client = await connectClient(started.address);
    // Let the login's requests leave the one-second window.
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });

  afterAll(async () => {
    await client?.destroy();
    await started?.sandbox.stop();
  });

  it('answers over-limit requests with a global 429 (X-RateLimit-Global, scope global, global: true)', async () => {
    const responses = await Promise.all(Array.from({ length: 7 }, () => fetch(`${started.address.apiUrl}/v10/users/@me`, { headers: { authorization: `Bot ${started.address.token}` } })));
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBe(2);
    expect(limited[0]!.headers.get('x-ratelimit-global')).toBe('true');
    expect(limited[0]!.headers.get('x-ratelimit-scope')).toBe('global');
    expect(await limited[0]!.json()).toMatchObject({ global: true, message: 'You are being rate limited.' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });

  it('12 sends across 3 channels from discord.js all arrive: it waits out the global 429s it meets', async () => {
    const sends = ['a', 'b', 'c'].flatMap((name) => Array.from({ length: 4 }, (_, i) => textChannel(client, started.sandbox, name).send(`${name}${i}`)));
    const sent = await Promise.all(sends);
    expect(sent).toHaveLength(12);
    for (const name of ['a', 'b', 'c']) expect(started.sandbox.messages(started.sandbox.channelId(name))).toHaveLength(4);
    const stats = await getJson<Stats>(`${started.address.url}/sandbox/stats`);
    expect(stats.rateLimited.global).toBeGreaterThan(2);
  });
});
