import { EventEmitter } from 'node:events';
import Bottleneck from 'bottleneck';
import { RESTEvents, type APIRequest, type RateLimitData, type REST, type ResponseLike } from 'discord.js';
import { EmbedLimits, fitEmbeds } from '../embeds/limits.ts';
import { truncateText } from '../embeds/text.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { readBucketHeaders } from './channel-bucket.ts';
import { ChannelLane, type LaneHost } from './channel-lane.ts';
import { Delivery } from './delivery.ts';
import { DigestCounter } from './digest.ts';
import { OutboxError } from './errors.ts';
import { OutboxLedger } from './ledger.ts';
import type { DirectOptions, OutboxEvents, OutboxItem, OutboxMessage } from './types.ts';

/** Settings of an {@link Outbox}; everything but `rest`, `metrics` and `logger` has a default. */
export interface OutboxOptions {
  /** The discord.js REST client (`client.rest`, or `new REST({ api }).setToken(token)`). */
  rest: REST;
  metrics: Metrics;
  logger: Logger;
  /** Full events kept per channel while it waits (default 500); beyond, events fold into digest counters. */
  perChannelPending?: number;
  /** Retries for 5xx and network failures beyond the REST client's own (default 3). */
  maxRetries?: number;
  /** First backoff delay (default 1000 ms); it doubles per retry, up to `retryMaxDelayMs` (default 30 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** How long a channel that answered 403/404 is left alone before the next event tries it again (default 5 min). */
  unavailableCooldownMs?: number;
  /** Requests per second over all channels (default 50, Discord's global limit). */
  globalRequestsPerSecond?: number;
  /** The per-channel limit assumed until Discord's headers say otherwise (default 5 per 5 s). */
  assumedChannelLimit?: { limit: number; windowMs: number };
  /** Extra wait after a rate-limit bucket resets (default 100 ms). */
  resetOffsetMs?: number;
}

const SNOWFLAKE = /^\d{1,20}$/;
const MESSAGE_ROUTE = /^\/channels\/(\d+)\/messages$/;

/**
 * Posts to Discord without ever stalling the caller or losing count: per-channel queues with one
 * request in flight each, merging of what accumulates (10 embeds, 6000 characters, then a digest),
 * rate limits from Discord's headers (each channel's sends paced evenly over its window) plus a
 * global limiter, bounded retries, and per-channel handling of 403/404. Events handed over =
 * posted + pending + undeliverable, at every moment.
 */
export class Outbox extends EventEmitter<OutboxEvents> {
  private readonly rest: REST;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly ledger: OutboxLedger;
  private readonly lanes = new Map<string, ChannelLane>();
  private readonly global: Bottleneck;
  private readonly abort = new AbortController();
  private readonly host: LaneHost;
  private readonly settings: Required<Omit<OutboxOptions, 'rest' | 'metrics' | 'logger'>>;
  private readonly reportedBadIds = new Set<string>();
  private accepting = true;
  private warnedClosed = false;
  private draining: Promise<boolean> | undefined;

  constructor(options: OutboxOptions) {
    super();
    this.rest = options.rest;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.settings = {
      perChannelPending: Math.max(1, options.perChannelPending ?? 500),
      maxRetries: Math.max(0, options.maxRetries ?? 3),
      retryBaseDelayMs: Math.max(1, options.retryBaseDelayMs ?? 1000),
      retryMaxDelayMs: Math.max(1, options.retryMaxDelayMs ?? 30_000),
      unavailableCooldownMs: Math.max(0, options.unavailableCooldownMs ?? 300_000),
      globalRequestsPerSecond: Math.max(1, options.globalRequestsPerSecond ?? 50),
      assumedChannelLimit: options.assumedChannelLimit ?? { limit: 5, windowMs: 5000 },
      resetOffsetMs: Math.max(0, options.resetOffsetMs ?? 100),
    };
    this.ledger = new OutboxLedger(this.metrics);
    const perSecond = this.settings.globalRequestsPerSecond;
    this.global = new Bottleneck({ reservoir: perSecond, reservoirRefreshAmount: perSecond, reservoirRefreshInterval: 1000 });
    const delivery = new Delivery(
      this.rest,
      this.global,
      { maxRetries: this.settings.maxRetries, baseDelayMs: this.settings.retryBaseDelayMs, maxDelayMs: this.settings.retryMaxDelayMs },
      this.abort.signal,
      {
        onNetworkError: () => this.metrics.discordErrors.inc({ status: 'network' }),
        onRetry: (failure, attempt, delayMs) =>
          this.logger.warn({ status: failure.status, attempt, delayMs, error: failure.message }, 'Discord request failed; retrying'),
      },
    );
    this.host = {
      ledger: this.ledger,
      logger: this.logger,
      signal: this.abort.signal,
      unavailableCooldownMs: this.settings.unavailableCooldownMs,
      deliver: (request) => delivery.run(request),
      now: () => Date.now(),
      messageSent: () => this.metrics.discordMessagesSent.inc(),
      // EventEmitter's typing cannot follow a generic key through a rest parameter; the host's signature is the typed one.
      emit: (event, ...args) => (this.emit as (name: string, ...values: unknown[]) => boolean)(event, ...args),
    };
    this.rest.on(RESTEvents.Response, this.onResponse);
    this.rest.on(RESTEvents.RateLimited, this.onRateLimited);
  }

