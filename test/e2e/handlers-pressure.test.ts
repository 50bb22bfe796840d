import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageView } from '../../src/sandbox/index.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { channels, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';
import { eventsCarried, messageProblems } from '../helpers/embed-checks.ts';
import { postJson } from '../helpers/sandbox.ts';

// The built-in failure alerts under load and Discord faults, end to end: a Bot in sandbox mode,
// real discord.js and zeromq; faults are injected through the sandbox's POST /sandbox/faults.

let t: TestBot;
let publisher: EventPublisher;

interface SandboxStats {
  rateLimited: { total: number; route: number; global: number; injected: number };
  rejectedPayloads: number;
  faultsServed: Record<string, number>;
}

beforeAll(async () => {
  // Short retry delays so the 5xx tests do not wait for production backoff.
  t = await startTestBot({ config: { outbox: { retry_base_delay_ms: 100, retry_max_delay_ms: 500, probe_base_delay_ms: 200, probe_max_delay_ms: 500 } } });
  publisher = new EventPublisher({ endpoint: t.endpoints.pub, src: 'e2e-pressure', lingerMs: 1_000 });
  await publisher.open();
  expect(await publisher.waitForSubscriber(20_000, 'job.failed')).toBe(true);
});

afterAll(async () => {
  await publisher?.close();
  await t?.close();
});

async function stats(): Promise<SandboxStats> {
  return (await (await fetch(`${t.sandboxUrl}/sandbox/stats`)).json()) as SandboxStats;
}

async function fault(channelId: string, status: number, count: number): Promise<void> {
  const res = await postJson(`${t.sandboxUrl}/sandbox/faults`, { channel_id: channelId, status, count, ...(status === 429 ? { retry_after: 0.2 } : {}) });
  expect(res.status).toBe(201);
}

/** Posted and undeliverable events so far, from the bot's /metrics. */
async function counts(): Promise<{ posted: number; undeliverable: number; forbidden: number }> {
  const m = await t.metrics();
  return {
    posted: m.get('zmq_notify_events_posted_total'),
    undeliverable: m.sum('zmq_notify_events_undeliverable_total'),
    forbidden: m.get('zmq_notify_events_undeliverable_total{reason="forbidden"}'),
  };
}

async function outboxIdle(timeout = 30_000): Promise<void> {
  await vi.waitFor(() => expect(t.bot.outbox.pending()).toBe(0), { timeout, interval: 100 });
}

async function publishFailures(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await publisher.publish('job.failed', { job_id: `${prefix}-${i}`, job_name: `${prefix}-job-${i}`, error: `boom ${i}`, retry_count: 1, traceback: `Traceback:\n  File "w.py", line ${i}\nError: ${i}` });
  }
}

/** The failure channel's messages the sandbox stored after `before` (a list of them taken earlier). */
async function failureMessagesSince(before: readonly MessageView[]): Promise<MessageView[]> {
  const seen = new Set(before.map((m) => m.id));
  return (await t.messages(channels.job_failed)).filter((m) => !seen.has(m.id));
}

/** How many embeds carry this job id (the alerts show it as inline code). */
function embedsNaming(messages: readonly MessageView[], jobId: string): number {
  return messages.flatMap((m) => m.embeds.map(embedText)).filter((text) => text.includes(`${jobId}\``)).length;
}

function allEmbedsValid(messages: MessageView[]): string[] {
  return messages.flatMap((m) => messageProblems(m.embeds));
}

