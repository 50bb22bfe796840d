import type { APIEmbed } from 'discord.js';
import { LRUCache } from 'lru-cache';
import { jobFailedEmbed, repeatedFailureEmbed } from '../discord/embeds/index.ts';
import { jobLabel } from '../discord/embeds/format.ts';
import type { DiscordExtensions, SendOptions } from '../discord/module-context.ts';
import { newNonce, OutboxError } from '../discord/outbox/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { ZmqEvent } from '../pipeline/event.ts';
import type { AlertState, StoredSeries } from './alert-state.ts';
import { compactFailure } from './compact.ts';

/** The part of the module API that repeat suppression posts through (the module's context; unit tests pass a fake). */
export type AlertPoster = Pick<DiscordExtensions, 'post' | 'send' | 'edit'>;

/** Settings of {@link RepeatAlerts}. */
export interface RepeatAlertsOptions {
  poster: AlertPoster;
  /** A failure within this long of the job's previous one continues its series, ms. */
  windowMs: number;
  /** A series this old gets a fresh alert (a new message) on its next failure, ms. */
  renotifyMs: number;
  /** Series remembered at most; the least recently failing is forgotten first. */
  maxSeries: number;
  /**
   * Sends and edits this in flight at once per channel (default 2). A new series that finds none
   * free is posted through the Outbox's merging path instead, so a burst of different failing jobs
   * is merged and digested rather than queued as one message each; an edit waits for one.
   */
  directPerChannel?: number;
  now: () => number;
  logger: Logger;
  /** Where the series are kept across restarts (none: in memory only). */
  state?: AlertState;
}

/** One job's run of failures, each within the window of the previous one. */
interface Series {
  readonly key: string;
  readonly channelId: string;
  count: number;
  readonly firstAt: number;
  lastAt: number;
  /** The latest failure, reduced to what the alert shows (compactFailure). */
  last: ZmqEvent;
  /** The alert message, once Discord has it. */
  messageId?: string;
  /** A send or edit for this series is in flight. */
  busy: boolean;
  /** Failures not yet handed to the Outbox (they arrived while a send or edit was in flight). */
  held: number;
  heldSince?: number;
  /** The alert message is gone (its edit failed): send a new one even with nothing held. */
  fresh: boolean;
  /** The nonce of the next create of its alert. */
  nonce: string;
  /** Failures not yet confirmed by Discord: held, or in a send or edit in flight. */
  unsent: number;
  unsentSince?: number;
}

/** One channel's direct messages: how many are in flight, and the series waiting for a turn. */
interface Lane {
  active: number;
  readonly waiting: Set<Series>;
}

const TOPIC = 'job.failed';

/**
 * Repeat suppression for job failures: a job's first failure is sent as an alert, and each further
 * failure within the window edits that alert ("failed N times; last error …") instead of posting
 * again. Edits are coalesced: at most one send or edit per series is in flight, and what arrives
 * meanwhile goes out with the next one, so a hundred repeats become a handful of edits. Every
 * failure is handed to the Outbox exactly once, counted (`events`) by the message that carries it.
 * It never waits for Discord: `failed` returns at once and sends and edits complete on their own,
 * so a slow or failing channel never holds up the dispatcher.
 */
export class RepeatAlerts {
  private readonly series: LRUCache<string, Series>;
  private readonly lanes = new Map<string, Lane>();
  private readonly directPerChannel: number;
  private readonly idleWaiters = new Set<() => void>();

  constructor(private readonly options: RepeatAlertsOptions) {
    // The least recently failing series is forgotten first, and its stored copy with it.
    this.series = new LRUCache({ max: options.maxSeries, dispose: (_series, key, reason) => reason === 'evict' && this.options.state?.deleteSeries(key) });
    this.directPerChannel = Math.max(1, Math.floor(options.directPerChannel ?? 2));
    this.restore();
  }

  /** Reports a `job.failed` event of job `key` (undefined: a job that cannot be told apart, always alerted on its own). */
  failed(event: ZmqEvent, channelId: string, key: string | undefined): void {
    const now = this.options.now();
    if (key === undefined) {
      this.postAlert(channelId, event);
      return;
    }
    let series = this.series.get(key);
    if (series && !this.continues(series, channelId, now)) {
      // Its message keeps what it showed; work in flight for it still completes.
      this.series.delete(key);
      this.options.state?.deleteSeries(key);
      series = undefined;
    }
    if (!series) {
      series = { key, channelId, count: 1, firstAt: now, lastAt: now, last: compactFailure(event), busy: false, held: 0, fresh: false, nonce: newNonce(), unsent: 0 };
      this.remember(series);
      if (this.acquire(channelId)) {
        this.owe(series, 1, event.meta.receivedAt);
        this.send(series, jobFailedEmbed(event), 1, event.meta.receivedAt);
      } else {
        this.postAlert(channelId, event);
      }
      this.save(series);
      return;
    }
    series.count++;
    series.lastAt = now;
    series.last = compactFailure(event);
    series.held++;
    series.heldSince ??= event.meta.receivedAt;
    this.owe(series, 1, event.meta.receivedAt);
    this.save(series);
    this.flush(series);
  }

