import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { channels, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';

// filters.notify_only_on_failure in a Bot started in-process in sandbox mode (real discord.js and
// zeromq): only failures and their resolutions are posted; the rest is counted as skipped.

const wait = { timeout: 20_000, interval: 100 };

let t: TestBot;
let publisher: EventPublisher;

beforeAll(async () => {
  t = await startTestBot({ config: { filters: { notify_only_on_failure: true, min_severity: 'info' } } });
  publisher = new EventPublisher({ endpoint: t.endpoints.pub, src: 'e2e-filters', lingerMs: 1_000 });
  await publisher.open();
  expect(await publisher.waitForSubscriber(20_000, 'job.failed')).toBe(true);
  expect(await publisher.waitForSubscriber(20_000, 'handler.registered')).toBe(true);
});

afterAll(async () => {
  await publisher?.close();
  await t?.close();
});

async function channelText(channelId: string): Promise<string> {
  return (await t.messages(channelId)).flatMap((m) => m.embeds.map(embedText)).join('\n');
}

describe('notify_only_on_failure: true (end to end)', () => {
  it('job.executed and handler.registered are not posted (counted as filtered); job.failed and its "recovered" are', async () => {
    const skippedBefore = (await t.metrics()).sum('zmq_notify_events_skipped_total');
    await publisher.publish('job.executed', { job_id: 'filtered-exec', job_name: 'quiet-job' });
    await publisher.publish('handler.registered', { handler_id: 'filtered-handler' });
    await publisher.publish('job.failed', { job_id: 'filters-fail', job_name: 'loud-job', error: 'it broke' });
    await publisher.publish('job.executed', { job_id: 'filters-fail', job_name: 'loud-job' });
    await vi.waitFor(async () => {
      const failures = await channelText(channels.job_failed);
      expect(failures).toContain('Job failed: loud-job');
      expect(failures).toContain('Job recovered: loud-job');
    }, wait);
    // Events are handled in order: the filtered ones (published first) have been dealt with by now.
    await vi.waitFor(async () => expect((await t.metrics()).get('zmq_notify_events_skipped_total{reason="filtered",route="job_notices"}')).toBe(2), wait);
    const m = await t.metrics();
    expect(m.get('zmq_notify_events_skipped_total{reason="filtered",route="handler_notices"}')).toBe(1);
    expect(m.sum('zmq_notify_events_skipped_total') - skippedBefore).toBe(3);
    expect(await channelText(channels.job_executed)).toBe('');
    expect(await channelText(channels.handler_status)).toBe('');
  });
});
