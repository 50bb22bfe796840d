import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT_DRAIN_INCOMPLETE } from '../../src/bot.ts';
import type { MessageView } from '../../src/sandbox/index.ts';
import { sandboxedBot } from '../helpers/bot-scene.ts';
import { embedText } from '../helpers/bot.ts';
import { getJson, postJson } from '../helpers/sandbox.ts';

// Shutdown with work left: a bot process (`zmq-notify start`, real discord.js against a sandbox that
// outlives it, a SQLite spool file) gets SIGTERM while a 429 outlasts the drain bound.

const failures = '100000000000000301';
const wait = { timeout: 30_000, interval: 50 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('zmq-notify start on SIGTERM while a 429 (retry after 30 s) outlasts the 1.5 s drain bound', () => {
  it(`exits ${EXIT_DRAIN_INCOMPLETE}, not 0; /healthz and /metrics answer during the drain; the 5 alerts stay in the spool and the next start posts each once`, async () => {
    const { pub, address, start } = await sandboxedBot({
      src: 'sched-exit',
      failuresChannel: failures,
      config: { shutdown: { drain_timeout_ms: 1_500 }, storage: { path: 'spool.db' } },
      cleanups,
    });
    const ids = async (): Promise<string[]> => {
      const messages = await getJson<MessageView[]>(`${address.url}/sandbox/messages?channel_id=${failures}`);
      return messages.flatMap((m) => [...new Set(m.embeds.flatMap((e) => embedText(e).match(/exit-job-\d/g) ?? []))]);
    };
    const jobs = ['exit-job-1', 'exit-job-2', 'exit-job-3', 'exit-job-4', 'exit-job-5'];

    let proc = await start();
    expect((await postJson(`${address.url}/sandbox/faults`, { channel_id: failures, status: 429, count: 1, retry_after: 30 })).status).toBe(201);
    for (const id of jobs) await pub.publish('job.failed', { job_id: id, job_name: `etl ${id}`, error: 'disk full', retry_count: 1 });
    await vi.waitFor(async () => {
      const m = await proc.metrics();
      expect(m.get('zmq_notify_events_to_outbox_total')).toBe(5);
      expect(m.get('zmq_notify_discord_rate_limited_total')).toBeGreaterThanOrEqual(1);
      expect(m.get('zmq_notify_outbox_pending')).toBe(5);
    }, wait);

    proc.child.kill('SIGTERM');
    // While the Outbox waits out the 429, health and metrics still answer: 503, saying why.
    await vi.waitFor(async () => {
      const res = await fetch(`${proc.url}/healthz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { reasons: string[] };
      expect(body.reasons).toContain('shutting down: intake stopped, draining what is pending');
    }, wait);
    expect((await fetch(`${proc.url}/metrics`)).status).toBe(200);

    const { code } = await proc.exited;
    expect(code).toBe(EXIT_DRAIN_INCOMPLETE);
    const stopped = proc.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('bot stopped: the drain bound of 1500 ms was reached'));
    expect(stopped).toMatchObject({ drained: false, left: { spooled: 5, lost: 0 }, outbox: { drained: false, kept: 5, abandoned: 0 } });
    expect(proc.lines().find((l) => l.msg === `zmq-notify stopped with work left: exit code ${EXIT_DRAIN_INCOMPLETE}`)).toBeDefined();
    expect(await ids()).toEqual([]);

    // What could not be sent stayed in the spool: the next start posts every alert, once.
    proc = await start();
    await vi.waitFor(async () => expect((await ids()).sort()).toEqual(jobs), wait);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    expect((await ids()).sort()).toEqual(jobs);
  }, 90_000);
});