  /** Hands one event to the Outbox for `channelId`. Returns at once; it never throws and never blocks. */
  post(channelId: string, item: OutboxItem): void {
    try {
      const channel = this.acceptableChannel(channelId);
      if (!channel) return;
      const receivedAt = typeof item.receivedAt === 'number' && Number.isFinite(item.receivedAt) ? item.receivedAt : Date.now();
      const pending: { embed: OutboxItem['embed']; topic: string; label?: string; receivedAt: number } = {
        embed: item.embed,
        topic: String(item.topic ?? ''),
        receivedAt,
      };
      if (item.label !== undefined && item.label !== null) pending.label = String(item.label);
      channel.post(pending);
    } catch (error) {
      this.logger.error({ err: error, channelId }, 'Outbox.post failed unexpectedly');
    }
  }

  /**
   * Sends one message whose id the caller needs (e.g. the first alert of a repeat series), through
   * the channel's queue and limits. Counted as carrying events when `options.topic` is given.
   * Rejects with an {@link OutboxError} when it cannot be delivered (its events are then already counted).
   */
  send(channelId: string, body: OutboxMessage, options: DirectOptions = {}): Promise<{ id: string }> {
    return this.direct('send', channelId, undefined, body, options);
  }

  /** Replaces a message's content and embeds (queued edits of the same message collapse into the newest). */
  edit(channelId: string, messageId: string, body: OutboxMessage, options: DirectOptions = {}): Promise<{ id: string }> {
    return this.direct('edit', channelId, messageId, body, options);
  }

  /** Events waiting or in flight, over all channels. */
  pending(): number {
    return this.ledger.pending;
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

  /** Channels currently refused (403/404): why, and when the next event will try again (ms epoch). */
  unavailableChannels(): Record<string, { reason: string; retryAt: number }> {
    const out: Record<string, { reason: string; retryAt: number }> = {};
    for (const [id, lane] of this.lanes) {
      const status = lane.unavailableStatus();
      if (status) out[id] = { reason: status.reason, retryAt: status.until };
    }
    return out;
  }

  /**
   * Stops accepting and sends everything pending. Resolves true when all of it was posted or counted
   * undeliverable within `timeoutMs`; otherwise counts what is left as undeliverable (`shutdown`) and
   * resolves false. Either way the Outbox is closed afterwards.
   */
  drain(timeoutMs: number): Promise<boolean> {
    this.draining ??= this.runDrain(timeoutMs);
    return this.draining;
  }

  private async runDrain(timeoutMs: number): Promise<boolean> {
    this.accepting = false;
    const done = await new Promise<boolean>((resolve) => {
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
    if (!done) {
      let abandoned = 0;
      for (const lane of this.lanes.values()) abandoned += lane.abandon();
      this.logger.warn({ events: abandoned, timeoutMs }, 'Outbox drain timed out; the events left are counted as undeliverable (shutdown)');
    }
    this.abort.abort();
    this.rest.off(RESTEvents.Response, this.onResponse);
    this.rest.off(RESTEvents.RateLimited, this.onRateLimited);
    // Not awaited: a limiter's stop waits for its running job, which may sit in the REST client's own
    // rate-limit sleep; that work is already counted and aborted, and drain must keep its time bound.
    for (const lane of this.lanes.values()) void lane.stop();
    void this.global.stop({ dropWaitingJobs: true }).catch(() => undefined);
    return done;
  }

  private direct(
    kind: 'send' | 'edit',
    channelId: string,
    messageId: string | undefined,
    body: OutboxMessage,
    options: DirectOptions,
  ): Promise<{ id: string }> {
    const events = eventsOf(options);
    if (!this.accepting) {
      this.ledger.accepted(events.count);
      this.ledger.undeliverable(events.count, 'shutdown');
      return Promise.reject(new OutboxError('the Outbox is shutting down', 'shutdown'));
    }
    if (!SNOWFLAKE.test(String(channelId)) || (kind === 'edit' && !SNOWFLAKE.test(String(messageId)))) {
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
    const request = { kind, body: prepared, ...(messageId === undefined ? {} : { messageId }), ...(events.count > 0 ? { events } : {}) };
    return this.lane(channelId).submit(request);
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
    if (!SNOWFLAKE.test(String(channelId))) {
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
      });
      this.lanes.set(channelId, lane);
    }
    return lane;
  }

  // Every response the REST client gets: 429s and errors are counted, message buckets updated.
  private readonly onResponse = (request: APIRequest, response: ResponseLike): void => {
    if (response.status === 429) this.metrics.discordRateLimited.inc();
    else if (response.status >= 400) this.metrics.discordErrors.inc({ status: String(response.status) });
    if (request.method.toUpperCase() !== 'POST') return;
    const channelId = MESSAGE_ROUTE.exec(request.path)?.[1];
    if (channelId === undefined) return;
    this.lanes.get(channelId)?.bucket.update(readBucketHeaders(response.headers), Date.now());
  };

  private readonly onRateLimited = (info: RateLimitData): void => {
    this.logger.debug({ route: info.route, global: info.global, waitMs: info.timeToReset }, 'REST client is waiting for a rate limit');
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
