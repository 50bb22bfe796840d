import type { Client } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, type ConfigInput } from '../../src/config/index.ts';
import { discordExtensions, type DiscordExtensions } from '../../src/discord/module-context.ts';
import type { DirectOptions, Outbox, OutboxItem, OutboxMessage } from '../../src/discord/outbox/index.ts';
import { builtInModules } from '../../src/handlers/index.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { HandlerRegistry } from '../../src/pipeline/registry.ts';
import { runCleanups, setupModules, type SetUpModules } from '../../src/pipeline/modules.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { captureLogger } from '../helpers/transport.ts';

const CH = { job_failed: '101', job_executed: '102', handler_status: '103', scheduler: '104' };

/** What the modules handed to the Outbox interface: posts, and sends/edits (resolved at once with a fresh id). */
class RecordingOutbox {
  readonly posted: { channelId: string; item: OutboxItem }[] = [];
  readonly direct: { kind: 'send' | 'edit'; channelId: string; body: OutboxMessage; options: DirectOptions }[] = [];
  private nextId = 1;

  post(channelId: string, item: OutboxItem): void {
    this.posted.push({ channelId, item });
  }

  /** Nothing to commit: what was posted is recorded at once. */
  async stored(): Promise<void> {}

  async send(channelId: string, body: OutboxMessage, options: DirectOptions = {}): Promise<{ id: string }> {
    this.direct.push({ kind: 'send', channelId, body, options });
    return { id: String(this.nextId++) };
  }

  async edit(channelId: string, messageId: string, body: OutboxMessage, options: DirectOptions = {}): Promise<{ id: string }> {
    this.direct.push({ kind: 'edit', channelId, body, options });
    return { id: messageId };
  }

  /** Titles of everything that went to a channel, in order. */
  titles(channelId: string): string[] {
    return [
      ...this.posted.filter((p) => p.channelId === channelId).map((p) => p.item.embed.title ?? ''),
      ...this.direct.filter((d) => d.channelId === channelId).map((d) => d.body.embeds?.[0]?.title ?? ''),
    ];
  }
}

interface Harness {
  outbox: RecordingOutbox;
  registry: HandlerRegistry<DiscordExtensions>;
  metrics: Metrics;
  clock: ManualClock;
  logs: () => Record<string, unknown>[];
  deliver: (topic: string, data?: Record<string, unknown>, src?: string) => Promise<void>;
  skipped: (labels: Record<string, string>) => Promise<number>;
}

let setUp: SetUpModules | undefined;
let cleanupLogger: ReturnType<typeof captureLogger>['logger'] | undefined;

afterEach(async () => {
  if (setUp && cleanupLogger) await runCleanups(setUp.cleanups, cleanupLogger);
  setUp = undefined;
});