  /**
   * Resolves true once no send or edit is in flight and no failure is held (so everything has been
   * handed to the Outbox), or false after `timeoutMs`. For shutdown: run before the Outbox drains,
   * so failures held for an edit are delivered rather than counted as lost to the shutdown.
   */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        resolve(false);
      }, Math.max(0, timeoutMs));
      this.idleWaiters.add(done);
    });
  }

  /** Ends job `key`'s series (it recovered): its next failure is a new alert. */
  end(key: string): void {
    this.series.delete(key);
    this.options.state?.deleteSeries(key);
  }

  /** Series remembered, direct messages in flight, and failures held for the next edit. */
  stats(): { series: number; inFlight: number; waiting: number; held: number } {
    let inFlight = 0;
    let waiting = 0;
    let held = 0;
    for (const lane of this.lanes.values()) {
      inFlight += lane.active;
      waiting += lane.waiting.size;
      for (const series of lane.waiting) held += series.held;
    }
    for (const series of this.series.values()) if (series.busy) held += series.held;
    return { series: this.series.size, inFlight, waiting, held };
  }

  private isIdle(): boolean {
    for (const lane of this.lanes.values()) if (lane.active > 0 || lane.waiting.size > 0) return false;
    return true;
  }

  private continues(series: Series, channelId: string, now: number): boolean {
    return series.channelId === channelId && now - series.lastAt <= this.options.windowMs && now - series.firstAt < this.options.renotifyMs;
  }

  private lane(channelId: string): Lane {
    let lane = this.lanes.get(channelId);
    if (!lane) {
      lane = { active: 0, waiting: new Set() };
      this.lanes.set(channelId, lane);
    }
    return lane;
  }

  private acquire(channelId: string): boolean {
    const lane = this.lane(channelId);
    if (lane.active >= this.directPerChannel) return false;
    lane.active++;
    return true;
  }

  // Sends what the series holds (or a fresh alert), now or when the channel has a turn free.
  private flush(series: Series): void {
    if (series.busy || (series.held === 0 && !series.fresh)) return;
    if (this.acquire(series.channelId)) this.start(series);
    else this.lane(series.channelId).waiting.add(series);
  }

  // With a turn acquired: the series' current state, as an edit of its alert or as a new alert.
  private start(series: Series): void {
    const events = series.held;
    const receivedAt = series.heldSince;
    series.held = 0;
    series.heldSince = undefined;
    series.fresh = false;
    const spanMs = Math.max(1000, Math.ceil((series.lastAt - series.firstAt) / 1000) * 1000);
    // A series of one failure whose first create never got an answer (restored after a crash) is
    // still that job's first alert, not a "failing repeatedly" one.
    const embed = series.count === 1 && series.messageId === undefined ? jobFailedEmbed(series.last) : repeatedFailureEmbed(series.last, { count: series.count, windowMs: spanMs });
    if (series.messageId === undefined) this.send(series, embed, events, receivedAt);
    else this.edit(series, series.messageId, embed, events, receivedAt);
  }

  private send(series: Series, embed: APIEmbed, events: number, receivedAt: number | undefined): void {
    series.busy = true;
    void this.run(series, async () => {
      try {
        const { id } = await this.options.poster.send(series.channelId, { embeds: [embed] }, { ...directOptions(events, receivedAt), nonce: series.nonce });
        series.messageId = id;
      } catch (error) {
        // The Outbox has counted the events undeliverable and logged why (unless it refused them: `full`).
        series.messageId = undefined;
        series.nonce = newNonce();
        this.notAccepted(series, error, embed, events, receivedAt);
      }
      this.settled(series, events);
    });
  }

  private edit(series: Series, messageId: string, embed: APIEmbed, events: number, receivedAt: number | undefined): void {
    series.busy = true;
    void this.run(series, async () => {
      try {
        await this.options.poster.edit(series.channelId, messageId, { embeds: [embed] }, directOptions(events, receivedAt));
        this.settled(series, events);
      } catch (error) {
        this.settled(series, events);
        if (this.notAccepted(series, error, embed, events, receivedAt)) return;
        // The alert was deleted, or cannot be edited: the series goes on in a new message.
        this.options.logger.info(
          { job: series.key, channelId: series.channelId, messageId, reason: error instanceof OutboxError ? error.reason : String(error) },
          'could not edit a repeated-failure alert; posting a fresh one',
        );
        if (series.messageId === messageId) series.messageId = undefined;
        series.nonce = newNonce();
        series.fresh = true;
      }
    });
  }

  // Runs one send or edit of a series, then gives its turn to whoever waits (the series itself goes to the back).
  private async run(series: Series, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.options.logger.error({ err: error, job: series.key }, 'repeat suppression failed unexpectedly');
    } finally {
      series.busy = false;
      const lane = this.lane(series.channelId);
      lane.active--;
      if (series.held > 0 || series.fresh) lane.waiting.add(series);
      this.pump(lane);
      if (this.idleWaiters.size > 0 && this.isIdle()) for (const done of [...this.idleWaiters]) done();
    }
  }

  private pump(lane: Lane): void {
    for (const next of lane.waiting) {
      if (lane.active >= this.directPerChannel) return;
      lane.waiting.delete(next);
      if (next.busy || (next.held === 0 && !next.fresh)) continue;
      lane.active++;
      this.start(next);
    }
  }

  /**
   * When the Outbox refused a message outright (`full`: its channel's queue of direct messages is
   * full), its events were never counted: they are posted through the merging path instead, one
   * item each, so each is still delivered or counted. True when that was the case.
   */
  private notAccepted(series: Series, error: unknown, embed: APIEmbed, events: number, receivedAt: number | undefined): boolean {
    if (!(error instanceof OutboxError) || error.reason !== 'full') return false;
    this.options.logger.warn({ job: series.key, channelId: series.channelId, events }, 'the Outbox queue for direct messages is full; posting the failure alerts without repeat suppression');
    const options = receivedAt === undefined ? { topic: TOPIC, label: jobLabel(series.last.data) } : { topic: TOPIC, label: jobLabel(series.last.data), receivedAt };
    for (let i = 0; i < events; i++) this.hand(this.options.poster.post(series.channelId, embed, options), series.channelId);
    return true;
  }

  // Failures handed to the series but not yet confirmed by Discord; stored, so a restart sends them.
  private owe(series: Series, events: number, receivedAt: number): void {
    series.unsent += events;
    series.unsentSince ??= receivedAt;
  }

  // A send or edit carrying `events` ended: delivered, counted lost by the Outbox, or handed to its merging path.
  private settled(series: Series, events: number): void {
    series.unsent = Math.max(0, series.unsent - events);
    if (series.unsent === 0) series.unsentSince = undefined;
    if (this.series.peek(series.key) === series) this.save(series);
  }

  private remember(series: Series): void {
    this.series.set(series.key, series);
  }

  private save(series: Series): void {
    const state = this.options.state;
    if (!state) return;
    const stored: StoredSeries = {
      key: series.key,
      channelId: series.channelId,
      count: series.count,
      firstAt: series.firstAt,
      lastAt: series.lastAt,
      last: series.last,
      nonce: series.nonce,
      unsent: series.unsent,
    };
    if (series.messageId !== undefined) stored.messageId = series.messageId;
    if (series.unsentSince !== undefined) stored.unsentSince = series.unsentSince;
    state.saveSeries(stored);
  }

  // The series a previous run left: each goes on where it was, and what it still owed is sent now,
  // as an edit of its alert (or, when the alert's create never got an answer, that create with its nonce).
  private restore(): void {
    const stored = this.options.state?.loadSeries() ?? [];
    let owed = 0;
    for (const entry of stored) {
      const series: Series = { ...entry, busy: false, held: entry.unsent, fresh: entry.unsent > 0 && entry.messageId === undefined };
      if (entry.unsentSince !== undefined) series.heldSince = entry.unsentSince;
      this.remember(series);
      owed += entry.unsent;
    }
    for (const key of [...this.series.rkeys()]) {
      const series = this.series.peek(key);
      if (series) this.flush(series);
    }
    if (stored.length > 0) {
      this.options.logger.info({ series: this.series.size, owed }, `continuing ${this.series.size} repeated-failure alert series from the store (${owed} failures still to be shown)`);
    }
  }

  // An alert through the Outbox's merging path: never waits, never edited later.
  private postAlert(channelId: string, event: ZmqEvent): void {
    this.hand(this.options.poster.post(channelId, jobFailedEmbed(event), { event, topic: TOPIC, label: jobLabel(event.data) }), channelId);
  }

  // post() resolves once the Outbox has the alert; a refusal is logged, never left unhandled.
  private hand(posted: Promise<void>, channelId: string): void {
    posted.catch((error: unknown) => this.options.logger.error({ err: error, channelId }, 'could not hand a failure alert to the Outbox'));
  }
}

function directOptions(events: number, receivedAt: number | undefined): SendOptions {
  if (events <= 0) return {};
  return receivedAt === undefined ? { topic: TOPIC, events } : { topic: TOPIC, events, receivedAt };
}