describe('built-in failure alerts under pressure and faults', () => {
  it('500 failures of 500 different jobs at once to one channel: the sandbox shows all 500 (full embeds plus digest counts), no job twice, no 429 served, within 90 s', async () => {
    const before = await counts();
    const statsBefore = await stats();
    const messagesBefore = await t.messages(channels.job_failed);
    await publishFailures('burst', 500);
    // Counted from what reached the sandbox: a full embed is one event, a digest the number in its title.
    await vi.waitFor(async () => expect(eventsCarried(await failureMessagesSince(messagesBefore))).toBe(500), { timeout: 90_000, interval: 250 });
    const messages = await failureMessagesSince(messagesBefore);
    const after = await counts();
    const statsAfter = await stats();
    expect(after.posted - before.posted).toBe(500);
    expect(after.undeliverable - before.undeliverable).toBe(0);
    expect(statsAfter.rateLimited.route - statsBefore.rateLimited.route).toBe(0);
    expect(statsAfter.rateLimited.global - statsBefore.rateLimited.global).toBe(0);
    expect(statsAfter.rejectedPayloads - statsBefore.rejectedPayloads).toBe(0);
    expect(allEmbedsValid(messages)).toEqual([]);
    // No job's alert arrived twice as a full embed.
    const fullEmbeds = Array.from({ length: 500 }, (_, i) => embedsNaming(messages, `burst-${i}`));
    expect(fullEmbeds.filter((n) => n > 1)).toEqual([]);
    // Merged and digested: far fewer messages than events.
    expect(messages.length).toBeLessThan(100);
  }, 120_000);

  it('a 429 storm on the failure channel (10 injected 429s): the sandbox shows every one of the 20 alerts, each job exactly once', async () => {
    await outboxIdle();
    const before = await counts();
    const served = (await stats()).faultsServed['429'] ?? 0;
    const messagesBefore = await t.messages(channels.job_failed);
    await fault(channels.job_failed, 429, 10);
    await publishFailures('storm', 20);
    await vi.waitFor(async () => expect(eventsCarried(await failureMessagesSince(messagesBefore))).toBe(20), { timeout: 60_000, interval: 250 });
    const messages = await failureMessagesSince(messagesBefore);
    // Twenty alerts fit in two sends, so each is a full embed of its own: every job id once, none twice.
    const perJob = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`storm-${i}`, embedsNaming(messages, `storm-${i}`)]));
    expect(perJob).toEqual(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`storm-${i}`, 1])));
    expect((await counts()).undeliverable - before.undeliverable).toBe(0);
    expect((await stats()).faultsServed['429']).toBe(served + 10);
  }, 90_000);

  it('Discord answering 502 twice and then recovering: the sandbox shows each of the 5 alerts once after the retries, none lost', async () => {
    await outboxIdle();
    const before = await counts();
    const served = (await stats()).faultsServed['502'] ?? 0;
    const messagesBefore = await t.messages(channels.job_failed);
    await fault(channels.job_failed, 502, 2);
    await publishFailures('bad-gateway', 5);
    await vi.waitFor(async () => expect(eventsCarried(await failureMessagesSince(messagesBefore))).toBe(5), { timeout: 60_000, interval: 250 });
    const messages = await failureMessagesSince(messagesBefore);
    for (let i = 0; i < 5; i++) expect(embedsNaming(messages, `bad-gateway-${i}`), `alert for bad-gateway-${i}`).toBe(1);
    expect((await counts()).posted - before.posted).toBe(5);
    expect((await counts()).undeliverable - before.undeliverable).toBe(0);
    expect((await stats()).faultsServed['502']).toBe(served + 2);
  }, 90_000);

  it('a channel answering 403 twice: its events are held (nothing counted lost) and delivered once a re-probe gets through, while the failure channel still gets its alerts', async () => {
    await outboxIdle();
    const before = await counts();
    await fault(channels.job_executed, 403, 2);
    for (let i = 0; i < 3; i++) await publisher.publish('job.executed', { job_id: `forbidden-${i}`, job_name: 'report' });
    await publisher.publish('job.failed', { job_id: 'after-403', job_name: 'still-alerting', error: 'x' });
    await vi.waitFor(async () => {
      const text = (await t.messages(channels.job_failed)).flatMap((m) => m.embeds.map(embedText)).join('\n');
      expect(text).toContain('after-403');
    }, { timeout: 30_000, interval: 100 });
    await vi.waitFor(async () => {
      const executed = (await t.messages(channels.job_executed)).flatMap((m) => m.embeds.map(embedText)).join('\n');
      for (let i = 0; i < 3; i++) expect(executed).toContain(`forbidden-${i}`);
    }, { timeout: 30_000, interval: 200 });
    expect((await stats()).faultsServed['403']).toBeGreaterThanOrEqual(2);
    expect((await counts()).undeliverable - before.undeliverable).toBe(0);
  }, 60_000);
});
