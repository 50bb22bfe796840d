import { EventEmitter } from 'node:events';
import { REST, RESTEvents, type APIRequest, type ResponseLike } from 'discord.js';
import { EmbedLimits, fitEmbeds } from '../embeds/limits.ts';
import { truncateText } from '../embeds/text.ts';
import type { Logger } from '../../observability/logger.ts';
import { LogThrottle } from '../../observability/log-throttle.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { isSnowflake } from '../../shared/snowflake.ts';
import { openStore, type Store } from '../../store/index.ts';
import { ChannelLane, type LaneHost } from './channel-lane.ts';
import { readBucketHeaders } from './channel-limiter.ts';
import { Delivery } from './delivery.ts';
import { DigestCounter } from './digest.ts';
import { OutboxError, type DeliveryFailure } from './errors.ts';
import { OutboxLedger } from './ledger.ts';
import type { PendingItem } from './packing.ts';
import { Spool } from './spool.ts';
import type { ChannelReport, DirectOptions, OutboxDrainResult, OutboxEvents, OutboxItem, OutboxMessage } from './types.ts';

/** Settings of an {@link Outbox}; everything but `rest`, `metrics` and `logger` has a default. */
export interface OutboxOptions {
  /** A REST client made by {@link createOutboxRest} (retries off, rate limits rejected): the Outbox owns retries and waits. */
  rest: REST;
  metrics: Metrics;
  logger: Logger;
  /** Where pending events are kept until Discord has them (default: an in-memory store, gone with the process). */
  store?: Store;
  /** Full events kept per channel while it waits (default 500); beyond, events fold into digest counters. */
  perChannelPending?: number;
  /** First wait after a 5xx, timeout or unreachable Discord (default 1000 ms); doubles up to `retryMaxDelayMs` (default 30 s, at most 60 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** First re-probe of a channel that answered 403/404 (default 5 s); doubles up to `probeMaxDelayMs` (default 5 min). */
  probeBaseDelayMs?: number;
  probeMaxDelayMs?: number;
  /** An event pending longer than this is given up on, counted `expired` (default 24 h). */
  maxAgeMs?: number;
  /** Where a notice and copies of the held alerts go while a channel refuses the bot (notification_channels.fallback). */
  fallbackChannelId?: string | null;
  /** The per-channel limit assumed until Discord's headers say otherwise (default 5 per 5 s). */
  assumedChannelLimit?: { limit: number; windowMs: number };
  /** Extra wait after a rate-limit bucket resets (default 100 ms). */
  resetOffsetMs?: number;
  /** Accept (and spool) but send nothing until {@link Outbox.resume} (e.g. before the client has logged in). */
  paused?: boolean;
}

const MESSAGE_ROUTE = /^\/channels\/(\d+)\/messages(?:\/\d+)?$/;
/** Longest wait between two tries while Discord is down: an alert follows within a minute of its return. */
const MAX_RETRY_DELAY_MS = 60_000;
const RATE_LIMIT_WARN_INTERVAL_MS = 10_000;

/**
 * The REST client the Outbox needs: no retries of its own and every rate limit rejected (thrown as
 * a RateLimitError with how long to wait), so that the Outbox is the one owner of retries and
 * waits, and counts every attempt. Call `setToken` before the Outbox sends.
 *
 * @example
 * ```ts
 * const rest = createOutboxRest('http://127.0.0.1:8099/api').setToken(token);
 * const outbox = new Outbox({ rest, metrics, logger });
 * ```
 */
export function createOutboxRest(api?: string | null): REST {
  return new REST({ retries: 0, rejectOnRateLimit: () => true, ...(api ? { api: api.replace(/\/$/, '') } : {}) });
}

