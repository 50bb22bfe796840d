import { fitEmbed } from '../embeds/limits.ts';
import type { Logger } from '../../observability/logger.ts';
import type { UndeliverableReason } from '../../observability/metrics.ts';
import { batchEvents, batchOf, newNonce, oldestOf, splitBatch, type Batch } from './batch.ts';
import { ChannelAvailability, type Backoff, type Unavailability } from './channel-availability.ts';
import { ChannelLimiter } from './channel-limiter.ts';
import type { MessageRequest } from './delivery.ts';
import { DirectQueue, type DirectOp, type DirectRequest } from './direct-queue.ts';
import { channelProblem, classifyError, DeliveryError, OutboxError, type DeliveryFailure } from './errors.ts';
import type { OutboxLedger } from './ledger.ts';
import type { PendingItem } from './packing.ts';
import { keptFirst, PendingQueue } from './pending-queue.ts';
import { fromSpool, type Spool, type SpooledEvent, type SpooledFold } from './spool.ts';
import type { OutboxEvents, OutboxMessage } from './types.ts';

/** What a lane needs from the Outbox that owns it. */
export interface LaneHost {
  readonly ledger: OutboxLedger;
  readonly logger: Logger;
  readonly spool: Spool;
  /** An event pending longer than this is given up on (counted `expired`), ms. */
  readonly maxAgeMs: number;
  /** One attempt at a request; throws a DeliveryError. */
  deliver(request: MessageRequest): Promise<{ id: string }>;
  now(): number;
  /** Whether lanes may send now: the Outbox is started and not shut down. */
  sending(): boolean;
  /** A message was created in Discord. */
  messageSent(): void;
  /** The channel was told to wait (a 429, or the REST client's own bucket). */
  rateLimited(channelId: string, failure: DeliveryFailure): void;
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
  /** Waits between tries while Discord is down (outage) or the channel refuses the bot (refused). */
  backoff: { outage: Backoff; refused: Backoff };
}

type Work = Batch | DirectOp;

/**
 * Messages a channel's queue may be spread over before what is left goes into a digest: the next
 * message and the one after. Sends are paced (about one a second at 5 per 5 s), so an event that
 * does not fit in a message is carried by the following one, in full or counted in its digest.
 */
const SENDS_PER_BACKLOG = 2;

function eventsOf(work: Work): number {
  return work.type === 'batch' ? batchEvents(work) : (work.events?.count ?? 0);
}

function oldestEvent(work: Work): number {
  if (work.type === 'batch') return oldestOf(work);
  return work.events?.summary().firstAt ?? Infinity;
}

/**
 * One channel's path to Discord. It composes the pieces that each do one job — the queue of
 * merged events (PendingQueue, packing), the queue of direct sends and edits (DirectQueue), the
 * rate limiter (ChannelLimiter, Bottleneck fed by Discord's headers) and the availability state
 * machine (ChannelAvailability) — and owns every retry: a message that failed because of a 429,
 * an outage or a refusal is tried again, the very same request with the same nonce, once the wait
 * is over, while new events accumulate behind it. Nothing is given up but what Discord rejects
 * (400), what is older than `outbox.max_age`, and edits of messages that are gone.
 */
export class ChannelLane {
  readonly queue: PendingQueue;
  readonly limiter: ChannelLimiter;
  readonly availability: ChannelAvailability;
  private readonly direct: DirectQueue;
  /** Batches to send before anything new: recovered from the spool, or the singles of a split batch. */
  private readonly resend: Batch[] = [];
  /** The work whose last try failed and is to be tried again as it is. */
  private retry: Work | undefined;
  private inFlight: Work | undefined;
  private stepQueued = false;
  private waitTimer: NodeJS.Timeout | undefined;
  private lastWasDirect = false;
  private closed = false;
  /** Events given up on (max_age) while the channel was unavailable: reported once it works again. */
  private expiredUnreported = 0;
  private readonly undeliverableCounts = new Map<UndeliverableReason, number>();