/** Sets up builtInModules(config) on the real registry and module loader, with a recording Outbox and a manual clock. */
async function harness(input: ConfigInput): Promise<Harness> {
  const config = parseConfig(input);
  const outbox = new RecordingOutbox();
  const registry = new HandlerRegistry<DiscordExtensions>();
  const metrics = new Metrics({ defaultMetrics: false });
  const clock = new ManualClock();
  const { logger, lines } = captureLogger('debug');
  cleanupLogger = logger;
  // The bot's own context builder over the recording Outbox: the modules go through ctx.post/send/edit.
  const extensions = discordExtensions(outbox as unknown as Outbox, undefined as unknown as Client);
  setUp = await setupModules(
    builtInModules(config, { metrics, clock }).map((definition) => ({ definition })),
    { registry, config, logger, extend: () => extensions },
  );
  let seq = 0;
  return {
    outbox,
    registry,
    metrics,
    clock,
    logs: lines,
    deliver: async (topic, data = {}, src) => {
      const event: ZmqEvent = { topic, data, meta: { receivedAt: clock.now(), seq: ++seq, ...(src === undefined ? {} : { src }) } };
      for (const r of registry.match(topic)) await r.handler(event, r.context, { signal: new AbortController().signal });
      // Let resolved sends and edits settle.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    },
    skipped: (labels) => metrics.value(metrics.eventsSkipped, labels),
  };
}

describe('builtInModules: routing, filters, accounting', () => {
  it('with no notification channel set, no module registers a handler, and start-up says why', async () => {
    const h = await harness({ notification_channels: {} });
    expect(h.registry.size).toBe(0);
    expect(h.logs().some((l) => String(l.msg).includes('no notification_channels are set'))).toBe(true);
  });

  it('the Python cog config (no scheduler channel): every catalog event lands in its channel; scheduler notices in handler_status', async () => {
    const h = await harness({ notification_channels: { job_failed: CH.job_failed, job_executed: CH.job_executed, handler_status: CH.handler_status } });
    await h.deliver('job.failed', { job_id: 'j1', job_name: 'etl', error: 'boom' });
    await h.deliver('job.executed', { job_id: 'j2', job_name: 'report', duration: 1.5 });
    await h.deliver('job.removed', { job_id: 'j3' });
    await h.deliver('handler.registered', { handler_id: 'h1' });
    await h.deliver('handler.unregistered', { handler_id: 'h1' });
    await h.deliver('scheduler.started', { deployment: 'prod' });
    await h.deliver('scheduler.stopped', { deployment: 'prod' });
    expect(h.outbox.titles(CH.job_failed)).toEqual([expect.stringContaining('Job failed: etl')]);
    expect(h.outbox.titles(CH.job_executed)).toEqual([expect.stringContaining('Job executed: report'), expect.stringContaining('Job removed')]);
    expect(h.outbox.titles(CH.handler_status)).toEqual([
      expect.stringContaining('Handler registered'),
      expect.stringContaining('Handler unregistered'),
      expect.stringContaining('Scheduler started'),
      expect.stringContaining('Scheduler stopped'),
    ]);
  });

  it('default min_severity info: job.scheduled and a healthy ping are filtered and counted; an unhealthy ping is posted', async () => {
    const h = await harness({ notification_channels: CH });
    await h.deliver('job.scheduled', { job_id: 'j1' });
    await h.deliver('handler.ping', { handler_id: 'h1', status: 'ok' });
    await h.deliver('handler.ping', { handler_id: 'h1', status: 'down' });
    expect(h.outbox.titles(CH.job_executed)).toEqual([]);
    expect(h.outbox.titles(CH.handler_status)).toEqual([expect.stringContaining('Handler ping: h1')]);
    expect(await h.skipped({ reason: 'filtered', route: 'job_notices' })).toBe(1);
    expect(await h.skipped({ reason: 'filtered', route: 'handler_notices' })).toBe(1);
  });

  it('only a failure channel: job.executed is not posted but counted (no_channel) and logged once per topic; failures still alert', async () => {
    const h = await harness({ notification_channels: { job_failed: CH.job_failed } });
    await h.deliver('job.executed', { job_id: 'a' });
    await h.deliver('job.executed', { job_id: 'b' });
    await h.deliver('handler.registered', { handler_id: 'h' });
    await h.deliver('job.failed', { job_id: 'c', error: 'x' });
    expect(await h.skipped({ reason: 'no_channel', route: 'job_notices' })).toBe(2);
    expect(await h.skipped({ reason: 'no_channel', route: 'handler_notices' })).toBe(1);
    const firstSight = h.logs().filter((l) => l.topic === 'job.executed' && l.reason === 'no_channel');
    expect(firstSight).toHaveLength(1);
    expect(h.logs().some((l) => l.level === 40 && String(l.msg).includes('set notification_channels.job_executed'))).toBe(true);
    expect(h.outbox.titles(CH.job_failed)).toEqual([expect.stringContaining('Job failed')]);
  });

  it('no failure channel but others set: job.failed is counted as skipped (no_channel), not lost silently', async () => {
    const h = await harness({ notification_channels: { job_executed: CH.job_executed } });
    await h.deliver('job.failed', { job_id: 'c', error: 'x' });
    expect(await h.skipped({ reason: 'no_channel', route: 'job_failed' })).toBe(1);
    expect(h.outbox.posted).toHaveLength(0);
    expect(h.outbox.direct).toHaveLength(0);
  });

  it('a failure is alerted once (failure-alerts), not also by notices', async () => {
    const h = await harness({ notification_channels: CH });
    await h.deliver('job.failed', { job_id: 'j', error: 'x' });
    expect(h.outbox.posted.length + h.outbox.direct.length).toBe(1);
  });

  it('notify_only_on_failure: executed/started are filtered; failure, recovered, stopped are posted', async () => {
    const h = await harness({ notification_channels: CH, filters: { notify_only_on_failure: true } });
    await h.deliver('job.executed', { job_id: 'ok-job' });
    await h.deliver('scheduler.started', { deployment: 'prod' });
    await h.deliver('job.failed', { job_id: 'flaky', job_name: 'flaky', error: 'E1' });
    await h.deliver('job.executed', { job_id: 'flaky', job_name: 'flaky' });
    await h.deliver('scheduler.stopped', { deployment: 'prod' });
    expect(h.outbox.titles(CH.job_executed)).toEqual([]);
    expect(h.outbox.titles(CH.job_failed)).toEqual([expect.stringContaining('Job recovered: flaky'), expect.stringContaining('Job failed: flaky')]);
    expect(h.outbox.titles(CH.scheduler)).toEqual([expect.stringContaining('Scheduler stopped')]);
    expect(await h.skipped({ reason: 'filtered' })).toBe(3);
  });

  it('recovered: two failures then a success post "recovered" in the failure channel with the count; a success without failure does not', async () => {
    const h = await harness({ notification_channels: CH });
    await h.deliver('job.executed', { job_id: 'never-failed' });
    await h.deliver('job.failed', { job_id: 'j', job_name: 'etl', error: 'first' });
    h.clock.advance(1000);
    await h.deliver('job.failed', { job_id: 'j', job_name: 'etl', error: 'second' });
    await h.deliver('job.executed', { job_id: 'j', job_name: 'etl', duration: 2 });
    const recovered = h.outbox.posted.filter((p) => p.item.topic === 'job.recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.channelId).toBe(CH.job_failed);
    expect(recovered[0]?.item.embed.description).toContain('**2 times**');
    expect(JSON.stringify(recovered[0]?.item.embed.fields)).toContain('second');
    // The recovery ended the series: the next failure is a new alert, not an edit.
    await h.deliver('job.failed', { job_id: 'j', job_name: 'etl', error: 'third' });
    expect(h.outbox.direct.at(-1)).toMatchObject({ kind: 'send', options: { topic: 'job.failed', events: 1 } });
  });

  it('alerts.recovered_notices false: no recovered notice', async () => {
    const h = await harness({ notification_channels: CH, alerts: { recovered_notices: false } });
    await h.deliver('job.failed', { job_id: 'j', error: 'x' });
    await h.deliver('job.executed', { job_id: 'j' });
    expect(h.outbox.posted.filter((p) => p.item.topic === 'job.recovered')).toHaveLength(0);
  });

  it('alerts.suppress_repeats false: five failures of one job are five alerts (merged path), no send or edit', async () => {
    const h = await harness({ notification_channels: CH, alerts: { suppress_repeats: false } });
    for (let i = 0; i < 5; i++) await h.deliver('job.failed', { job_id: 'j', error: `e${i}` });
    expect(h.outbox.posted).toHaveLength(5);
    expect(h.outbox.direct).toHaveLength(0);
  });

  it('repeat suppression on (default): five failures of one job are one send and edits whose events add up to 5', async () => {
    const h = await harness({ notification_channels: CH });
    for (let i = 0; i < 5; i++) await h.deliver('job.failed', { job_id: 'j', error: `e${i}` });
    expect(h.outbox.direct.filter((d) => d.kind === 'send')).toHaveLength(1);
    expect(h.outbox.direct.reduce((sum, d) => sum + (d.options.events ?? 0), 0)).toBe(5);
  });
});

describe('builtInModules: heartbeat watchdog', () => {
  it('heartbeats then silence: "scheduler silent" in the scheduler channel after heartbeat_timeout_s; "back" when they resume', async () => {
    const h = await harness({ notification_channels: CH, alerts: { heartbeat_timeout_s: 5 } });
    await h.deliver('scheduler.heartbeat', { deployment: 'prod' }, 'pub-1');
    h.clock.advance(2_000);
    await h.deliver('scheduler.heartbeat', { deployment: 'prod' }, 'pub-1');
    h.clock.advance(4_999);
    expect(h.outbox.titles(CH.scheduler)).toEqual([]);
    h.clock.advance(1);
    expect(h.outbox.titles(CH.scheduler)).toEqual([expect.stringContaining('Scheduler silent: prod')]);
    h.clock.advance(10_000);
    await h.deliver('scheduler.heartbeat', { deployment: 'prod' }, 'pub-1');
    expect(h.outbox.titles(CH.scheduler)).toEqual([expect.stringContaining('Scheduler silent: prod'), expect.stringContaining('Scheduler back: prod')]);
    expect(h.outbox.posted.map((p) => p.item.topic)).toEqual(['scheduler.silent', 'scheduler.back']);
  });

  it('heartbeats are never posted, and a clean stop means no silent alert', async () => {
    const h = await harness({ notification_channels: CH, filters: { min_severity: 'debug' }, alerts: { heartbeat_timeout_s: 5 } });
    await h.deliver('scheduler.heartbeat', { deployment: 'prod' });
    await h.deliver('scheduler.stopped', { deployment: 'prod' });
    h.clock.advance(60_000);
    expect(h.outbox.titles(CH.scheduler)).toEqual([expect.stringContaining('Scheduler stopped')]);
  });

  it('with only a failure channel, "scheduler silent" goes there (a silent scheduler means failures may go unreported)', async () => {
    const h = await harness({ notification_channels: { job_failed: CH.job_failed }, alerts: { heartbeat_timeout_s: 5 } });
    await h.deliver('scheduler.heartbeat', { deployment: 'prod' });
    h.clock.advance(5_000);
    expect(h.outbox.titles(CH.job_failed)).toEqual([expect.stringContaining('Scheduler silent')]);
  });

  it('heartbeat_timeout_s null: no watchdog module; the cleanup of an armed watchdog clears its timers', async () => {
    const off = await harness({ notification_channels: CH, alerts: { heartbeat_timeout_s: null } });
    expect(off.registry.list().some((r) => r.module === 'scheduler-watchdog')).toBe(false);
    const on = await harness({ notification_channels: CH, alerts: { heartbeat_timeout_s: 5 } });
    await on.deliver('scheduler.heartbeat', { deployment: 'prod' });
    expect(on.clock.pending).toBe(1);
    if (setUp && cleanupLogger) await runCleanups(setUp.cleanups, cleanupLogger);
    setUp = undefined;
    expect(on.clock.pending).toBe(0);
  });
});