/**
 * Posts to Discord without ever stalling the caller or losing an alert: per-channel lanes with
 * one request in flight each, merging of what accumulates (10 embeds, 6000 characters, then a
 * digest), Discord's rate limits (Bottleneck per channel, fed by its headers), retries with
 * backoff through outages and refusals, and a spool in the store, so what was accepted survives a
 * crash and is sent once (nonces). Events handed over = posted + pending + undeliverable, always.
 *
 * @example
 * ```ts
 * const outbox = new Outbox({ rest: createOutboxRest().setToken(token), metrics, logger, store });
 * outbox.post(channelId, { embed: { title: 'Job failed' }, topic: 'job.failed', label: 'etl' });
 * const { drained, kept } = await outbox.drain(10_000);
 * ```
 */
export class Outbox extends EventEmitter<OutboxEvents> {
  private readonly rest: REST;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly ledger: OutboxLedger;
  private readonly lanes = new Map<string, ChannelLane>();
  private readonly abort = new AbortController();
  private readonly host: LaneHost;
  private readonly store: Store;
  private readonly ownStore: boolean;
  private readonly spool: Spool;
  private readonly settings: Required<Omit<OutboxOptions, 'rest' | 'metrics' | 'logger' | 'store' | 'paused'>>;
  private readonly reportedBadIds = new Set<string>();
  private accepting = true;
  private sending: boolean;
  private closed = false;
  private warnedClosed = false;
  private draining: Promise<OutboxDrainResult> | undefined;
  /** 429s are logged at warn, one line per interval for the whole Outbox (a storm is one story). */
  private readonly rateLimitLog = new LogThrottle(RATE_LIMIT_WARN_INTERVAL_MS, 1);

  constructor(options: OutboxOptions) {
    super();
    this.rest = options.rest;
    this.metrics = options.metrics;
    this.logger = options.logger;
    if (this.rest.options.retries !== 0 || !this.rest.options.rejectOnRateLimit) {
      throw new TypeError('Outbox: the REST client must not retry or wait by itself (retries: 0, rejectOnRateLimit); make it with createOutboxRest()');
    }
    this.settings = {
      perChannelPending: Math.max(1, options.perChannelPending ?? 500),
      retryBaseDelayMs: Math.max(1, options.retryBaseDelayMs ?? 1000),
      retryMaxDelayMs: Math.min(MAX_RETRY_DELAY_MS, Math.max(1, options.retryMaxDelayMs ?? 30_000)),
      probeBaseDelayMs: Math.max(1, options.probeBaseDelayMs ?? 5000),
      probeMaxDelayMs: Math.max(1, options.probeMaxDelayMs ?? 300_000),
      maxAgeMs: Math.max(1, options.maxAgeMs ?? 86_400_000),
      fallbackChannelId: options.fallbackChannelId ?? null,
      assumedChannelLimit: options.assumedChannelLimit ?? { limit: 5, windowMs: 5000 },
      resetOffsetMs: Math.max(0, options.resetOffsetMs ?? 100),
    };
    this.sending = !(options.paused ?? false);
    this.ownStore = options.store === undefined;
    this.store = options.store ?? openStore({ path: ':memory:', baseDir: process.cwd() });
    this.spool = new Spool(this.store);
    this.ledger = new OutboxLedger(this.metrics);
    const delivery = new Delivery(this.rest, this.abort.signal, this.metrics);
    this.host = {
      ledger: this.ledger,
      logger: this.logger,
      spool: this.spool,
      maxAgeMs: this.settings.maxAgeMs,
      deliver: (request) => delivery.run(request),
      now: () => Date.now(),
      sending: () => this.sending && !this.closed,
      messageSent: () => this.metrics.discordMessagesSent.inc(),
      rateLimited: (channelId, failure) => this.rateLimited(channelId, failure),
      // EventEmitter's typing cannot follow a generic key through a rest parameter; the host's signature is the typed one.
      emit: (event, ...args) => (this.emit as (name: string, ...values: unknown[]) => boolean)(event, ...args),
    };
    this.on('channel-unavailable', (event) => {
      if (event.state === 'refused') this.toFallback(event.channelId, `${event.status} ${event.message}`, event.held);
    });
    this.rest.on(RESTEvents.Response, this.onResponse);
    this.recover();
  }

