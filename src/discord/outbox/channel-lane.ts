import { setTimeout as delay } from 'node:timers/promises';
import Bottleneck from 'bottleneck';
import type { APIEmbed } from 'discord.js';
import { fitEmbed } from '../embeds/limits.ts';
import type { Logger } from '../../observability/logger.ts';
import type { UndeliverableReason } from '../../observability/metrics.ts';
import { ChannelBucket } from './channel-bucket.ts';
import type { MessageRequest } from './delivery.ts';
import { DigestCounter } from './digest.ts';
import { channelProblem, classifyError, DeliveryError, OutboxError, type DeliveryFailure } from './errors.ts';
import type { OutboxLedger } from './ledger.ts';
import type { PendingItem } from './packing.ts';
import { PendingQueue } from './pending-queue.ts';
import type { OutboxEvents, OutboxMessage } from './types.ts';

/** What a lane needs from the Outbox that owns it. */
export interface LaneHost {
  readonly ledger: OutboxLedger;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** How long an unavailable channel (403/404) is left alone before the next event tries it again. */
  readonly unavailableCooldownMs: number;
  deliver(request: MessageRequest): Promise<{ id: string }>;
  now(): number;
  /** A message was created in Discord. */
  messageSent(): void;
  emit<K extends keyof OutboxEvents>(event: K, ...args: OutboxEvents[K]): void;
}

/** Settings of one lane. */
export interface LaneOptions {
  /** Full items kept per channel; beyond, events fold into digest counters. Also caps queued direct messages. */
  capacity: number;
  /** The rate limit assumed until Discord's headers say otherwise. */
  assumedLimit: { limit: number; windowMs: number };
  /** Extra wait after a bucket reset. */
  resetOffsetMs: number;
}

interface Batch {
  kind: 'batch';
  embeds: APIEmbed[];
  items: PendingItem[];
  digest?: DigestCounter;
  /** Already split after a 400: never split again. */
  split: boolean;
  settled: boolean;
}

interface Waiter {
  resolve(result: { id: string }): void;
  reject(error: Error): void;
}

interface DirectOp {
  kind: 'send' | 'edit';
  messageId?: string;
  body: OutboxMessage;
  /** The events the message carries, when the caller counts it as carrying any. */
  events?: DigestCounter;
  waiters: Waiter[];
  settled: boolean;
}

/** A direct send or edit as the Outbox hands it to a lane. */
export interface DirectRequest {
  kind: 'send' | 'edit';
  messageId?: string;
  body: OutboxMessage;
  events?: DigestCounter;
}

type Work = Batch | DirectOp;

/**
 * Messages a channel's queue may be spread over before what is left goes into a digest: the next
 * message and the one after. Sends are paced (about one a second at 5 per 5 s), so an event that
 * does not fit in a message is carried by the following one, in full or counted in its digest,
 * and never waits for a third.
 */
const SENDS_PER_BACKLOG = 2;

function eventsOf(work: Work): number {
  return work.kind === 'batch' ? work.items.length + (work.digest?.count ?? 0) : (work.events?.count ?? 0);
}

/**
 * One channel's path to Discord: its queue, its rate-limit bucket, and at most one request in
 * flight. Sends are paced over the rate-limit window rather than spent at once (an idle channel
 * still sends at once), so a steady stream waits about one pacing interval, not a whole window.
 * While a request is in flight or the channel waits for its turn, new events accumulate and the
 * next message merges them (see packMessage).
 */
export class ChannelLane {
  readonly queue: PendingQueue;
  readonly bucket: ChannelBucket;
  private readonly limiter = new Bottleneck({ maxConcurrent: 1 });
  private readonly splitRetries: Batch[] = [];
  private readonly direct: DirectOp[] = [];
  private inFlight: Work | undefined;
  private unavailable: { reason: UndeliverableReason; status: number | 'network'; until: number } | undefined;
  private reported = false;
  private stepQueued = false;
  private lastWasDirect = false;
  private closed = false;

