import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MessageView } from '../../src/sandbox/index.ts';
import { sandboxedBot } from '../helpers/bot-scene.ts';
import { embedText } from '../helpers/bot.ts';
import { getJson, postJson } from '../helpers/sandbox.ts';

// A crash loses no accepted alert: a bot process (`zmq-notify start`, real discord.js against a
// sandbox that outlives it, a SQLite spool file in a temp dir) is killed with SIGKILL while alerts
// are pending, and started again on the same spool.

const failures = '100000000000000201';
const wait = { timeout: 30_000, interval: 100 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The job ids (matching `pattern`) each message of the channel shows, one entry per message. */
function idsPerMessage(messages: MessageView[], pattern: RegExp): string[][] {
  return messages.map((m) => [...new Set(m.embeds.flatMap((e) => embedText(e).match(pattern) ?? []))]);
}

describe('zmq-notify start killed with SIGKILL mid-burst, then started again', () => {
  it('every job id reaches the sandbox exactly once, and the repeating job\'s alert is edited, not posted anew', async () => {
    const { pub, address, start } = await sandboxedBot({
      src: 'sched-crash',
      failuresChannel: failures,
      config: { outbox: { retry_base_delay_ms: 200, retry_max_delay_ms: 2_000 }, storage: { path: 'state/zmq-notify.db' } },
      cleanups,
    });
    const messages = (): Promise<MessageView[]> => getJson<MessageView[]>(`${address.url}/sandbox/messages?channel_id=${failures}`);
    const fail = (jobId: string, error: string): Promise<void> => pub.publish('job.failed', { job_id: jobId, job_name: `etl ${jobId}`, error, retry_count: 1 });

    let proc = await start();
    // The repeating job's first failure: its alert is created.
    await fail('repeat-job', 'first');
    await vi.waitFor(async () => expect(idsPerMessage(await messages(), /repeat-job/g).flat()).toEqual(['repeat-job']), wait);
    const alert = (await messages())[0]!;

    // The channel is then told to wait 5 s, so what comes next is pending when the process dies.
    expect((await postJson(`${address.url}/sandbox/faults`, { channel_id: failures, status: 429, count: 1, retry_after: 5 })).status).toBe(201);
    await fail('repeat-job', 'second');
    const burst = Array.from({ length: 12 }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
    for (const id of burst.slice(0, 8)) await fail(id, 'disk full');
    await vi.waitFor(async () => expect((await proc.metrics()).get('zmq_notify_events_to_outbox_total')).toBe(10), wait);
    expect((await proc.metrics()).get('zmq_notify_outbox_pending')).toBeGreaterThan(0);
    proc.child.kill('SIGKILL');
    expect((await proc.exited).signal).toBe('SIGKILL');
    const beforeRestart = idsPerMessage(await messages(), /burst-\d{3}/g).flat();

    proc = await start();
    // What was pending is taken back: merged alerts from the Outbox's spool, and the series' sends and
    // edits (the repeating job's edit, the burst's first alert) from their stored state.
    const recovered = await proc.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('recovered ') && typeof l.events === 'number');
    const continuing = await proc.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('continuing ') && typeof l.owed === 'number');
    expect(Number(recovered.events) + Number(continuing.owed)).toBe(9 - beforeRestart.length);
    expect(Number(recovered.events)).toBeGreaterThan(0);
    for (const id of burst.slice(8)) await fail(id, 'disk full');
    await fail('repeat-job', 'third');

    await vi.waitFor(async () => {
      const perMessage = idsPerMessage(await messages(), /burst-\d{3}/g);
      expect(perMessage.flat().sort()).toEqual(burst);
      const repeat = (await messages()).filter((m) => m.embeds.some((e) => embedText(e).includes('repeat-job')));
      expect(repeat.map((m) => m.id)).toEqual([alert.id]);
      expect(embedText(repeat[0]!.embeds[0]!)).toMatch(/Failed \*\*3 times\*\*/);
    }, wait);
    // Exactly once: no job id in two messages, and the alert was edited, not posted again.
    const all = idsPerMessage(await messages(), /(burst-\d{3}|repeat-job)/g).flat();
    expect(all.length).toBe(new Set(all).size);
    const edited = (await messages()).find((m) => m.id === alert.id)!;
    expect(edited.edited_timestamp).not.toBeNull();
    expect((await proc.metrics()).sum('zmq_notify_events_undeliverable_total')).toBe(0);

    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  }, 90_000);
});