  constructor(
    readonly channelId: string,
    private readonly host: LaneHost,
    options: LaneOptions,
  ) {
    this.queue = new PendingQueue(options.capacity);
    this.direct = new DirectQueue(options.capacity);
    this.limiter = new ChannelLimiter(options.assumedLimit, options.resetOffsetMs);
    this.availability = new ChannelAvailability(options.backoff);
  }

  /** Events of this channel waiting or in flight. */
  get pendingEvents(): number {
    let events = this.queue.events + this.direct.events;
    for (const batch of this.resend) events += batchEvents(batch);
    if (this.retry && !this.retry.settled) events += eventsOf(this.retry);
    if (this.inFlight && this.inFlight !== this.retry && !this.inFlight.settled) events += eventsOf(this.inFlight);
    return events;
  }

  /** Why the channel cannot be posted to now, or undefined while it works. */
  get unavailable(): Unavailability | undefined {
    return this.availability.status;
  }

  /** This channel's undeliverable events so far, by reason. */
  undeliverableByReason(): Record<string, number> {
    return Object.fromEntries(this.undeliverableCounts);
  }

  /** The events held in full (for copies to the fallback channel), oldest first. */
  heldItems(): PendingItem[] {
    const items: PendingItem[] = [];
    const add = (work: Work | undefined): void => {
      if (!work || work.settled) return;
      if (work.type === 'batch') items.push(...work.items);
      else if (work.events && work.body.embeds?.[0]) items.push({ embed: work.body.embeds[0], topic: work.events.summary().topics[0]?.topic ?? 'alert', receivedAt: oldestEvent(work) });
    };
    add(this.retry);
    for (const batch of this.resend) add(batch);
    // Direct sends and edits waiting behind the one that was refused (a repeat series' first alert) are held too.
    for (const op of this.direct.queued) add(op);
    items.push(...this.queue.fullItems);
    return items;
  }

  /** Counts one event as handed over, stores it in the spool and queues it. */
  post(item: PendingItem): void {
    this.host.ledger.accepted(1);
    if (this.queue.hasRoom || keptFirst(item.topic)) {
      // Modules may hand over any embed: fit it now, so one oversized embed cannot get a merged message rejected.
      try {
        item = { ...item, embed: fitEmbed(item.embed) };
      } catch (error) {
        this.host.logger.error({ err: error, channelId: this.channelId, topic: item.topic }, 'an embed handed to the Outbox is not valid; the event is counted as rejected');
        this.undeliverable(1, 'rejected');
        return;
      }
    }
    const pushed = this.queue.push(item);
    if (pushed.bucket) this.host.spool.addFolded(this.channelId, pushed.bucket, item.receivedAt);
    else item.spoolId = this.host.spool.add(this.channelId, item);
    if (pushed.evicted && pushed.evictedBucket) this.host.spool.fold(this.channelId, pushed.evicted, pushed.evictedBucket);
    this.schedule();
  }

  /** Queues a direct send or edit; resolves with the message id once Discord has it. */
  submit(request: DirectRequest): Promise<{ id: string }> {
    return new Promise((resolve, reject) => {
      if (this.direct.add(request, { resolve, reject }) === 'full') {
        reject(new OutboxError(`too many messages queued for channel ${this.channelId}`, 'full'));
        return;
      }
      this.host.ledger.accepted(request.events?.count ?? 0);
      this.schedule();
    });
  }

  /** Queues a message of the Outbox's own (a notice) that carries no event. */
  notice(body: OutboxMessage): void {
    this.direct.add({ kind: 'send', body, nonce: newNonce() }, undefined);
    this.schedule();
  }

  /**
   * Takes back the events a previous run left in the spool: the messages it had started (same
   * nonce, so one that had landed is not posted again) go first, then the rest is queued.
   */
  recover(events: readonly SpooledEvent[], folds: readonly SpooledFold[]): number {
    const { started, waiting, folded } = fromSpool(events, folds);
    this.resend.push(...started);
    for (const { folded: onlyCounted, ...item } of waiting) {
      if (onlyCounted) {
        this.queue.fold(item.topic, item.label, item.receivedAt);
        continue;
      }
      const pushed = this.queue.push(item);
      if (pushed.bucket) this.host.spool.fold(this.channelId, item, pushed.bucket);
      if (pushed.evicted && pushed.evictedBucket) this.host.spool.fold(this.channelId, pushed.evicted, pushed.evictedBucket);
    }
    let count = events.length;
    for (const fold of folded) {
      this.queue.foldBucket(fold.bucket, fold.count, fold.firstAt, fold.lastAt);
      count += fold.count;
    }
    for (const fold of folds) if (fold.nonce !== undefined) count += fold.count;
    this.host.ledger.accepted(count);
    this.schedule();
    return count;
  }