  /**
   * Hands one event to the Outbox for `channelId`; it is in the spool when this returns (committed
   * with the rest of this event-loop turn's writes: see {@link Outbox.stored}). Never throws, never blocks.
   */
  post(channelId: string, item: OutboxItem): void {
    try {
      const lane = this.acceptableChannel(channelId);
      if (!lane) return;
      const receivedAt = typeof item.receivedAt === 'number' && Number.isFinite(item.receivedAt) ? item.receivedAt : Date.now();
      const pending: PendingItem = { embed: item.embed, topic: String(item.topic ?? ''), receivedAt };
      if (item.label !== undefined && item.label !== null) pending.label = String(item.label);
      lane.post(pending);
      if (lane.unavailable?.state === 'refused') this.copyToFallback(channelId, pending);
    } catch (error) {
      this.logger.error({ err: error, channelId }, 'Outbox.post failed unexpectedly');
    }
  }

  /** Resolves once everything posted so far is committed to the store. */
  stored(): Promise<void> {
    return this.store.committed();
  }

  /**
   * Sends one message whose id the caller needs (e.g. the first alert of a repeat series), through
   * the channel's queue and limits, retried like every message. Counted as carrying events when
   * `options.topic` is given; `options.nonce` makes a repeat of it (after a restart) a no-op.
   * Rejects with an {@link OutboxError} when it cannot be delivered (its events are then already counted).
   */
  send(channelId: string, body: OutboxMessage, options: DirectOptions = {}): Promise<{ id: string }> {
    return this.direct('send', channelId, undefined, body, options);
  }

  /** Replaces a message's content and embeds (queued edits of the same message collapse into the newest). */
  edit(channelId: string, messageId: string, body: OutboxMessage, options: DirectOptions = {}): Promise<{ id: string }> {
    return this.direct('edit', channelId, messageId, body, options);
  }

  /** Starts sending, for an Outbox made `paused` (once the REST client has its token). */
  resume(): void {
    if (this.sending) return;
    this.sending = true;
    for (const lane of this.lanes.values()) lane.kick();
  }

  /**
   * Runs another sender's message request to a channel (a job method's announcement) in the
   * channel's turn: it waits with the Outbox's own sends and counts against the channel's limit, so
   * the Outbox is never surprised by it. Call {@link observe} on that sender's REST client so its
   * responses' rate-limit headers reach the limiter too.
   */
  inChannelTurn<T>(channelId: string, request: () => Promise<T>): Promise<T> {
    if (!this.sending || this.closed || !isSnowflake(String(channelId))) return request();
    return this.lane(channelId).limiter.schedule(request);
  }

  /** Reads the responses of another REST client (the discord.js client's) as its own: rate-limit headers, 429s, errors. Returns the undo. */
  observe(rest: REST): () => void {
    rest.on(RESTEvents.Response, this.onResponse);
    return () => rest.off(RESTEvents.Response, this.onResponse);
  }

  /** Events waiting or in flight, over all channels (what a shutdown would leave in the spool). */
  pending(): number {
    return this.ledger.pending;
  }

  /** Whether what is pending outlives the process (the store is a file). */
  get durable(): boolean {
    return this.spool.durable;
  }

