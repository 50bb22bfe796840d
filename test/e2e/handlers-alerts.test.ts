import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageView } from '../../src/sandbox/index.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { channels, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';
import { messageProblems } from '../helpers/embed-checks.ts';

// The built-in modules (builtInModules) in a Bot started in-process in sandbox mode: real
// discord.js against the sandbox, real zeromq over ipc://, the test publishing as a scheduler.

const wait = { timeout: 20_000, interval: 100 };

let t: TestBot;
let publisher: EventPublisher;

beforeAll(async () => {
  // A 1 s heartbeat timeout so the watchdog can be seen at work in a test.
  t = await startTestBot({ config: { alerts: { heartbeat_timeout_s: 1 } } });
  publisher = new EventPublisher({ endpoint: t.endpoints.pub, src: 'e2e-scheduler', lingerMs: 1_000 });
  await publisher.open();
  expect(await publisher.waitForSubscriber(20_000, 'job.failed')).toBe(true);
  expect(await publisher.waitForSubscriber(20_000, 'scheduler.heartbeat')).toBe(true);
});

afterAll(async () => {
  await publisher?.close();
  await t?.close();
});

/** Messages in a channel whose embeds mention `text`. */
async function messagesWith(channelId: string, text: string): Promise<MessageView[]> {
  return (await t.messages(channelId)).filter((m) => m.embeds.some((e) => embedText(e).includes(text)));
}

function field(embed: APIEmbed | undefined, name: string): string | undefined {
  return embed?.fields?.find((f) => f.name === name)?.value;
}

/** Message create (POST) and edit (PATCH) requests the sandbox has served so far, over all channels. */
async function sandboxMessageCounts(): Promise<{ created: number; edited: number }> {
  const stats = (await (await fetch(`${t.sandboxUrl}/sandbox/stats`)).json()) as { requests: { byRoute: Record<string, number> } };
  const { byRoute } = stats.requests;
  return { created: byRoute['POST /channels/:channel_id/messages'] ?? 0, edited: byRoute['PATCH /channels/:channel_id/messages/:message_id'] ?? 0 };
}

/** Waits until the Outbox has nothing pending, so metric deltas belong to one test. */
async function outboxIdle(): Promise<void> {
  await vi.waitFor(() => expect(t.bot.outbox.pending()).toBe(0), wait);
}