  constructor(
    readonly channelId: string,
    private readonly host: LaneHost,
    private readonly options: LaneOptions,
  ) {
    this.queue = new PendingQueue(options.capacity);
    this.bucket = new ChannelBucket(options.assumedLimit, options.resetOffsetMs);
  }

  /** Events of this channel waiting or in flight. */
  get pendingEvents(): number {
    let events = this.queue.events;
    for (const batch of this.splitRetries) events += eventsOf(batch);
    for (const op of this.direct) events += eventsOf(op);
    if (this.inFlight && !this.inFlight.settled) events += eventsOf(this.inFlight);
    return events;
  }

  /** While the channel is unavailable (403/404), why and until when. */
  unavailableStatus(): { reason: UndeliverableReason; until: number } | undefined {
    const blocked = this.blockedNow();
    return blocked ? { reason: blocked.reason, until: blocked.until } : undefined;
  }

  /** Counts one event as handed over and queues it (or, while the channel is unavailable, counts it undeliverable). */
  post(item: PendingItem): void {
    this.host.ledger.accepted(1);
    const blocked = this.blockedNow();
    if (blocked) {
      this.undeliverable(1, blocked.reason);
      return;
    }
    if (this.queue.hasRoom) {
      // Modules may hand over any embed: fit it now, so one oversized embed cannot get a merged message rejected.
      try {
        item = { ...item, embed: fitEmbed(item.embed) };
      } catch (error) {
        this.host.logger.error({ err: error, channelId: this.channelId, topic: item.topic }, 'an embed handed to the Outbox is not valid; the event is counted as rejected');
        this.undeliverable(1, 'rejected');
        return;
      }
    }
    this.queue.push(item);
    this.schedule();
  }

