import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REST, type APIEmbed } from 'discord.js';
import { jobFailedEmbed } from '../../src/discord/embeds/index.ts';
import { Outbox, OutboxError, type OutboxOptions } from '../../src/discord/outbox/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { SandboxServer, type MessageView, type SandboxAddress } from '../../src/sandbox/index.ts';
import { eventsCarried, messageProblems } from '../helpers/embed-checks.ts';

let sandbox: SandboxServer;
let address: SandboxAddress;
let rest: REST;
let metrics: Metrics;
let logLines: Record<string, unknown>[];
let outbox: Outbox | undefined;
let alerts: string;
let ops: string;

beforeEach(async () => {
  sandbox = new SandboxServer({ channels: [{ name: 'alerts' }, { name: 'ops' }], logger: createLogger({ level: 'silent' }) });
  address = await sandbox.start();
  alerts = sandbox.channelId('alerts');
  ops = sandbox.channelId('ops');
  rest = new REST({ api: address.apiUrl }).setToken(address.token);
  metrics = new Metrics({ defaultMetrics: false });
  logLines = [];
});

afterEach(async () => {
  await outbox?.drain(1000);
  outbox = undefined;
  rest.clearHashSweeper();
  rest.clearHandlerSweeper();
  await sandbox.stop();
});

function makeOutbox(options: Partial<OutboxOptions> = {}): Outbox {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  outbox = new Outbox({ rest, metrics, logger, retryBaseDelayMs: 50, ...options });
  return outbox;
}

function failure(i: number, extra: Record<string, unknown> = {}): { embed: APIEmbed; topic: string; label: string; receivedAt: number } {
  const receivedAt = Date.now();
  const embed = jobFailedEmbed({
    topic: 'job.failed',
    data: { job_id: `j-${i}`, job_name: `etl-${i}`, error: `boom ${i} @everyone`, retry_count: 1, traceback: `Traceback:\n  File "x.py", line ${i}\nValueError: ${i}`, ...extra },
    meta: { receivedAt, seq: i, src: 'sched' },
  });
  return { embed, topic: 'job.failed', label: `etl-${i}`, receivedAt };
}

async function sandboxGet<T>(path: string): Promise<T> {
  const res = await fetch(`${address.url}${path}`);
  return (await res.json()) as T;
}

