import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { channels, embedsOf, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';
import { runCli } from '../helpers/transport.ts';

const wait = { timeout: 20_000, interval: 50 };

let t: TestBot;

beforeAll(async () => {
  // The bot's own modules only: the failure alerts come from builtInModules.
  t = await startTestBot();
});

afterAll(async () => {
  await t?.close();
});

async function failureEmbeds(): Promise<string[]> {
  return embedsOf(await t.messages(channels.job_failed)).map(embedText);
}

describe('Bot (sandbox mode, real discord.js and zeromq): alerts', () => {
  it('`zmq-notify emit job.failed` (CLI child process) becomes an embed in the failure channel with the job id, name, error and retries', async () => {
    const payload = { job_id: 'nightly-etl-42', job_name: 'nightly-etl', error: 'ValueError: bad row 17', retry_count: 2 };
    const result = await runCli(['emit', 'job.failed', JSON.stringify(payload), '-e', t.endpoints.emit, '--wait-ms', '15000']);
    expect(result.code, result.stderr).toBe(0);

    await vi.waitFor(async () => expect((await failureEmbeds()).some((text) => text.includes('nightly-etl-42'))).toBe(true), wait);
    const embed = embedsOf(await t.messages(channels.job_failed)).find((e) => embedText(e).includes('nightly-etl-42'));
    const alert = embed ? embedText(embed) : '';
    expect(alert).toContain('nightly-etl');
    expect(alert).toContain('ValueError: bad row 17');
    expect(embed?.fields?.find((f) => f.name === 'Retries')?.value).toContain('2');
    const messages = await t.messages(channels.job_failed);
    expect(messages.every((m) => m.author.bot)).toBe(true);
  });

  it('a publisher that restarts mid-stream (closed, a new one bound on the same endpoint, seq back to 1): alerts go on and the restart shows in /metrics and /healthz', async () => {
    const src = 'scheduler-A';
    const first = new EventPublisher({ endpoint: t.endpoints.pub, src, lingerMs: 1_000 });
    await first.open();
    expect(await first.waitForSubscriber(20_000, 'job.failed')).toBe(true);
    for (let i = 1; i <= 3; i++) await first.publish('job.failed', { job_id: `before-${i}`, job_name: 'etl', error: `boom ${i}` });
    await vi.waitFor(async () => expect((await failureEmbeds()).filter((text) => /before-\d/.test(text))).toHaveLength(3), wait);
    await first.close();

    const second = new EventPublisher({ endpoint: t.endpoints.pub, src, lingerMs: 1_000 });
    try {
      await second.open();
      expect(await second.waitForSubscriber(20_000, 'job.failed')).toBe(true);
      for (let i = 1; i <= 2; i++) await second.publish('job.failed', { job_id: `after-${i}`, job_name: 'etl', error: `boom again ${i}` });
      await vi.waitFor(async () => expect((await failureEmbeds()).filter((text) => /after-\d/.test(text))).toHaveLength(2), wait);
    } finally {
      await second.close();
    }

    const metrics = await t.metrics();
    expect(metrics.get('zmq_notify_publisher_restarts_total')).toBe(1);
    expect(metrics.get('zmq_notify_events_lost_total')).toBe(0);
    const health = (await t.healthz()) as { publishers: { src: string; last_seq: number; restarts: number }[] };
    expect(health.publishers).toContainEqual(expect.objectContaining({ src, last_seq: 2, restarts: 1 }));
    expect(t.logs()).toContainEqual(expect.objectContaining({ level: 40, src, previousSeq: 3, seq: 1 }));
  });

  it('/healthz includes the Discord side: sandbox mode, logged in, Outbox pending', async () => {
    const health = (await t.healthz()) as { status: string; reasons: string[]; discord: Record<string, unknown> };
    expect(health.status).toBe('ok');
    expect(health.reasons).toEqual([]);
    expect(health.discord).toEqual({
      mode: 'sandbox',
      logged_in: true,
      user: 'zmq-notify',
      outbox_pending: 0,
      unavailable_channels: [],
      // The failure channel got alerts in the tests above: nothing pending, nothing lost, postable.
      channels: { [channels.job_failed]: { pending: 0, undeliverable: {}, state: 'ok' } },
    });
  });
});
