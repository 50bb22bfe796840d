import type { APIEmbed, Client } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { discordExtensions } from '../../src/discord/module-context.ts';
import { OutboxError, type DirectOptions, type Outbox, type OutboxItem, type OutboxMessage } from '../../src/discord/outbox/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { AlertState } from '../../src/handlers/alert-state.ts';
import { RepeatAlerts } from '../../src/handlers/repeat-alerts.ts';
import { openStore } from '../../src/store/index.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';

/** One send or edit the fake Outbox holds until the test settles it. */
interface Op {
  kind: 'send' | 'edit';
  channelId: string;
  messageId?: string;
  embed: APIEmbed;
  events: number;
  resolve: (id?: string) => Promise<void>;
  reject: (reason: OutboxError['reason']) => Promise<void>;
  settled: boolean;
}

/**
 * An in-memory stand-in for the Outbox's interface (post, send, edit) that counts events as the
 * real one does: each post is one event, a send/edit carries `options.events` when it names a
 * topic, and a `full` rejection was never counted. Sends and edits stay in flight until settled.
 */
class FakeOutbox {
  readonly posts: { channelId: string; item: OutboxItem }[] = [];
  readonly ops: Op[] = [];
  handed = 0;
  private nextId = 1;

  post(channelId: string, item: OutboxItem): void {
    this.posts.push({ channelId, item });
    this.handed++;
  }

  send(channelId: string, body: OutboxMessage, options: DirectOptions = {}): Promise<{ id: string }> {
    return this.op('send', channelId, undefined, body, options);
  }

  edit(channelId: string, messageId: string, body: OutboxMessage, options: DirectOptions = {}): Promise<{ id: string }> {
    return this.op('edit', channelId, messageId, body, options);
  }

  inFlight(): Op[] {
    return this.ops.filter((op) => !op.settled);
  }

  last(kind?: 'send' | 'edit'): Op {
    const ops = kind ? this.ops.filter((op) => op.kind === kind) : this.ops;
    const op = ops.at(-1);
    if (!op) throw new Error(`no ${kind ?? ''} op`);
    return op;
  }

