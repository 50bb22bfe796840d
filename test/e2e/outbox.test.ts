import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { APIEmbed, REST } from 'discord.js';
import { jobFailedEmbed } from '../../src/discord/embeds/index.ts';
import { createOutboxRest, Outbox, OutboxError, type OutboxOptions } from '../../src/discord/outbox/index.ts';
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
  sandbox = new SandboxServer({ channels: [{ name: 'alerts' }, { name: 'ops' }, { name: 'fallback' }], logger: createLogger({ level: 'silent' }) });
  address = await sandbox.start();
  alerts = sandbox.channelId('alerts');
  ops = sandbox.channelId('ops');
  rest = createOutboxRest(address.apiUrl).setToken(address.token);
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
    expect(await metrics.value(metrics.discordRequests, { outcome: 'rate_limited' })).toBe(3);
    // Logged at warn, throttled: three 429s within seconds make one line.
    expect(logLines.filter((l) => l.level === 40 && String(l.msg).startsWith('Discord rate limit'))).toHaveLength(1);
    const stats = await sandboxGet<Stats>('/sandbox/stats');
    expect(stats.faultsServed['429']).toBe(3);
    expect(stats.rateLimited.route).toBe(0);
    expect(eventsCarried(await messagesIn(alerts))).toBe(20);
    await expectInvariant();
  });

  it('502 six times: the Outbox alone retries (discord.js does not), every attempt counted, then delivered; nothing undeliverable', async () => {
    const box = makeOutbox();
    await fault(alerts, 502, 6);
    for (let i = 0; i < 5; i++) box.post(alerts, failure(i));
    await waitFor('5 events posted', async () => (await metrics.value(metrics.eventsPosted)) === 5);
    expect(await metrics.value(metrics.discordErrors, { status: '502' })).toBe(6);
    expect((await sandboxGet<Stats>('/sandbox/stats')).faultsServed['502']).toBe(6);
    // One attempt per 502 and one that went through: no hidden retries inside the REST client.
    expect(await metrics.value(metrics.discordRequests, { outcome: 'server_error' })).toBe(6);
    expect(await metrics.value(metrics.discordRequests, { outcome: 'ok' })).toBe(1);
    expect(await metrics.value(metrics.eventsUndeliverable)).toBe(0);
    expect(logLines.filter((l) => String(l.msg).includes('cannot take messages for channel'))).toHaveLength(1);
    expect(eventsCarried(await messagesIn(alerts))).toBe(5);
    await expectInvariant();
  });

  it('a 403 on one channel: reported once, its alerts held (not counted lost) and re-probed; the fallback gets a notice and copies; fixed, the held alerts are delivered', async () => {
    const fallback = sandbox.channelId('fallback');
    const box = makeOutbox({ probeBaseDelayMs: 200, probeMaxDelayMs: 400, fallbackChannelId: fallback });
    const unavailable: unknown[] = [];
    const restored: unknown[] = [];
    box.on('channel-unavailable', (e) => unavailable.push(e));
    box.on('channel-restored', (e) => restored.push(e));
    await fault(alerts, 403, 1000);
    for (let i = 0; i < 5; i++) {
      box.post(alerts, failure(i));
      box.post(ops, failure(100 + i));
    }
    await waitFor('the other channel posts, the fallback has its notice and the copies', async () => {
      const copies = eventsCarried((await messagesIn(fallback)).filter((m) => m.embeds.length > 0));
      return eventsCarried(await messagesIn(ops)) === 5 && copies === 5;
    });
    const notice = (await messagesIn(fallback)).find((m) => m.content !== '')!;
    expect(notice.content).toMatch(new RegExp(`cannot post to <#${alerts}>: 403 Missing Permissions, \\d+ alerts held`));
    expect(await messagesIn(alerts)).toEqual([]);
    expect(await metrics.value(metrics.eventsUndeliverable)).toBe(0);
    expect(box.channels()[alerts]).toMatchObject({ state: 'refused', status: 403, pending: 5 });
    expect(box.problems()).toEqual([expect.stringMatching(new RegExp(`cannot post to channel ${alerts}: 403`))]);

    // Re-probed with backoff while it stays refused; a later alert is held and copied too.
    const probes = (await sandboxGet<Stats>('/sandbox/stats')).faultsServed['403']!;
    box.post(alerts, failure(10));
    await waitFor('two more probes', async () => (await sandboxGet<Stats>('/sandbox/stats')).faultsServed['403']! >= probes + 2);
    const errors = logLines.filter((l) => l.level === 50 && l.channelId === alerts);
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!.msg)).toMatch(new RegExp(`channel ${alerts}.*Send Messages.*alerts are held`));
    expect(unavailable).toHaveLength(1);
    await waitFor('the later alert copied', async () => eventsCarried((await messagesIn(fallback)).filter((m) => m.embeds.length > 0)) === 6);
    await expectInvariant();

    // The permission is fixed: the next probe gets through and every held alert is delivered, once.
    await clearFaults();
    await waitFor('the held alerts delivered', async () => eventsCarried(await messagesIn(alerts)) === 6);
    expect(restored).toEqual([expect.objectContaining({ channelId: alerts, state: 'refused' })]);
    expect(box.unavailableChannels()).toEqual({});
    expect(box.problems()).toEqual([]);
    await waitFor('nothing pending', () => box.pending() === 0);
    expect(await metrics.value(metrics.eventsUndeliverable)).toBe(0);
    await expectInvariant();
  });

  it('a 403 while direct sends (a repeat series\' first alerts) are queued or sent: the fallback gets a copy of each, and each is delivered once when access returns', async () => {
    // Without copies of direct sends, only the refused one reached the fallback: the one queued behind it and the one sent later did not.
    const fallback = sandbox.channelId('fallback');
    const box = makeOutbox({ probeBaseDelayMs: 200, probeMaxDelayMs: 400, fallbackChannelId: fallback });
    await fault(alerts, 403, 1000);
    const direct = (i: number): Promise<{ id: string }> => box.send(alerts, { embeds: [failure(i).embed] }, { topic: 'job.failed', events: 1, nonce: `direct-${i}` });
    const sent = [direct(1), direct(2)];
    await waitFor('the channel refused', () => box.channels()[alerts]?.state === 'refused');
    sent.push(direct(3));
    const copied = async (): Promise<string[]> =>
      (await messagesIn(fallback)).flatMap((m) => m.embeds.map((e) => e.fields?.find((f) => f.name === 'Job ID')?.value ?? '')).sort();
    await waitFor('a copy of each direct alert on the fallback', async () => (await copied()).length === 3);
    expect(await copied()).toEqual(['`j-1`', '`j-2`', '`j-3`']);
    expect(await messagesIn(alerts)).toEqual([]);
    await clearFaults();
    await Promise.all(sent);
    expect(eventsCarried(await messagesIn(alerts))).toBe(3);
    await waitFor('nothing pending', () => box.pending() === 0);
    expect(await metrics.value(metrics.eventsUndeliverable)).toBe(0);
    await expectInvariant();
  });

  it('404 on a channel: held and re-probed, the error logged once naming notification_channels', async () => {
    const box = makeOutbox({ probeBaseDelayMs: 100, probeMaxDelayMs: 100 });
    await fault(ops, 404, 3);
    box.post(ops, failure(1));
    box.post(ops, failure(2));
    await waitFor('both delivered after the 404s', async () => eventsCarried(await messagesIn(ops)) === 2);
    const errors = logLines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!.msg)).toMatch(/notification_channels/);
    expect(await metrics.value(metrics.eventsUndeliverable)).toBe(0);
    await expectInvariant();
  });

  it('an alert pending longer than max_age is counted expired, and the channel gets one "expired during the outage" notice when it recovers', async () => {
    const box = makeOutbox({ maxAgeMs: 300, retryBaseDelayMs: 100, retryMaxDelayMs: 200 });
    await fault(alerts, 500, 1000);
    for (let i = 0; i < 3; i++) box.post(alerts, failure(i));
    await waitFor('3 expired', async () => (await metrics.value(metrics.eventsUndeliverable, { reason: 'expired' })) === 3);
    await clearFaults();
    box.post(alerts, { ...failure(9), receivedAt: Date.now() + 10_000 });
    await waitFor('the notice and the new alert', async () => (await messagesIn(alerts)).length === 2);
    const contents = (await messagesIn(alerts)).map((m) => m.content);
    expect(contents.filter((c) => /3 alerts expired during the outage/.test(c))).toHaveLength(1);
    expect(box.channels()[alerts]!.undeliverable).toEqual({ expired: 3 });
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
    expect(await box.drain(20_000)).toEqual({ drained: true, left: 0, kept: 0, abandoned: 0 });
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
    // The default store is in memory: what is left dies with the process, so it is counted.
    expect(await box.drain(700)).toEqual({ drained: false, left: 4, kept: 0, abandoned: 4 });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await metrics.value(metrics.eventsUndeliverable, { reason: 'shutdown' })).toBe(4);
    expect(await metrics.value(metrics.eventsPosted)).toBe(1);
    expect(box.pending()).toBe(0);
    await expectInvariant();
  });
});