  /** Events waiting or in flight, per channel (channels with none left out). */
  pendingByChannel(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, lane] of this.lanes) {
      const events = lane.pendingEvents;
      if (events > 0) out[id] = events;
    }
    return out;
  }

  /** Channels that cannot be posted to now: why, and when they are tried next (ms epoch). */
  unavailableChannels(): Record<string, { reason: string; state: 'outage' | 'refused'; retryAt: number }> {
    const out: Record<string, { reason: string; state: 'outage' | 'refused'; retryAt: number }> = {};
    for (const [id, lane] of this.lanes) {
      const status = lane.unavailable;
      if (status) out[id] = { reason: status.reason, state: status.state, retryAt: status.nextAttemptAt };
    }
    return out;
  }

  /** Every channel the Outbox has posted to: pending and undeliverable events, and whether it can be posted to. */
  channels(): Record<string, ChannelReport> {
    const out: Record<string, ChannelReport> = {};
    for (const [id, lane] of this.lanes) {
      const status = lane.unavailable;
      const report: ChannelReport = { pending: lane.pendingEvents, undeliverable: lane.undeliverableByReason(), state: status?.state ?? 'ok' };
      if (status) Object.assign(report, { since: status.since, status: status.status, error: status.message, nextAttemptAt: status.nextAttemptAt });
      out[id] = report;
    }
    return out;
  }

  /** Why the Outbox cannot do its job now, one line per channel that cannot be posted to (for /healthz). */
  problems(): string[] {
    const problems: string[] = [];
    for (const [id, lane] of this.lanes) {
      const status = lane.unavailable;
      if (!status) continue;
      const since = new Date(status.since).toISOString();
      const what = status.state === 'refused' ? `cannot post to channel ${id}: ${status.status} ${status.message}` : `Discord cannot take messages for channel ${id}: ${status.status} ${status.message}`;
      problems.push(`${what} (since ${since}; ${lane.pendingEvents} alerts held)`);
    }
    return problems;
  }

  /**
   * Stops accepting and sends what is pending, within `timeoutMs`. What is left then stays in the
   * spool for the next start (or, with an in-memory store, is counted undeliverable: `shutdown`).
   * Either way the Outbox is closed afterwards; calling it again returns the same result.
   */
  drain(timeoutMs: number): Promise<OutboxDrainResult> {
    this.draining ??= this.runDrain(timeoutMs);
    return this.draining;
  }

  private async runDrain(timeoutMs: number): Promise<OutboxDrainResult> {
    this.accepting = false;
    // A paused Outbox has nothing it could send in time.
    const drained = this.sending ? await this.settled(timeoutMs) : this.ledger.pending === 0;
    const result: OutboxDrainResult = { drained, left: this.ledger.pending, kept: 0, abandoned: 0 };
    this.closed = true;
    if (!drained) {
      if (this.spool.durable) {
        result.kept = result.left;
        this.logger.warn({ events: result.kept, timeoutMs, storage: this.store.location }, `Outbox drain timed out; ${result.kept} events stay in the spool and are sent at the next start`);
      } else {
        for (const lane of this.lanes.values()) result.abandoned += lane.abandon();
        this.logger.warn({ events: result.abandoned, timeoutMs }, 'Outbox drain timed out; the events left are counted as undeliverable (shutdown): storage.path is ":memory:"');
      }
    }
    this.abort.abort();
    this.rest.off(RESTEvents.Response, this.onResponse);
    // Not awaited: a limiter's stop waits for its running job, which is already aborted, and drain must keep its bound.
    for (const lane of this.lanes.values()) void lane.stop();
    this.spool.flush();
    if (this.ownStore) this.store.close();
    return result;
  }

  private settled(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (this.ledger.pending === 0) {
        resolve(true);
        return;
      }
      const stopWatching = this.ledger.onChange(() => {
        if (this.ledger.pending !== 0) return;
        clearTimeout(timer);
        stopWatching();
        resolve(true);
      });
      const timer = setTimeout(() => {
        stopWatching();
        resolve(false);
      }, Math.max(0, timeoutMs));
    });
  }

  // What a previous run left in the spool goes out first, channel by channel.
  private recover(): void {
    const events = this.spool.load();
    const folds = this.spool.loadFolded();
    if (events.length === 0 && folds.length === 0) return;
    const byChannel = new Map<string, { events: typeof events; folds: typeof folds }>();
    const of = (channelId: string): { events: typeof events; folds: typeof folds } => {
      let entry = byChannel.get(channelId);
      if (!entry) byChannel.set(channelId, (entry = { events: [], folds: [] }));
      return entry;
    };
    for (const event of events) of(event.channelId).events.push(event);
    for (const fold of folds) of(fold.channelId).folds.push(fold);
    let recovered = 0;
    for (const [channelId, entry] of byChannel) recovered += this.lane(channelId).recover(entry.events, entry.folds);
    const started = new Set([...events.map((e) => e.nonce), ...folds.map((f) => f.nonce)].filter((n) => n !== undefined)).size;
    const unreadable = events.filter((e) => e.unreadable).length;
    if (unreadable > 0) {
      this.logger.error({ events: unreadable, storage: this.store.location }, `${unreadable} spooled alerts have an embed that cannot be read back (the file was damaged); they are reported in a digest instead`);
    }
    this.logger.info(
      { events: recovered, channels: byChannel.size, startedMessages: started, storage: this.store.location },
      `recovered ${recovered} pending alerts from the spool; they are sent now (${started} messages that had been started are retried with their nonce, so none is posted twice)`,
    );
  }

  private toFallback(channelId: string, problem: string, held: number): void {
    const fallback = this.settings.fallbackChannelId;
    const lane = this.lanes.get(channelId);
    if (!fallback || fallback === channelId || !lane || !this.accepting) return;
    this.lane(fallback).notice({ content: `⚠️ cannot post to <#${channelId}>: ${problem}, ${held} alerts held. Copies of them follow here until it works again.` });
    for (const item of lane.heldItems()) this.copyToFallback(channelId, item);
  }

  private copyToFallback(channelId: string, item: PendingItem): void {
    const fallback = this.settings.fallbackChannelId;
    if (!fallback || fallback === channelId) return;
    const copy: PendingItem = { embed: item.embed, topic: item.topic, receivedAt: item.receivedAt };
    if (item.label !== undefined) copy.label = item.label;
    this.lane(fallback).post(copy);
  }

  private rateLimited(channelId: string, failure: DeliveryFailure): void {
    const { log, suppressed } = this.rateLimitLog.hit('429', Date.now());
    if (!log) return;
    this.logger.warn(
      { channelId, waitMs: failure.retryAfterMs, global: failure.global ?? false, moreSinceLastWarning: suppressed },
      `Discord rate limit: channel ${channelId} waits ${Math.ceil((failure.retryAfterMs ?? 0) / 1000)} s before its next message`,
    );
  }

  private direct(kind: 'send' | 'edit', channelId: string, messageId: string | undefined, body: OutboxMessage, options: DirectOptions): Promise<{ id: string }> {
    const events = eventsOf(options);
    if (!this.accepting) {
      this.ledger.accepted(events.count);
      this.ledger.undeliverable(events.count, 'shutdown');
      return Promise.reject(new OutboxError('the Outbox is shutting down', 'shutdown'));
    }
    if (!isSnowflake(String(channelId)) || (kind === 'edit' && !isSnowflake(String(messageId)))) {
      this.ledger.accepted(events.count);
      this.ledger.undeliverable(events.count, 'not_found');
      return Promise.reject(new OutboxError(`not a Discord ID: channel ${String(channelId)}, message ${String(messageId)}`, 'not_found'));
    }
    if (Array.isArray(body.embeds) && body.embeds.length > EmbedLimits.embedsPerMessage) {
      this.logger.warn({ channelId, embeds: body.embeds.length }, `a message holds at most ${EmbedLimits.embedsPerMessage} embeds; the rest are left out`);
    }
    let prepared: OutboxMessage;
    try {
      prepared = prepareMessage(body);
    } catch (error) {
      this.ledger.accepted(events.count);
      this.ledger.undeliverable(events.count, 'rejected');
      return Promise.reject(new OutboxError(`message body is not valid: ${String(error)}`, 'rejected'));
    }
    const request = {
      kind,
      body: prepared,
      ...(messageId === undefined ? {} : { messageId }),
      ...(events.count > 0 ? { events } : {}),
      ...(kind === 'send' && typeof options.nonce === 'string' && options.nonce !== '' ? { nonce: options.nonce.slice(0, 25) } : {}),
    };
    const lane = this.lane(channelId);
    const submitted = lane.submit(request);
    // Like post(): while the channel refuses the bot, an alert sent directly is copied to the fallback too.
    const embed = prepared.embeds?.[0];
    if (lane.unavailable?.state === 'refused' && events.count > 0 && embed) {
      this.copyToFallback(channelId, { embed, topic: events.summary().topics[0]?.topic ?? 'alert', receivedAt: events.summary().firstAt ?? Date.now() });
    }
    return submitted;
  }

  /** The lane for a channel, or undefined (with the event counted) when nothing may be queued for it. */
  private acceptableChannel(channelId: string): ChannelLane | undefined {
    if (!this.accepting) {
      this.ledger.accepted(1);
      this.ledger.undeliverable(1, 'shutdown');
      if (!this.warnedClosed) {
        this.warnedClosed = true;
        this.logger.warn({ channelId }, 'Outbox is shutting down; events posted now are counted as undeliverable (shutdown)');
      }
      return undefined;
    }
    if (!isSnowflake(String(channelId))) {
      this.ledger.accepted(1);
      this.ledger.undeliverable(1, 'not_found');
      this.emit('undeliverable', { channelId: String(channelId), events: 1, reason: 'not_found' });
      const key = String(channelId).slice(0, 64);
      if (!this.reportedBadIds.has(key) && this.reportedBadIds.size < 100) {
        this.reportedBadIds.add(key);
        this.logger.error({ channelId: key }, `"${key}" is not a Discord channel ID (a snowflake: digits only); check notification_channels`);
      }
      return undefined;
    }
    return this.lane(channelId);
  }

  private lane(channelId: string): ChannelLane {
    let lane = this.lanes.get(channelId);
    if (!lane) {
      lane = new ChannelLane(channelId, this.host, {
        capacity: this.settings.perChannelPending,
        assumedLimit: this.settings.assumedChannelLimit,
        resetOffsetMs: this.settings.resetOffsetMs,
        backoff: {
          outage: { baseMs: this.settings.retryBaseDelayMs, maxMs: this.settings.retryMaxDelayMs },
          refused: { baseMs: this.settings.probeBaseDelayMs, maxMs: this.settings.probeMaxDelayMs },
        },
      });
      this.lanes.set(channelId, lane);
    }
    return lane;
  }

  // Every response the REST client gets: 429s and errors are counted, message buckets updated.
  private readonly onResponse = (request: APIRequest, response: ResponseLike): void => {
    if (response.status === 429) this.metrics.discordRateLimited.inc();
    else if (response.status >= 400) this.metrics.discordErrors.inc({ status: String(response.status) });
    const channelId = MESSAGE_ROUTE.exec(request.path)?.[1];
    if (channelId === undefined) return;
    this.lanes.get(channelId)?.limiter.update(readBucketHeaders(response.headers), Date.now());
  };
}

function eventsOf(options: DirectOptions): DigestCounter {
  const counter = new DigestCounter();
  if (options.topic === undefined) return counter;
  const count = Math.max(0, Math.floor(options.events ?? 1));
  const receivedAt = typeof options.receivedAt === 'number' && Number.isFinite(options.receivedAt) ? options.receivedAt : Date.now();
  counter.add(String(options.topic), undefined, receivedAt, count);
  return counter;
}

/** A direct message's body within Discord's limits. */
function prepareMessage(body: OutboxMessage): OutboxMessage {
  const out: OutboxMessage = {};
  if (body.content !== undefined) out.content = truncateText(String(body.content), EmbedLimits.content);
  if (body.embeds !== undefined) out.embeds = fitEmbeds(body.embeds);
  return out;
}