describe('built-in modules end to end (Bot in sandbox mode)', () => {
  it('job.failed → one alert in the failure channel with job name and id, error, retry count and the traceback', async () => {
    await publisher.publish('job.failed', {
      job_id: 'e2e-fail-1',
      job_name: 'nightly-etl',
      error: 'ValueError: bad row 17',
      retry_count: 3,
      traceback: 'Traceback (most recent call last):\n  File "etl.py", line 17, in load\nValueError: bad row 17',
    });
    await vi.waitFor(async () => expect(await messagesWith(channels.job_failed, 'e2e-fail-1')).toHaveLength(1), wait);
    const [message] = await messagesWith(channels.job_failed, 'e2e-fail-1');
    const embed = message?.embeds[0];
    expect(embed?.title).toContain('nightly-etl');
    expect(field(embed, 'Job ID')).toContain('e2e-fail-1');
    expect(field(embed, 'Retries')).toBe('3');
    expect(field(embed, 'Error')).toContain('ValueError: bad row 17');
    expect(embed?.description).toContain('File "etl.py", line 17');
    expect(message?.author.bot).toBe(true);
    expect(messageProblems(message?.embeds ?? [])).toEqual([]);
  });

  it('job.executed → the job_executed channel (with its duration), not the failure channel', async () => {
    await publisher.publish('job.executed', { job_id: 'e2e-exec-1', job_name: 'nightly-report', duration: 12.5, result: 'ok' });
    await vi.waitFor(async () => expect(await messagesWith(channels.job_executed, 'e2e-exec-1')).toHaveLength(1), wait);
    const [message] = await messagesWith(channels.job_executed, 'e2e-exec-1');
    expect(message?.embeds[0]?.title).toContain('Job executed: nightly-report');
    expect(field(message?.embeds[0], 'Duration')).toBe('12.5 s');
    expect(await messagesWith(channels.job_failed, 'e2e-exec-1')).toHaveLength(0);
  });

  it('a 50 KB traceback whose error says "@everyone <@&oncall role>" → one valid message, and nobody is pinged', async () => {
    const state = (await (await fetch(`${t.sandboxUrl}/sandbox/state`)).json()) as { roles: { id: string; name: string }[] };
    const role = state.roles.find((r) => r.name === 'oncall');
    expect(role).toBeDefined();
    const error = `RuntimeError: disk full @everyone <@&${role?.id}> @here please look`;
    const traceback = `Traceback (most recent call last):\n${'  File "worker.py", line 1, in run\n    step()\n'.repeat(1_200)}${error}`;
    expect(traceback.length).toBeGreaterThan(50_000);
    await publisher.publish('job.failed', { job_id: 'e2e-huge-1', job_name: 'huge-trace', error, retry_count: 0, traceback });
    await vi.waitFor(async () => expect(await messagesWith(channels.job_failed, 'e2e-huge-1')).toHaveLength(1), wait);
    const [message] = await messagesWith(channels.job_failed, 'e2e-huge-1');
    expect(messageProblems(message?.embeds ?? [])).toEqual([]);
    expect(message?.mentions).toEqual({ users: [], roles: [], everyone: false, here: false });
    expect(message?.content ?? '').not.toMatch(/@everyone|@here|<@&/);
    const text = embedText(message?.embeds[0] ?? {});
    expect(text).toContain('disk full');
    expect(text).toContain('truncated');
  });

  it('50 failures of the same job → one message, edited, whose final embed counts 50; all 50 events counted as posted', async () => {
    await outboxIdle();
    const before = await t.metrics();
    const requestsBefore = await sandboxMessageCounts();
    for (let i = 1; i <= 50; i++) await publisher.publish('job.failed', { job_id: 'e2e-same-50', job_name: 'flappy', error: `attempt ${i} failed`, retry_count: i });
    await vi.waitFor(async () => {
      const messages = await messagesWith(channels.job_failed, 'e2e-same-50');
      expect(messages).toHaveLength(1);
      expect(field(messages[0]?.embeds[0], 'Failures')).toBe('50');
    }, wait);
    const [message] = await messagesWith(channels.job_failed, 'e2e-same-50');
    expect(message?.edited_timestamp).not.toBeNull();
    expect(message?.embeds[0]?.title).toContain('failing repeatedly: flappy');
    expect(message?.embeds[0]?.description).toContain('attempt 50 failed');
    await outboxIdle();
    const after = await t.metrics();
    expect(after.get('zmq_notify_events_posted_total') - before.get('zmq_notify_events_posted_total')).toBe(50);
    expect(after.sum('zmq_notify_events_undeliverable_total') - before.sum('zmq_notify_events_undeliverable_total')).toBe(0);
    // Coalesced: one message created and a handful of edits, not 49.
    const requests = await sandboxMessageCounts();
    expect(requests.created - requestsBefore.created).toBe(1);
    expect(requests.edited - requestsBefore.edited).toBeGreaterThanOrEqual(1);
    expect(requests.edited - requestsBefore.edited).toBeLessThanOrEqual(5);
  });

  it('a job that failed twice and then executed → "recovered" in the failure channel with the count', async () => {
    await publisher.publish('job.failed', { job_id: 'e2e-rec-1', job_name: 'flaky-sync', error: 'Timeout talking to S3' });
    await publisher.publish('job.failed', { job_id: 'e2e-rec-1', job_name: 'flaky-sync', error: 'Timeout talking to S3 again' });
    await vi.waitFor(async () => expect(field((await messagesWith(channels.job_failed, 'e2e-rec-1'))[0]?.embeds[0], 'Failures')).toBe('2'), wait);
    await publisher.publish('job.executed', { job_id: 'e2e-rec-1', job_name: 'flaky-sync', duration: 3 });
    await vi.waitFor(async () => {
      const recovered = (await messagesWith(channels.job_failed, 'e2e-rec-1')).flatMap((m) => m.embeds).filter((e) => e.title?.includes('recovered'));
      expect(recovered).toHaveLength(1);
      expect(recovered[0]?.title).toContain('Job recovered: flaky-sync');
      expect(recovered[0]?.description).toContain('**2 times**');
      expect(field(recovered[0], 'Last error')).toContain('Timeout talking to S3 again');
    }, wait);
    // The success itself is an ordinary notice in the executed channel too.
    await vi.waitFor(async () => expect(await messagesWith(channels.job_executed, 'e2e-rec-1')).toHaveLength(1), wait);
  });

  it('a job that executes without having failed gets no "recovered" notice', async () => {
    await publisher.publish('job.executed', { job_id: 'e2e-fine-1', job_name: 'always-fine' });
    await vi.waitFor(async () => expect(await messagesWith(channels.job_executed, 'e2e-fine-1')).toHaveLength(1), wait);
    await outboxIdle();
    expect(await messagesWith(channels.job_failed, 'e2e-fine-1')).toHaveLength(0);
  });

  it('heartbeats that stop → "scheduler silent" in the scheduler channel (1 s timeout); when they resume → "scheduler back"', async () => {
    const deployment = 'e2e-deploy-hb';
    const titles = async (): Promise<string[]> => (await messagesWith(channels.scheduler, deployment)).flatMap((m) => m.embeds.map((e) => e.title ?? ''));
    for (let i = 0; i < 5; i++) {
      await publisher.publish('scheduler.heartbeat', { deployment, timestamp: new Date().toISOString() });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await titles(), 'heartbeats themselves are never posted').toEqual([]);
    await vi.waitFor(async () => expect(await titles()).toEqual([expect.stringContaining(`Scheduler silent: ${deployment}`)]), wait);
    // The scheduler resumes and keeps beating until "back" is posted: as the channel's second message
    // within a second it is paced by up to a second, longer than this test's 1 s heartbeat timeout.
    await vi.waitFor(async () => {
      await publisher.publish('scheduler.heartbeat', { deployment, timestamp: new Date().toISOString() });
      expect(await titles()).toEqual([expect.stringContaining('Scheduler silent'), expect.stringContaining(`Scheduler back: ${deployment}`)]);
    }, wait);
    // A clean stop disarms the watchdog: no second "silent".
    await publisher.publish('scheduler.stopped', { deployment });
    await vi.waitFor(async () => expect((await titles()).some((title) => title.includes('Scheduler stopped'))).toBe(true), wait);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await titles()).filter((title) => title.includes('silent'))).toHaveLength(1);
  });

  it('everything handed to the Outbox is posted, pending or undeliverable (the invariant, from /metrics)', async () => {
    await outboxIdle();
    const m = await t.metrics();
    const handed = m.get('zmq_notify_events_to_outbox_total');
    expect(handed).toBeGreaterThan(0);
    expect(handed).toBe(m.get('zmq_notify_events_posted_total') + m.get('zmq_notify_outbox_pending') + m.sum('zmq_notify_events_undeliverable_total'));
  });
});