  /** Starts sending what waits (the Outbox has started). */
  kick(): void {
    this.schedule();
  }

  /** Counts everything waiting or in flight as undeliverable (`shutdown`) and stops the lane: for a spool that dies with the process. */
  abandon(): number {
    this.closed = true;
    let events = this.queue.clear();
    const error = new OutboxError(`message to channel ${this.channelId} not sent (shutdown)`, 'shutdown');
    const settle = (work: Work | undefined): void => {
      if (!work || work.settled) return;
      work.settled = true;
      events += eventsOf(work);
      if (work.type === 'direct') for (const waiter of work.waiters) waiter.reject(error);
    };
    settle(this.retry);
    settle(this.inFlight);
    for (const batch of this.resend.splice(0)) settle(batch);
    for (const op of this.direct.remove(() => true)) settle(op);
    this.undeliverable(events, 'shutdown');
    return events;
  }

  /** Stops sending; what is pending stays in the spool. Resolves once the limiter has stopped. */
  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.waitTimer);
    await this.limiter.stop();
  }

  private hasWork(): boolean {
    return this.retry !== undefined || this.resend.length > 0 || this.direct.length > 0 || this.queue.events > 0;
  }

  // At most one step runs and one waits: the waiting step packs whatever has accumulated when it runs.
  // While the channel is unavailable the step waits for the next try's time first.
  private schedule(): void {
    if (this.stepQueued || this.closed || !this.host.sending() || !this.hasWork()) return;
    this.stepQueued = true;
    const wait = this.availability.waitMs(this.host.now());
    if (wait > 0) {
      this.waitTimer = setTimeout(() => {
        this.waitTimer = undefined;
        this.enqueue();
      }, wait);
      return;
    }
    this.enqueue();
  }

  private enqueue(): void {
    this.limiter.schedule(() => this.step()).catch((error: unknown) => {
      this.stepQueued = false;
      if (!this.closed) this.host.logger.error({ err: error, channelId: this.channelId }, 'Outbox lane could not schedule a send');
    });
  }

  private async step(): Promise<void> {
    this.stepQueued = false;
    if (this.closed) return;
    // A step queued behind a try that has just failed waits for the backoff too.
    if (this.availability.waitMs(this.host.now()) > 0) {
      this.schedule();
      return;
    }
    this.expire();
    const work = this.takeWork();
    if (!work) return;
    this.inFlight = work;
    try {
      await this.attempt(work);
    } catch (error) {
      // A bug here must not stall the channel or break the accounting.
      this.host.logger.error({ err: error, channelId: this.channelId }, 'Outbox failed unexpectedly while sending');
      if (!work.settled) this.settleFailed(work, { reason: 'rejected', status: 'network', message: String(error) });
    } finally {
      this.inFlight = undefined;
      this.schedule();
    }
  }

  private takeWork(): Work | undefined {
    const retry = this.retry;
    this.retry = undefined;
    if (retry && !retry.settled) return retry;
    const resend = this.resend.shift();
    if (resend) return resend;
    // Direct messages and merged batches take turns, so neither can starve the other.
    if (this.direct.length > 0 && (!this.lastWasDirect || this.queue.events === 0)) {
      this.lastWasDirect = true;
      return this.direct.shift();
    }
    // The limiter has counted this send already: the budget it had includes it.
    const sends = Math.max(1, Math.min(this.limiter.budget(this.host.now()) + 1, SENDS_PER_BACKLOG));
    const packed = this.queue.take(sends);
    if (!packed) return undefined;
    this.lastWasDirect = false;
    const batch = batchOf(packed);
    this.host.spool.claim(this.channelId, batch);
    return batch;
  }

  private async attempt(work: Work): Promise<void> {
    const request: MessageRequest =
      work.type === 'batch'
        ? { operation: 'send', channelId: this.channelId, nonce: work.nonce, body: { embeds: work.embeds } }
        : work.kind === 'send'
          ? { operation: 'send', channelId: this.channelId, body: work.body, ...(work.nonce === undefined ? {} : { nonce: work.nonce }) }
          : { operation: 'edit', channelId: this.channelId, messageId: work.messageId ?? '', body: work.body };
    let id: string;
    try {
      ({ id } = await this.host.deliver(request));
    } catch (error) {
      // Shut down meanwhile: the work stays in the spool for the next start.
      if (this.closed || work.settled) return;
      this.failed(work, error instanceof DeliveryError ? error.failure : classifyError(error, request.operation));
      return;
    }
    if (work.settled) return;
    this.succeeded(work, id);
  }

  private succeeded(work: Work, id: string): void {
    work.settled = true;
    const now = this.host.now();
    if (work.type === 'batch') {
      this.host.spool.delivered(work.nonce);
      this.host.messageSent();
      this.host.ledger.posted(
        work.items.map((item) => item.receivedAt),
        work.digest,
        now,
      );
      this.host.emit('posted', { channelId: this.channelId, messageId: id, events: batchEvents(work) });
    } else {
      if (work.kind === 'send') this.host.messageSent();
      const messageId = id || (work.messageId ?? '');
      if (work.events && work.events.count > 0) {
        this.host.ledger.posted([], work.events, now);
        this.host.emit('posted', { channelId: this.channelId, messageId, events: work.events.count });
      }
      for (const waiter of work.waiters) waiter.resolve({ id: messageId });
    }
    const ended = this.availability.succeeded();
    if (ended) this.restored(ended, now);
  }

  private failed(work: Work, failure: DeliveryFailure): void {
    const now = this.host.now();
    switch (failure.kind) {
      case 'rate_limited':
        this.retry = work;
        this.limiter.pauseFor(failure.retryAfterMs ?? 1000, now);
        this.host.rateLimited(this.channelId, failure);
        return;
      case 'outage':
      case 'channel': {
        this.retry = work;
        const { delayMs, began } = this.availability.failed(failure, now);
        if (began) this.reportUnavailable(failure, delayMs);
        else this.host.logger.debug({ channelId: this.channelId, status: failure.status, retryInMs: delayMs }, 'channel still unavailable');
        return;
      }
      case 'message':
        this.settleFailed(work, failure);
        this.host.logger.warn(
          { channelId: this.channelId, status: failure.status, code: failure.code, error: failure.message },
          `Discord refused to ${work.type === 'direct' && work.kind === 'edit' ? 'edit' : 'send'} a message (it is gone or not the bot's)`,
        );
        return;
      case 'rejected':
        if (work.type === 'batch' && work.embeds.length > 1 && !work.split) {
          // One bad embed must not take the others down: send each on its own, once.
          work.settled = true;
          const singles = splitBatch(work);
          this.host.spool.reclaim(work, singles);
          this.resend.unshift(...singles);
          this.host.logger.warn(
            { channelId: this.channelId, status: failure.status, code: failure.code, embeds: work.embeds.length, error: failure.message },
            'Discord rejected a merged message; sending each embed on its own',
          );
          return;
        }
        this.settleFailed(work, failure);
        this.host.logger.error(
          { channelId: this.channelId, status: failure.status, code: failure.code, events: eventsOf(work), error: failure.message },
          'Discord rejected a message; its events are counted as undeliverable',
        );
    }
  }

  /** Counts a batch or direct message as undeliverable and drops it (from the spool too). */
  private settleFailed(work: Work, failure: Pick<DeliveryFailure, 'reason' | 'message' | 'status'>): void {
    this.undeliverable(eventsOf(work), failure.reason);
    this.discard(work, failure);
  }

  /** Drops a batch or direct message (from the spool too), rejecting whoever waits for it. */
  private discard(work: Work, failure: Pick<DeliveryFailure, 'reason' | 'message' | 'status'>): void {
    work.settled = true;
    if (work.type === 'batch') this.host.spool.delivered(work.nonce);
    else {
      const error = new OutboxError(failure.message, failure.reason, failure.status);
      for (const waiter of work.waiters) waiter.reject(error);
    }
  }

  private reportUnavailable(failure: DeliveryFailure, delayMs: number): void {
    const held = this.pendingEvents;
    const retryAt = this.host.now() + delayMs;
    const details = { channelId: this.channelId, status: failure.status, code: failure.code, held, retryInMs: delayMs, error: failure.message };
    if (failure.kind === 'channel') {
      this.host.logger.error(details, `${channelProblem(this.channelId, failure)} Its ${held} alerts are held and the channel is tried again with backoff (next in ${Math.ceil(delayMs / 1000)} s).`);
    } else {
      this.host.logger.warn(details, `Discord cannot take messages for channel ${this.channelId} now (${failure.status}: ${failure.message}); ${held} alerts are held and retried with backoff until it does`);
    }
    this.host.emit('channel-unavailable', { channelId: this.channelId, state: failure.kind === 'channel' ? 'refused' : 'outage', reason: failure.reason, status: failure.status, message: failure.message, retryAt, held });
  }

  private restored(ended: Unavailability, now: number): void {
    const downMs = now - ended.since;
    this.host.logger.info({ channelId: this.channelId, state: ended.state, downMs, failedTries: ended.failures }, `channel ${this.channelId} accepts messages again after ${Math.round(downMs / 1000)} s`);
    this.host.emit('channel-restored', { channelId: this.channelId, state: ended.state, downMs });
    if (this.expiredUnreported > 0) {
      this.noticeExpired(this.expiredUnreported);
      this.expiredUnreported = 0;
    }
  }

  /** Gives up on what has waited longer than max_age, counting it `expired`. */
  private expire(): void {
    const cutoff = this.host.now() - this.host.maxAgeMs;
    let expired = 0;
    const drop = (work: Work): void => {
      expired += eventsOf(work);
      this.discard(work, { reason: 'expired', status: 'network', message: 'older than outbox.max_age' });
    };
    if (this.retry && !this.retry.settled && eventsOf(this.retry) > 0 && oldestEvent(this.retry) < cutoff) {
      drop(this.retry);
      this.retry = undefined;
    }
    for (let i = this.resend.length - 1; i >= 0; i--) {
      const batch = this.resend[i]!;
      if (oldestOf(batch) >= cutoff) continue;
      this.resend.splice(i, 1);
      drop(batch);
    }
    for (const op of this.direct.remove((queued) => (queued.events?.count ?? 0) > 0 && oldestEvent(queued) < cutoff)) drop(op);
    const fromQueue = this.queue.expire(cutoff);
    if (fromQueue.items.length > 0) this.host.spool.remove(fromQueue.items);
    if (fromQueue.folded > 0) this.host.spool.removeFolded(this.channelId);
    expired += fromQueue.items.length + fromQueue.folded;
    if (expired === 0) return;
    this.undeliverable(expired, 'expired');
    this.host.logger.error(
      { channelId: this.channelId, events: expired, maxAgeMs: this.host.maxAgeMs },
      `${expired} alerts for channel ${this.channelId} waited longer than outbox.max_age and are given up`,
    );
    if (this.availability.status) this.expiredUnreported += expired;
    else this.noticeExpired(expired);
  }

  private noticeExpired(events: number): void {
    this.notice({ content: `⚠️ ${events} alert${events === 1 ? '' : 's'} expired during the outage (pending longer than outbox.max_age); see the bot's log.` });
  }

  private undeliverable(events: number, reason: UndeliverableReason): void {
    if (events <= 0) return;
    this.undeliverableCounts.set(reason, (this.undeliverableCounts.get(reason) ?? 0) + events);
    this.host.ledger.undeliverable(events, reason);
    this.host.emit('undeliverable', { channelId: this.channelId, events, reason });
  }
}