async function fault(channelId: string, status: number, count: number, retryAfter?: number): Promise<void> {
  const res = await fetch(`${address.url}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel_id: channelId, status, count, ...(retryAfter === undefined ? {} : { retry_after: retryAfter }) }),
  });
  expect(res.status).toBe(201);
}

async function clearFaults(): Promise<void> {
  await fetch(`${address.url}/sandbox/faults`, { method: 'DELETE' });
}

interface Stats {
  rateLimited: { total: number; route: number; global: number; injected: number };
  rejectedPayloads: number;
  messages: { created: number; edited: number };
  faultsServed: Record<string, number>;
}

const messagesIn = (channelId: string): Promise<MessageView[]> => sandboxGet<MessageView[]>(`/sandbox/messages?channel_id=${channelId}`);

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function counts(): Promise<{ toOutbox: number; posted: number; undeliverable: number; pending: number }> {
  return {
    toOutbox: await metrics.value(metrics.eventsToOutbox),
    posted: await metrics.value(metrics.eventsPosted),
    undeliverable: await metrics.value(metrics.eventsUndeliverable),
    pending: outbox?.pending() ?? 0,
  };
}

async function expectInvariant(): Promise<void> {
  const c = await counts();
  expect(c.toOutbox).toBe(c.posted + c.pending + c.undeliverable);
  expect(await metrics.value(metrics.outboxPending)).toBe(c.pending);
}

describe('Outbox against the sandbox Discord', () => {
  it('500 job.failed posted at once to one channel: all 500 reach Discord in a few messages, with no 429', async () => {
    const box = makeOutbox();
    const started = Date.now();
    for (let i = 0; i < 500; i++) box.post(alerts, failure(i));
    expect(box.pending()).toBe(500);
    await expectInvariant();
    await waitFor('500 events posted', async () => (await metrics.value(metrics.eventsPosted)) === 500, 30_000);
    const seconds = (Date.now() - started) / 1000;

    const stats = await sandboxGet<Stats>('/sandbox/stats');
    const messages = await messagesIn(alerts);
    expect(stats.rateLimited.total).toBe(0);
    expect(await metrics.value(metrics.discordRateLimited)).toBe(0);
    expect(messages.length).toBeLessThanOrEqual(10);
    expect(await metrics.value(metrics.discordMessagesSent)).toBe(messages.length);
    expect(eventsCarried(messages)).toBe(500);
    for (const m of messages) expect(messageProblems(m.embeds)).toEqual([]);
    expect(messages.at(-1)!.embeds.at(-1)!.title).toMatch(/digest/);
    const histogram = (await metrics.eventToPost.get()).values.find((v) => v.metricName === 'zmq_notify_event_to_post_seconds_count');
    expect(histogram?.value).toBe(500);
    expect(seconds).toBeLessThan(30);
    await expectInvariant();
    expect(box.pending()).toBe(0);
  });

  it('a steady 40 events/s for 5 s to one channel: sends are paced over the window, so no event waits for a whole window (no 429)', async () => {
    const box = makeOutbox();
    // Events are posted and carried in order (digests take the whole queue), so the n-th event
    // counted by a 'posted' report is the n-th event handed over.
    const handedAt: number[] = [];
    const postedAt: number[] = [];
    box.on('posted', ({ events }) => {
      for (let i = 0; i < events; i++) postedAt.push(Date.now());
    });
    for (let i = 0; i < 200; i++) {
      handedAt.push(Date.now());
      box.post(alerts, failure(i));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await waitFor('200 events posted', async () => (await metrics.value(metrics.eventsPosted)) === 200);
    const waits = handedAt.map((at, i) => postedAt[i]! - at);
    // The first event, on an idle channel, goes at once.
    expect(waits[0]).toBeLessThan(1000);
    // Paced, every event goes within about a second (spending the window at once left events waiting ~5 s).
    expect(Math.max(...waits)).toBeLessThan(2500);
    const messages = await messagesIn(alerts);
    expect(eventsCarried(messages)).toBe(200);
    expect(messages.length).toBeLessThanOrEqual(10);
    expect((await sandboxGet<Stats>('/sandbox/stats')).rateLimited.total).toBe(0);
    expect(await metrics.value(metrics.discordRateLimited)).toBe(0);
    await expectInvariant();
  });

  it('every message goes out with mentions disabled, even a direct send whose content says @everyone', async () => {
    const box = makeOutbox();
    const { id } = await box.send(alerts, { content: '@everyone <@&123> look', embeds: [failure(1).embed] });
    const message = (await messagesIn(alerts)).find((m) => m.id === id)!;
    expect(message.content).toBe('@everyone <@&123> look');
    expect(message.mentions).toEqual({ users: [], roles: [], everyone: false, here: false });
  });

  it('12 sequential sends leave no abort listeners behind (no MaxListenersExceededWarning from a long-lived signal)', async () => {
    const box = makeOutbox();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      // More than the 10 listeners Node warns about, spread over 3 channels to stay inside their rate limits.
      const channels = [alerts, ops, sandbox.channelId('general')];
      for (let i = 0; i < 12; i++) await box.send(channels[i % 3]!, { content: `n${i}` });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('a 429 storm (3 injected 429s): waited out, each counted, all 20 events delivered', async () => {
    const box = makeOutbox();
    await fault(alerts, 429, 3, 0.2);
    for (let i = 0; i < 20; i++) box.post(alerts, failure(i));
    await waitFor('20 events posted', async () => (await metrics.value(metrics.eventsPosted)) === 20);
    expect(await metrics.value(metrics.discordRateLimited)).toBe(3);
    const stats = await sandboxGet<Stats>('/sandbox/stats');
    expect(stats.faultsServed['429']).toBe(3);
    expect(stats.rateLimited.route).toBe(0);
    expect(eventsCarried(await messagesIn(alerts))).toBe(20);
    await expectInvariant();
  });

  it('502 six times (beyond the REST client\'s own 3 retries), then recovery: delivered after backoff', async () => {
    const box = makeOutbox();
    await fault(alerts, 502, 6);
    for (let i = 0; i < 5; i++) box.post(alerts, failure(i));
    await waitFor('5 events posted', async () => (await metrics.value(metrics.eventsPosted)) === 5);
    expect(await metrics.value(metrics.discordErrors, { status: '502' })).toBe(6);
    expect(await metrics.value(metrics.eventsUndeliverable)).toBe(0);
    expect(logLines.some((l) => l.msg === 'Discord request failed; retrying')).toBe(true);
    await expectInvariant();
  });

  it('500s that never stop: retried a bounded number of times, then counted undeliverable (server_error); the channel keeps working after', async () => {
    const box = makeOutbox({ maxRetries: 1 });
    await fault(alerts, 500, 1000);
    for (let i = 0; i < 3; i++) box.post(alerts, failure(i));
    await waitFor('3 events undeliverable', async () => (await metrics.value(metrics.eventsUndeliverable, { reason: 'server_error' })) === 3);
    // The REST client tries 4 times per call; the Outbox calls twice (1 retry).
    expect(await metrics.value(metrics.discordErrors, { status: '500' })).toBe(8);
    await clearFaults();
    box.post(alerts, failure(9));
    await waitFor('the next event posted', async () => (await metrics.value(metrics.eventsPosted)) === 1);
    await expectInvariant();
  });

  it('403 on one channel: reported once, its events (pending and later) counted forbidden, the other channel unaffected, healed after the cooldown', async () => {
    const box = makeOutbox({ unavailableCooldownMs: 1500 });
    const unavailable: unknown[] = [];
    const restored: unknown[] = [];
    box.on('channel-unavailable', (e) => unavailable.push(e));
    box.on('channel-restored', (e) => restored.push(e));
    await fault(alerts, 403, 1000);
    for (let i = 0; i < 5; i++) {
      box.post(alerts, failure(i));
      box.post(ops, failure(100 + i));
    }
    await waitFor('5 forbidden + 5 posted', async () => (await metrics.value(metrics.eventsUndeliverable, { reason: 'forbidden' })) === 5 && (await metrics.value(metrics.eventsPosted)) === 5);
    expect(eventsCarried(await messagesIn(ops))).toBe(5);
    expect(await messagesIn(alerts)).toEqual([]);
    expect(Object.keys(box.unavailableChannels())).toEqual([alerts]);

    // Later events for the refused channel are counted at once, without a request.
    const served = (await sandboxGet<Stats>('/sandbox/stats')).faultsServed['403'];
    for (let i = 0; i < 3; i++) box.post(alerts, failure(10 + i));
    expect(await metrics.value(metrics.eventsUndeliverable, { reason: 'forbidden' })).toBe(8);
    expect((await sandboxGet<Stats>('/sandbox/stats')).faultsServed['403']).toBe(served);
    await expect(box.send(alerts, { content: 'x' })).rejects.toMatchObject({ reason: 'forbidden' });

    const errors = logLines.filter((l) => l.level === 50 && l.channelId === alerts);
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!.msg)).toMatch(new RegExp(`channel ${alerts}.*Send Messages`));
    expect(unavailable).toHaveLength(1);
    await expectInvariant();

    // The permission is fixed: after the cooldown the next event tries again and gets through.
    await clearFaults();
    await new Promise((resolve) => setTimeout(resolve, 1600));
    box.post(alerts, failure(20));
    await waitFor('the healed channel posts', async () => (await messagesIn(alerts)).length === 1);
    expect(restored).toEqual([{ channelId: alerts }]);
    expect(box.unavailableChannels()).toEqual({});
    await expectInvariant();
  });

  it('404 on a channel counts its events not_found', async () => {
    const box = makeOutbox();
    await fault(ops, 404, 1);
    box.post(ops, failure(1));
    box.post(ops, failure(2));
    await waitFor('2 not_found', async () => (await metrics.value(metrics.eventsUndeliverable, { reason: 'not_found' })) === 2);
    expect(String(logLines.find((l) => l.level === 50)?.msg)).toMatch(/notification_channels/);
    await expectInvariant();
  });

  it('an oversized embed from a module (10k description, 30 fields) is fitted and delivered, not rejected', async () => {
    const box = makeOutbox();
    const embed: APIEmbed = { title: 'big', description: 'd'.repeat(10_000), fields: Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, value: 'v'.repeat(1500) })) };
    box.post(alerts, { embed, topic: 'custom.big' });
    await waitFor('1 posted', async () => (await metrics.value(metrics.eventsPosted)) === 1);
    const [message] = await messagesIn(alerts);
    expect(messageProblems(message!.embeds)).toEqual([]);
    expect(message!.embeds[0]!.description).toMatch(/truncated [\d,]+ chars/);
    expect((await sandboxGet<Stats>('/sandbox/stats')).rejectedPayloads).toBe(0);
  });

  it('a merged message rejected with 400 is split: the good embeds are delivered, the bad one counted rejected', async () => {
    const box = makeOutbox();
    // All four are queued before the first send starts, so they go out merged in one message.
    box.post(alerts, failure(0));
    box.post(alerts, failure(1));
    box.post(alerts, { ...failure(2), embed: { ...failure(2).embed, color: 0x1000000 } });
    box.post(alerts, failure(3));
    await waitFor('3 posted, 1 rejected', async () => (await metrics.value(metrics.eventsPosted)) === 3 && (await metrics.value(metrics.eventsUndeliverable, { reason: 'rejected' })) === 1);
    const stats = await sandboxGet<Stats>('/sandbox/stats');
    expect(stats.rejectedPayloads).toBe(2);
    const titles = (await messagesIn(alerts)).flatMap((m) => m.embeds.map((e) => e.title));
    expect(titles).toEqual(['❌ Job failed: etl-0', '❌ Job failed: etl-1', '❌ Job failed: etl-3']);
    expect(logLines.some((l) => l.msg === 'Discord rejected a merged message; sending each embed on its own')).toBe(true);
    await expectInvariant();
  });

  it('send returns the message id; edit replaces it; rapid edits collapse into the newest; a gone message rejects without blocking the channel', async () => {
    const box = makeOutbox();
    const { id } = await box.send(alerts, { embeds: [{ title: 'first failure' }] }, { topic: 'job.failed' });
    expect(id).toMatch(/^\d{17,20}$/);
    await box.edit(alerts, id, { embeds: [{ title: 'failed 2 times' }] }, { topic: 'job.failed' });
    let message = (await messagesIn(alerts)).find((m) => m.id === id)!;
    expect(message.embeds[0]!.title).toBe('failed 2 times');
    expect(message.edited_timestamp).not.toBeNull();

    const edits = [3, 4, 5, 6, 7].map((n) => box.edit(alerts, id, { embeds: [{ title: `failed ${n} times` }] }, { topic: 'job.failed' }));
    expect(await Promise.all(edits)).toEqual(edits.map(() => ({ id })));
    message = (await messagesIn(alerts)).find((m) => m.id === id)!;
    expect(message.embeds[0]!.title).toBe('failed 7 times');
    expect((await sandboxGet<Stats>('/sandbox/stats')).messages.edited).toBeLessThan(6);
    expect(await metrics.value(metrics.eventsPosted)).toBe(7);

    const gone = box.edit(alerts, '1234567890123456789', { content: 'x' }, { topic: 'job.failed' });
    await expect(gone).rejects.toBeInstanceOf(OutboxError);
    await expect(gone).rejects.toMatchObject({ reason: 'not_found' });
    box.post(alerts, failure(1));
    await waitFor('a post after the failed edit', async () => (await metrics.value(metrics.eventsPosted)) === 8);
    await expectInvariant();
  });

  it('drain posts what is pending and resolves true; later posts are counted undeliverable (shutdown)', async () => {
    const box = makeOutbox();
    for (let i = 0; i < 60; i++) box.post(i % 2 === 0 ? alerts : ops, failure(i));
    expect(await box.drain(20_000)).toBe(true);
    expect(await metrics.value(metrics.eventsPosted)).toBe(60);
    expect(eventsCarried(await messagesIn(alerts)) + eventsCarried(await messagesIn(ops))).toBe(60);
    box.post(alerts, failure(99));
    expect(await metrics.value(metrics.eventsUndeliverable, { reason: 'shutdown' })).toBe(1);
    await expect(box.send(alerts, { content: 'late' }, { topic: 'x' })).rejects.toMatchObject({ reason: 'shutdown' });
    await expectInvariant();
  });

  it('drain that cannot finish in time (channel told to wait 5 s) counts the rest as shutdown and resolves false', async () => {
    const box = makeOutbox();
    await fault(alerts, 429, 1, 5);
    for (let i = 0; i < 4; i++) box.post(alerts, failure(i));
    box.post(ops, failure(10));
    const started = Date.now();
    expect(await box.drain(700)).toBe(false);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await metrics.value(metrics.eventsUndeliverable, { reason: 'shutdown' })).toBe(4);
    expect(await metrics.value(metrics.eventsPosted)).toBe(1);
    expect(box.pending()).toBe(0);
    await expectInvariant();
  });
});
