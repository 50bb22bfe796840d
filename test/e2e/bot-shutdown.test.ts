import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventsCarried } from '../helpers/embed-checks.ts';
import { startBot } from '../helpers/bot-process.ts';
import { publishedConfig } from '../helpers/bot-config.ts';
import { channels, embedText } from '../helpers/bot.ts';
import { followMessages } from '../helpers/message-feed.ts';
import { postJson } from '../helpers/sandbox.ts';

const wait = { timeout: 20_000, interval: 50 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('zmq-notify start (child process, sandbox mode) on SIGTERM', () => {
  it('with events pending in the Outbox (a 429 with retry_after 3 s on the notices channel; 8 job.failed + 8 job.executed), posts them all before exiting 0', async () => {
    const { pub, configPath, remove } = await publishedConfig({ src: 'sched-term' });
    cleanups.push(remove);

    // No token in the environment: sandbox mode.
    const proc = await startBot(configPath, { env: { DISCORD_TOKEN: '', ZMQ_NOTIFY_SANDBOX_TOKEN: '' } });
    cleanups.push(() => {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    });
    const started = await proc.waitForLine((l) => typeof l.sandbox === 'string');
    const sandboxUrl = String(started.sandbox).replace(/\/$/, '');
    await proc.waitForLine((l) => l.unparsed === true && l.msg === `sandbox Discord: ${sandboxUrl}/ — open it to watch the channels`);
    const feed = followMessages(sandboxUrl);

    // The notices channel answers its first request with a 429 (retry after 3 s): its notices wait in the Outbox.
    const fault = await postJson(`${sandboxUrl}/sandbox/faults`, { channel_id: channels.job_executed, status: 429, count: 1, retry_after: 3 });
    expect(fault.status).toBe(201);
    expect(await pub.waitForSubscriber(20_000, 'job.')).toBe(true);
    for (let i = 1; i <= 8; i++) {
      await pub.publish('job.failed', { job_id: `term-${i}`, job_name: 'etl', error: 'boom' });
      await pub.publish('job.executed', { job_id: `exec-${i}`, job_name: 'report', duration: 1.5 });
    }

    await vi.waitFor(async () => {
      const m = await proc.metrics();
      expect(m.get('zmq_notify_events_dispatched_total')).toBe(16);
      expect(m.get('zmq_notify_discord_rate_limited_total')).toBeGreaterThanOrEqual(1);
      expect(m.get('zmq_notify_outbox_pending')).toBeGreaterThan(0);
    }, wait);
    const handedOver = (await proc.metrics()).get('zmq_notify_events_to_outbox_total');
    expect(handedOver).toBe(16);

    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    expect(code).toBe(0);
    await feed.ended;

    // Every message the bot posted in any channel (not interaction replies) carries events the Outbox was handed.
    const posted = feed.messages.filter((m) => m.author.bot && m.interaction === undefined);
    expect(eventsCarried(posted)).toBe(handedOver);
    // The built-in failure alerts and executed notices, one per job.
    const texts = posted.flatMap((m) => m.embeds.map(embedText));
    for (let i = 1; i <= 8; i++) {
      expect(texts.filter((text) => text.includes(`term-${i}\``)), `alert for term-${i}`).toHaveLength(1);
      expect(texts.filter((text) => text.includes(`exec-${i}\``)), `notice for exec-${i}`).toHaveLength(1);
    }
    // The queue emptied first; then the Outbox still held the notices and posted them within the bound.
    const stopped = proc.lines().find((l) => l.msg === 'bot stopped: queue and Outbox drained');
    expect(stopped).toMatchObject({ drained: true, queue: { drained: true, droppedOnShutdown: 0 }, outbox: { drained: true, abandoned: 0 } });
    expect((stopped?.outbox as { pendingAtDrain: number }).pendingAtDrain).toBeGreaterThan(0);
    // The signal found the Outbox still waiting out the 429 (what start logs when a signal arrives).
    const signalled = proc.lines().find((l) => l.signal === 'SIGTERM' && typeof l.outboxPending === 'number');
    expect(signalled?.outboxPending).toBeGreaterThan(0);
  });
});