  /** Queues a direct send or edit; resolves with the message id once Discord has it. */
  submit(request: DirectRequest): Promise<{ id: string }> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      const count = request.events?.count ?? 0;
      const blocked = this.blockedNow();
      if (blocked) {
        this.host.ledger.accepted(count);
        this.undeliverable(count, blocked.reason);
        reject(new OutboxError(`channel ${this.channelId} is unavailable (${blocked.reason})`, blocked.reason, blocked.status));
        return;
      }
      if (request.kind === 'edit') {
        // Only the newest body of a message matters: a queued edit of the same message takes it over.
        const queued = this.direct.find((op) => op.kind === 'edit' && op.messageId === request.messageId);
        if (queued) {
          this.host.ledger.accepted(count);
          queued.body = request.body;
          if (request.events) (queued.events ??= new DigestCounter()).addAll(request.events);
          queued.waiters.push(waiter);
          return;
        }
      }
      if (this.direct.length >= this.options.capacity) {
        reject(new OutboxError(`too many messages queued for channel ${this.channelId}`, 'full'));
        return;
      }
      this.host.ledger.accepted(count);
      const op: DirectOp = { kind: request.kind, body: request.body, waiters: [waiter], settled: false };
      if (request.messageId !== undefined) op.messageId = request.messageId;
      if (request.events) op.events = request.events;
      this.direct.push(op);
      this.schedule();
    });
  }

  /** Counts everything waiting or in flight as undeliverable (`shutdown`) and stops the lane. */
  abandon(): number {
    this.closed = true;
    return this.flushAll('shutdown', true);
  }

  /** Stops the lane's limiter (after the Outbox has drained or abandoned it); resolves once its running step ends. */
  async stop(): Promise<void> {
    this.closed = true;
    await this.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  private blockedNow(): { reason: UndeliverableReason; status: number | 'network'; until: number } | undefined {
    return this.unavailable && this.host.now() < this.unavailable.until ? this.unavailable : undefined;
  }

  private hasWork(): boolean {
    return this.splitRetries.length > 0 || this.direct.length > 0 || this.queue.events > 0;
  }

  // At most one step runs and one waits: the waiting step packs whatever has accumulated when it runs.
  private schedule(): void {
    if (this.stepQueued || this.closed) return;
    this.stepQueued = true;
    this.limiter.schedule(() => this.step()).catch((error: unknown) => {
      this.stepQueued = false;
      if (!this.closed) this.host.logger.error({ err: error, channelId: this.channelId }, 'Outbox lane could not schedule a send');
    });
  }

  private async step(): Promise<void> {
    try {
      for (let wait = this.bucket.pacedWaitMs(this.host.now()); wait > 0; wait = this.bucket.pacedWaitMs(this.host.now())) {
        await delay(wait, undefined, { signal: this.host.signal });
      }
    } catch {
      this.stepQueued = false;
      return;
    }
    this.stepQueued = false;
    if (this.closed) return;
    const work = this.nextWork();
    if (!work) return;
    this.inFlight = work;
    this.bucket.consume(this.host.now());
    try {
      if (work.kind === 'batch') await this.sendBatch(work);
      else await this.runDirect(work);
    } catch (error) {
      // A bug here must not stall the channel or break the accounting.
      this.host.logger.error({ err: error, channelId: this.channelId }, 'Outbox failed unexpectedly while sending');
      if (!work.settled) this.settleFailed(work, { reason: 'rejected', status: 'network', message: String(error), retryable: false, channelLevel: false });
    } finally {
      this.inFlight = undefined;
      if (this.hasWork()) this.schedule();
    }
  }

  private nextWork(): Work | undefined {
    const retry = this.splitRetries.shift();
    if (retry) return retry;
    // Direct messages and merged batches take turns, so neither can starve the other.
    if (this.direct.length > 0 && (!this.lastWasDirect || this.queue.events === 0)) {
      this.lastWasDirect = true;
      return this.direct.shift();
    }
    const packed = this.queue.take(Math.min(this.bucket.budget(this.host.now()), SENDS_PER_BACKLOG));
    if (packed) {
      this.lastWasDirect = false;
      const batch: Batch = { kind: 'batch', embeds: packed.embeds, items: packed.items, split: false, settled: false };
      if (packed.digest) batch.digest = packed.digest;
      return batch;
    }
    return undefined;
  }

  private async sendBatch(batch: Batch): Promise<void> {
    let id: string;
    try {
      ({ id } = await this.host.deliver({ operation: 'send', channelId: this.channelId, body: { embeds: batch.embeds } }));
    } catch (error) {
      if (!batch.settled) this.batchFailed(batch, failureOf(error));
      return;
    }
    if (batch.settled) return;
    batch.settled = true;
    this.host.messageSent();
    this.host.ledger.posted(
      batch.items.map((item) => item.receivedAt),
      batch.digest,
      this.host.now(),
    );
    this.host.emit('posted', { channelId: this.channelId, messageId: id, events: eventsOf(batch) });
    this.restored();
  }

  private batchFailed(batch: Batch, failure: DeliveryFailure): void {
    if (failure.reason === 'rejected' && batch.embeds.length > 1 && !batch.split) {
      // One bad embed must not take the others down: send each on its own, once.
      batch.settled = true;
      this.splitRetries.unshift(...splitBatch(batch));
      this.host.logger.warn(
        { channelId: this.channelId, status: failure.status, code: failure.code, embeds: batch.embeds.length, error: failure.message },
        'Discord rejected a merged message; sending each embed on its own',
      );
      return;
    }
    this.settleFailed(batch, failure);
  }

  private async runDirect(op: DirectOp): Promise<void> {
    const request: MessageRequest =
      op.kind === 'send'
        ? { operation: 'send', channelId: this.channelId, body: op.body }
        : { operation: 'edit', channelId: this.channelId, messageId: op.messageId ?? '', body: op.body };
    let id: string;
    try {
      ({ id } = await this.host.deliver(request));
    } catch (error) {
      if (!op.settled) this.settleFailed(op, failureOf(error, op.kind));
      return;
    }
    if (op.settled) return;
    op.settled = true;
    if (op.kind === 'send') this.host.messageSent();
    const messageId = id || (op.messageId ?? '');
    if (op.events && op.events.count > 0) {
      this.host.ledger.posted([], op.events, this.host.now());
      this.host.emit('posted', { channelId: this.channelId, messageId, events: op.events.count });
    }
    for (const waiter of op.waiters) waiter.resolve({ id: messageId });
    this.restored();
  }

  /** Counts a failed batch or direct message as undeliverable, and reports it. */
  private settleFailed(work: Work, failure: DeliveryFailure): void {
    work.settled = true;
    this.undeliverable(eventsOf(work), failure.reason);
    if (work.kind !== 'batch') {
      const error = new OutboxError(failure.message, failure.reason, failure.status);
      for (const waiter of work.waiters) waiter.reject(error);
    }
    if (failure.channelLevel) {
      this.markUnavailable(failure);
      return;
    }
    if (failure.reason === 'shutdown') return;
    const details = { channelId: this.channelId, status: failure.status, code: failure.code, events: eventsOf(work), reason: failure.reason, error: failure.message };
    if (failure.reason === 'rejected') this.host.logger.error(details, 'Discord rejected a message; its events are counted as undeliverable');
    else if (failure.reason === 'server_error' || failure.reason === 'network') {
      this.host.logger.error(details, 'Discord could not be reached after retries; the events are counted as undeliverable');
    } else this.host.logger.warn(details, `Discord refused to ${work.kind === 'edit' ? 'edit' : 'send'} a message (it is gone or not the bot's)`);
  }

  private markUnavailable(failure: DeliveryFailure): void {
    const cooldown = this.host.unavailableCooldownMs;
    this.unavailable = { reason: failure.reason, status: failure.status, until: this.host.now() + cooldown };
    if (!this.reported) {
      this.reported = true;
      this.host.logger.error(
        { channelId: this.channelId, status: failure.status, code: failure.code, retryInMs: cooldown },
        `${channelProblem(this.channelId, failure)} Until then its events are counted as undeliverable (reason ${failure.reason}); the next event after ${Math.round(cooldown / 1000)} s tries again.`,
      );
    } else {
      this.host.logger.debug({ channelId: this.channelId, status: failure.status }, 'channel still unavailable');
    }
    this.flushAll(failure.reason, false);
    this.host.emit('channel-unavailable', { channelId: this.channelId, reason: failure.reason, status: failure.status, retryAt: this.unavailable.until });
  }

  private restored(): void {
    if (!this.unavailable) return;
    this.unavailable = undefined;
    if (this.reported) {
      this.reported = false;
      this.host.logger.info({ channelId: this.channelId }, `channel ${this.channelId} accepts messages again`);
      this.host.emit('channel-restored', { channelId: this.channelId });
    }
  }

  /** Counts everything queued (and, if asked, in flight) as undeliverable; rejects waiting direct messages. */
  private flushAll(reason: UndeliverableReason, includeInFlight: boolean): number {
    let events = this.queue.clear();
    const error = new OutboxError(`message to channel ${this.channelId} not sent (${reason})`, reason);
    const settle = (work: Work): void => {
      work.settled = true;
      events += eventsOf(work);
      if (work.kind !== 'batch') for (const waiter of work.waiters) waiter.reject(error);
    };
    for (const batch of this.splitRetries.splice(0)) settle(batch);
    for (const op of this.direct.splice(0)) settle(op);
    if (includeInFlight && this.inFlight && !this.inFlight.settled) settle(this.inFlight);
    this.undeliverable(events, reason);
    return events;
  }

  private undeliverable(events: number, reason: UndeliverableReason): void {
    if (events <= 0) return;
    this.host.ledger.undeliverable(events, reason);
    this.host.emit('undeliverable', { channelId: this.channelId, events, reason });
  }
}

function failureOf(error: unknown, operation: 'send' | 'edit' = 'send'): DeliveryFailure {
  return error instanceof DeliveryError ? error.failure : classifyError(error, operation);
}

/** One batch per embed of a rejected merged message; the digest embed (last) keeps its counters. */
function splitBatch(batch: Batch): Batch[] {
  const singles: Batch[] = batch.items.map((item) => ({ kind: 'batch', embeds: [item.embed], items: [item], split: true, settled: false }));
  const digestEmbed = batch.embeds[batch.items.length];
  if (batch.digest && digestEmbed) {
    singles.push({ kind: 'batch', embeds: [digestEmbed], items: [], digest: batch.digest, split: true, settled: false });
  }
  return singles;
}
