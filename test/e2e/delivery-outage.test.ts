import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageView } from '../../src/sandbox/index.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { channels, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';
import { postJson } from '../helpers/sandbox.ts';

// Alerts outlive Discord outages and refusals, end to end: a Bot in sandbox mode (real discord.js,
// zeromq and a SQLite spool in its temp dir), faults injected through POST /sandbox/faults, and every
// alert counted by its job id in what reached the sandbox.

const fallback = '100000000000000105';
let t: TestBot;
let publisher: EventPublisher;

beforeAll(async () => {
  t = await startTestBot({
    config: {
      notification_channels: { ...channels, fallback },
      // Production backoff (cap 30 s) would only make the test wait longer after the outage.
      outbox: { retry_base_delay_ms: 500, retry_max_delay_ms: 8_000, probe_base_delay_ms: 300, probe_max_delay_ms: 1_000 },
      storage: { path: 'spool.db' },
    },
  });
  publisher = new EventPublisher({ endpoint: t.endpoints.pub, src: 'e2e-outage', lingerMs: 1_000 });
  await publisher.open();
  expect(await publisher.waitForSubscriber(20_000, 'job.failed')).toBe(true);
});

afterAll(async () => {
  await publisher?.close();
  await t?.close();
});

async function fault(channelId: string, status: number, count: number): Promise<void> {
  const res = await postJson(`${t.sandboxUrl}/sandbox/faults`, { channel_id: channelId, status, count });
  expect(res.status).toBe(201);
}

async function faultsServed(status: number): Promise<number> {
  const stats = (await (await fetch(`${t.sandboxUrl}/sandbox/stats`)).json()) as { faultsServed: Record<string, number> };
  return stats.faultsServed[String(status)] ?? 0;
}

async function healthz(): Promise<{ status: number; body: { status: string; reasons: string[] } }> {
  const res = await fetch(`${t.bot.httpUrl}/healthz`);
  return { status: res.status, body: (await res.json()) as { status: string; reasons: string[] } };
}

/** How many messages of a channel show each job id matching `pattern`. */
function messagesById(messages: MessageView[], pattern: RegExp): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of messages) {
    const ids = new Set(message.embeds.flatMap((e) => embedText(e).match(pattern) ?? []));
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

async function publishFailure(jobId: string): Promise<void> {
  await publisher.publish('job.failed', { job_id: jobId, job_name: `etl ${jobId}`, error: 'upstream timed out', retry_count: 1 });
}

describe('alerts outlive Discord outages and refusals (Bot, sandbox, SQLite spool)', () => {
  it('60 s of 502s on the failure channel with an alert every 3 s: /healthz 503 meanwhile; afterwards every alert is in the sandbox exactly once, none counted lost', async () => {
    await fault(channels.job_failed, 502, 1_000);
    const ids: string[] = [];
    const began = Date.now();
    let midway: Awaited<ReturnType<typeof healthz>> | undefined;
    while (Date.now() - began < 60_000) {
      const id = `outage-${String(ids.length).padStart(3, '0')}`;
      ids.push(id);
      await publishFailure(id);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      if (ids.length === 5) midway = await healthz();
    }
    expect(midway?.status).toBe(503);
    expect(midway?.body.reasons.join('\n')).toMatch(new RegExp(`Discord cannot take messages for channel ${channels.job_failed}: 502`));
    expect(await t.messages(channels.job_failed)).toEqual([]);
    const served = await faultsServed(502);
    // Retried with backoff all along (base 0.5 s, cap 8 s): more than a handful of tries, far fewer than a tight loop.
    expect(served).toBeGreaterThan(8);
    expect(served).toBeLessThan(200);

    await fetch(`${t.sandboxUrl}/sandbox/faults`, { method: 'DELETE' });
    await vi.waitFor(
      async () => {
        const seen = messagesById(await t.messages(channels.job_failed), /outage-\d{3}/g);
        expect([...seen.keys()].sort()).toEqual(ids);
      },
      { timeout: 40_000, interval: 500 },
    );
    const seen = messagesById(await t.messages(channels.job_failed), /outage-\d{3}/g);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(ids.length).toBeGreaterThanOrEqual(20);
    const metrics = await t.metrics();
    expect(metrics.sum('zmq_notify_events_undeliverable_total')).toBe(0);
    expect(metrics.get('zmq_notify_discord_requests_total{operation="send",outcome="server_error"}')).toBe(served);
    await vi.waitFor(async () => expect((await healthz()).status).toBe(200), { timeout: 10_000, interval: 200 });
  }, 120_000);

  it('a 403 on the failure channel that clears: the fallback gets the notice and copies, /healthz says why it is 503, and the held alerts are delivered once', async () => {
    await fault(channels.job_failed, 403, 1_000);
    const ids = ['held-000', 'held-001', 'held-002', 'held-003'];
    for (const id of ids) await publishFailure(id);
    await vi.waitFor(
      async () => {
        const notice = (await t.messages(fallback)).find((m) => m.content.includes('cannot post to'));
        expect(notice?.content).toMatch(new RegExp(`cannot post to <#${channels.job_failed}>: 403 Missing Permissions, \\d+ alerts held`));
      },
      { timeout: 20_000, interval: 100 },
    );
    const during = await healthz();
    expect(during.status).toBe(503);
    expect(during.body.reasons.join('\n')).toMatch(new RegExp(`cannot post to channel ${channels.job_failed}: 403 Missing Permissions`));
    // Re-probed while refused (every 0.3–1 s here), and nothing delivered to the refused channel.
    await vi.waitFor(async () => expect(await faultsServed(403)).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 100 });
    expect(messagesById(await t.messages(channels.job_failed), /held-\d{3}/g).size).toBe(0);
    // Access returns.
    await fetch(`${t.sandboxUrl}/sandbox/faults`, { method: 'DELETE' });
    await vi.waitFor(
      async () => {
        const seen = messagesById(await t.messages(channels.job_failed), /held-\d{3}/g);
        expect([...seen.keys()].sort()).toEqual(ids);
        expect([...seen.values()].every((n) => n === 1)).toBe(true);
      },
      { timeout: 20_000, interval: 200 },
    );
    // The fallback carried copies of what was held while the channel refused the bot.
    const copies = messagesById(await t.messages(fallback), /held-\d{3}/g);
    expect(copies.size).toBeGreaterThan(0);
    const refusals = t.logs().filter((l) => l.level === 50 && String(l.msg).includes(`Discord refused messages to channel ${channels.job_failed}`));
    expect(refusals).toHaveLength(1);
    expect((await t.metrics()).sum('zmq_notify_events_undeliverable_total')).toBe(0);
    await vi.waitFor(async () => expect((await healthz()).status).toBe(200), { timeout: 10_000, interval: 200 });
  }, 60_000);
});
