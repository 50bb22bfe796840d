import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { channels, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';

// The example modules in examples/ are loaded as a user's config would list them (an absolute
// path under `modules:`, through the bot's module loader) and run against the sandbox.

const examples = fileURLToPath(new URL('../../examples/modules/', import.meta.url));
let t: TestBot;
let publisher: EventPublisher;

beforeAll(async () => {
  t = await startTestBot({ config: { modules: [join(examples, 'slow-runs.ts'), join(examples, 'deploy-tracker.ts')] } });
  publisher = new EventPublisher({ endpoint: t.endpoints.pub, src: 'e2e-examples', lingerMs: 1_000 });
  await publisher.open();
  expect(await publisher.waitForSubscriber(20_000, 'job.')).toBe(true);
});

afterAll(async () => {
  await publisher?.close();
  await t?.close();
});

describe('examples/modules', () => {
  it('slow-runs posts one notice for the 900 s run, none for the 12 s run or the run whose duration is the string "900"', async () => {
    await publisher.publish('job.executed', { job_id: 'quick-1', job_name: 'quick-report', duration: 12 });
    await publisher.publish('job.executed', { job_id: 'odd-1', job_name: 'odd-duration', duration: '900' });
    await publisher.publish('job.executed', { job_id: 'slow-1', job_name: 'nightly-etl', duration: 900 });
    // The built-in notices post all three to the same channel; the example adds its own notice.
    await vi.waitFor(async () => {
      const texts = (await t.messages(channels.job_executed)).flatMap((m) => m.embeds.map(embedText));
      expect(texts.filter((text) => text.includes('Slow run'))).toEqual([expect.stringContaining('🐢 Slow run: nightly-etl')]);
      for (const job of ['quick-1', 'odd-1', 'slow-1']) expect(texts.some((text) => text.includes(job))).toBe(true);
    }, { timeout: 20_000, interval: 100 });
    const texts = (await t.messages(channels.job_executed)).flatMap((m) => m.embeds.map(embedText));
    expect(texts.find((text) => text.includes('Slow run'))).toContain('took 900 s');
    expect(t.logs().find((l) => l.msg === 'modules set up')?.modules).toEqual(expect.arrayContaining(['slow-runs', 'deploy-tracker']));
  });

  it('deploy-tracker logs a deployment going up on scheduler.started and how long it was up on scheduler.stopped', async () => {
    await publisher.publish('scheduler.started', { deployment: 'blue' });
    await publisher.publish('scheduler.stopped', { deployment: 'blue' });
    await vi.waitFor(() => {
      const lines = t.logs();
      expect(lines.some((l) => l.msg === 'deployment blue is up')).toBe(true);
      expect(lines.find((l) => l.msg === 'deployment blue stopped')).toMatchObject({ deployment: 'blue', upForSeconds: 0 });
    }, { timeout: 20_000, interval: 100 });
  });
});