  private op(kind: 'send' | 'edit', channelId: string, messageId: string | undefined, body: OutboxMessage, options: DirectOptions): Promise<{ id: string }> {
    const events = options.topic === undefined ? 0 : (options.events ?? 1);
    this.handed += events;
    return new Promise((resolve, reject) => {
      const op: Op = {
        kind,
        channelId,
        embed: body.embeds?.[0] ?? {},
        events,
        settled: false,
        resolve: async (id) => {
          op.settled = true;
          resolve({ id: id ?? messageId ?? String(this.nextId++) });
          await settle();
        },
        reject: async (reason) => {
          op.settled = true;
          if (reason === 'full') this.handed -= events;
          reject(new OutboxError(`fake ${reason}`, reason));
          await settle();
        },
      };
      if (messageId !== undefined) op.messageId = messageId;
      this.ops.push(op);
    });
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const CH = '101';
let seq = 0;

function failure(job: string | undefined, error = `boom ${++seq}`): ZmqEvent {
  const data: Record<string, unknown> = { error, retry_count: 1, traceback: 'Traceback (most recent call last):\nValueError' };
  if (job !== undefined) Object.assign(data, { job_id: job, job_name: `${job}-name` });
  return { topic: 'job.failed', data, meta: { receivedAt: Date.now(), seq } };
}

function setup(options: { windowMs?: number; renotifyMs?: number; directPerChannel?: number; state?: AlertState } = {}): { alerts: RepeatAlerts; outbox: FakeOutbox; clock: { t: number } } {
  const outbox = new FakeOutbox();
  const clock = { t: 1_000_000 };
  const alerts = new RepeatAlerts({
    // Through the module API, as the built-in module does (ctx.post/send/edit over the Outbox).
    poster: discordExtensions(outbox as unknown as Outbox, undefined as unknown as Client),
    windowMs: options.windowMs ?? 600_000,
    renotifyMs: options.renotifyMs ?? 3_600_000,
    maxSeries: 100,
    ...(options.directPerChannel === undefined ? {} : { directPerChannel: options.directPerChannel }),
    now: () => clock.t,
    logger: createLogger({ level: 'silent' }),
    ...(options.state === undefined ? {} : { state: options.state }),
  });
  return { alerts, outbox, clock };
}

function failuresShown(embed: APIEmbed): string | undefined {
  return embed.fields?.find((f) => f.name === 'Failures')?.value;
}

describe('RepeatAlerts: one alert per failing job, edited while it keeps failing', () => {
  it('a first failure is sent (for its message id) as the job-failed alert, carrying one event', async () => {
    const { alerts, outbox } = setup();
    alerts.failed(failure('etl'), CH, 'id:etl');
    expect(outbox.ops).toHaveLength(1);
    expect(outbox.last()).toMatchObject({ kind: 'send', channelId: CH, events: 1 });
    expect(outbox.last().embed.title).toContain('Job failed');
    expect(outbox.posts).toHaveLength(0);
    await outbox.last().resolve('m1');
    expect(outbox.inFlight()).toHaveLength(0);
  });

  it('repeats that arrive while the first alert is being sent go out as one edit of it, with the count and the last error', async () => {
    const { alerts, outbox } = setup();
    alerts.failed(failure('etl'), CH, 'id:etl');
    for (let i = 2; i <= 50; i++) alerts.failed(failure('etl', `error number ${i}`), CH, 'id:etl');
    expect(outbox.ops, 'nothing more while the send is in flight').toHaveLength(1);
    await outbox.last().resolve('m1');
    const edit = outbox.last();
    expect(edit).toMatchObject({ kind: 'edit', messageId: 'm1', events: 49 });
    expect(edit.embed.title).toContain('failing repeatedly');
    expect(failuresShown(edit.embed)).toBe('50');
    expect(edit.embed.description).toContain('error number 50');
    await edit.resolve();
    expect(outbox.ops).toHaveLength(2);
    expect(outbox.handed).toBe(50);
  });

  it('100 repeats while edits are slow become a handful of edits (one in flight at a time), every failure counted once', async () => {
    const { alerts, outbox } = setup();
    alerts.failed(failure('etl'), CH, 'id:etl');
    await outbox.last().resolve('m1');
    for (let i = 0; i < 100; i++) {
      alerts.failed(failure('etl'), CH, 'id:etl');
      expect(outbox.inFlight().length).toBeLessThanOrEqual(1);
      if (i % 20 === 19) await outbox.inFlight()[0]?.resolve();
    }
    while (outbox.inFlight().length > 0) await outbox.inFlight()[0]?.resolve();
    const edits = outbox.ops.filter((op) => op.kind === 'edit');
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.length).toBeLessThanOrEqual(10);
    expect(edits.every((op) => op.messageId === 'm1')).toBe(true);
    expect(failuresShown(outbox.last().embed)).toBe('101');
    expect(edits.reduce((sum, op) => sum + op.events, 0)).toBe(100);
    expect(outbox.handed).toBe(101);
  });

  it('a failure after the window without failures starts a new series: a new alert, not an edit', async () => {
    const { alerts, outbox, clock } = setup({ windowMs: 60_000 });
    alerts.failed(failure('etl'), CH, 'id:etl');
    await outbox.last().resolve('m1');
    clock.t += 59_000;
    alerts.failed(failure('etl'), CH, 'id:etl');
    expect(outbox.last()).toMatchObject({ kind: 'edit', messageId: 'm1' });
    await outbox.last().resolve();
    clock.t += 60_001;
    alerts.failed(failure('etl'), CH, 'id:etl');
    expect(outbox.last()).toMatchObject({ kind: 'send', events: 1 });
    expect(outbox.last().embed.title).toContain('Job failed');
  });

  it('the window slides: a job failing every 50 s under a 60 s window stays one series until renotify_s', async () => {
    const { alerts, outbox, clock } = setup({ windowMs: 60_000, renotifyMs: 600_000 });
    alerts.failed(failure('etl'), CH, 'id:etl');
    await outbox.last().resolve('m1');
    for (let i = 0; i < 11; i++) {
      clock.t += 50_000;
      alerts.failed(failure('etl'), CH, 'id:etl');
      await outbox.last().resolve();
    }
    expect(outbox.ops.filter((op) => op.kind === 'send')).toHaveLength(1);
    clock.t += 50_000;
    alerts.failed(failure('etl'), CH, 'id:etl');
    expect(outbox.last(), 'older than renotify: a fresh alert').toMatchObject({ kind: 'send' });
  });

  it('an edit that fails (the alert was deleted: not_found) makes a fresh alert with the whole count, then edits that one', async () => {
    const { alerts, outbox } = setup();
    alerts.failed(failure('etl'), CH, 'id:etl');
    await outbox.last().resolve('m1');
    alerts.failed(failure('etl'), CH, 'id:etl');
    await outbox.last('edit').reject('not_found');
    const fresh = outbox.last();
    expect(fresh.kind).toBe('send');
    expect(fresh.embed.title).toContain('failing repeatedly');
    expect(failuresShown(fresh.embed)).toBe('2');
    expect(fresh.events, 'the refused edit was counted (undeliverable) by the Outbox').toBe(0);
    await fresh.resolve('m2');
    alerts.failed(failure('etl'), CH, 'id:etl');
    expect(outbox.last()).toMatchObject({ kind: 'edit', messageId: 'm2', events: 1 });
    expect(failuresShown(outbox.last().embed)).toBe('3');
  });

  it('a first send that fails (5xx after retries) leaves the held repeats to a new message that carries them', async () => {
    const { alerts, outbox } = setup();
    alerts.failed(failure('etl'), CH, 'id:etl');
    alerts.failed(failure('etl'), CH, 'id:etl');
    alerts.failed(failure('etl'), CH, 'id:etl');
    await outbox.last().reject('server_error');
    expect(outbox.last()).toMatchObject({ kind: 'send', events: 2 });
    expect(failuresShown(outbox.last().embed)).toBe('3');
    await outbox.last().resolve('m1');
    expect(outbox.handed).toBe(3);
  });

  it('a send the Outbox refuses outright (full: never counted) is posted through the merging path instead', async () => {
    const { alerts, outbox } = setup();
    alerts.failed(failure('etl'), CH, 'id:etl');
    alerts.failed(failure('etl'), CH, 'id:etl');
    await outbox.last().reject('full');
    expect(outbox.posts).toHaveLength(1);
    expect(outbox.posts[0]?.item).toMatchObject({ topic: 'job.failed', label: 'etl-name' });
    // The held repeat goes out in a new message.
    await outbox.last().resolve('m1');
    expect(outbox.handed).toBe(2);
  });

  it('different jobs: at most 2 sends in flight per channel; the rest are posted (merged by the Outbox), every one counted', async () => {
    const { alerts, outbox } = setup();
    for (let i = 0; i < 500; i++) alerts.failed(failure(`job-${i}`), CH, `id:job-${i}`);
    expect(outbox.ops.filter((op) => op.kind === 'send')).toHaveLength(2);
    expect(outbox.posts).toHaveLength(498);
    expect(outbox.handed).toBe(500);
    // Another channel has turns of its own.
    alerts.failed(failure('other'), '202', 'id:other');
    expect(outbox.last()).toMatchObject({ kind: 'send', channelId: '202' });
  });

  it('edits of several series wait for a turn when the channel has none free, and all go out', async () => {
    const { alerts, outbox } = setup({ directPerChannel: 2 });
    alerts.failed(failure('a'), CH, 'id:a');
    alerts.failed(failure('b'), CH, 'id:b');
    await outbox.ops[0]?.resolve('ma');
    await outbox.ops[1]?.resolve('mb');
    alerts.failed(failure('c'), CH, 'id:c');
    await outbox.last().resolve('mc');
    for (const job of ['a', 'b', 'c']) alerts.failed(failure(job), CH, `id:${job}`);
    expect(outbox.inFlight()).toHaveLength(2);
    expect(alerts.stats()).toMatchObject({ waiting: 1, held: 1 });
    await outbox.inFlight()[0]?.resolve();
    expect(outbox.inFlight()).toHaveLength(2);
    while (outbox.inFlight().length > 0) await outbox.inFlight()[0]?.resolve();
    expect(outbox.ops.filter((op) => op.kind === 'edit').map((op) => op.messageId).sort()).toEqual(['ma', 'mb', 'mc']);
    expect(outbox.handed).toBe(6);
  });

  it('a failure without job_id or job_name is alerted on its own every time', () => {
    const { alerts, outbox } = setup();
    alerts.failed(failure(undefined), CH, undefined);
    alerts.failed(failure(undefined), CH, undefined);
    expect(outbox.posts).toHaveLength(2);
    expect(outbox.ops).toHaveLength(0);
  });

  it('idle() (shutdown) resolves once held repeats have been handed over by the edit, or false at its bound', async () => {
    const { alerts, outbox } = setup();
    expect(await alerts.idle(10)).toBe(true);
    alerts.failed(failure('etl'), CH, 'id:etl');
    alerts.failed(failure('etl'), CH, 'id:etl');
    let idle: boolean | undefined;
    void alerts.idle(5_000).then((result) => (idle = result));
    await outbox.last().resolve('m1');
    expect(outbox.last().kind).toBe('edit');
    expect(idle, 'the held failure is still in flight').toBeUndefined();
    await outbox.last().resolve();
    expect(idle).toBe(true);
    expect(outbox.handed).toBe(2);
    alerts.failed(failure('other'), CH, 'id:other');
    expect(await alerts.idle(20)).toBe(false);
  });

  it('end(key) (the job recovered): its next failure is a new alert', async () => {
    const { alerts, outbox } = setup();
    alerts.failed(failure('etl'), CH, 'id:etl');
    await outbox.last().resolve('m1');
    alerts.end('id:etl');
    alerts.failed(failure('etl'), CH, 'id:etl');
    expect(outbox.last()).toMatchObject({ kind: 'send', events: 1 });
  });

  it('a first alert whose create was still in flight at a crash is sent again after the restart as "Job failed", not as "failing repeatedly … once"', async () => {
    const store = openStore({ path: ':memory:', baseDir: '.' });
    try {
      const state = new AlertState(store);
      const before = setup({ state });
      before.alerts.failed(failure('etl', 'boom first'), CH, 'id:etl');
      const first = before.outbox.last();
      expect(first.kind).toBe('send');
      // The process dies here: the create is never answered. The next run starts on the same store.
      await settle();
      const after = setup({ state });
      const resent = after.outbox.last();
      expect(resent).toMatchObject({ kind: 'send', channelId: CH, events: 1 });
      expect(resent.embed.title).toContain('Job failed');
      expect(resent.embed.title).not.toContain('repeatedly');
      expect(JSON.stringify(resent.embed)).toContain('boom first');
      expect(failuresShown(resent.embed)).toBeUndefined();
      await resent.resolve('m1');
    } finally {
      store.close();
    }
  });
});
