import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type Bottleneck from 'bottleneck';
import { Routes, type APIEmbed, type REST } from 'discord.js';
import { classifyError, DeliveryError, type DeliveryFailure } from './errors.ts';

/** A message create or edit, with the body already within Discord's limits. */
export type MessageRequest =
  | { operation: 'send'; channelId: string; body: { content?: string; embeds?: APIEmbed[] } }
  | { operation: 'edit'; channelId: string; messageId: string; body: { content?: string; embeds?: APIEmbed[] } };

/** How often and how patiently a failed request is tried again, beyond the REST client's own retries. */
export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Hooks for what a delivery observes along the way. */
export interface DeliveryHooks {
  /** A request failed without an HTTP response. */
  onNetworkError(failure: DeliveryFailure): void;
  /** A retryable failure; the next attempt starts after `delayMs`. */
  onRetry(failure: DeliveryFailure, attempt: number, delayMs: number): void;
}

// Every message goes out with mentions disabled: text from events must never ping anyone.
const NO_MENTIONS = { parse: [] as never[] };

/**
 * Sends message requests through the REST client (which waits out 429s and retries 5xx itself),
 * adding bounded retries with exponential backoff for 5xx and network failures. Every attempt
 * passes the global limiter.
 */
export class Delivery {
  constructor(
    private readonly rest: REST,
    private readonly global: Bottleneck,
    private readonly policy: RetryPolicy,
    private readonly signal: AbortSignal,
    private readonly hooks: DeliveryHooks,
  ) {}

  /** Runs the request; resolves with the message id, or throws a {@link DeliveryError}. */
  async run(request: MessageRequest): Promise<{ id: string }> {
    for (let attempt = 0; ; attempt++) {
      if (this.signal.aborted) throw new DeliveryError(shutdownFailure());
      try {
        const response = await this.global.schedule(() => this.attempt(request));
        const id = (response as { id?: unknown } | null)?.id;
        return { id: typeof id === 'string' ? id : '' };
      } catch (error) {
        if (this.signal.aborted) throw new DeliveryError(shutdownFailure());
        const failure = classifyError(error, request.operation);
        if (failure.status === 'network') this.hooks.onNetworkError(failure);
        if (!failure.retryable || attempt >= this.policy.maxRetries) throw new DeliveryError(failure);
        const wait = this.backoff(attempt);
        this.hooks.onRetry(failure, attempt + 1, wait);
        try {
          await delay(wait, undefined, { signal: this.signal });
        } catch {
          throw new DeliveryError(shutdownFailure());
        }
      }
    }
  }

  private async attempt(request: MessageRequest): Promise<unknown> {
    const body = { ...request.body, allowed_mentions: NO_MENTIONS };
    // The REST client adds an abort listener to the signal it is given and never removes it: each
    // request gets its own signal, linked to the Outbox's only while the request runs.
    const controller = new AbortController();
    // REST adds a listener per 429/5xx retry of this one request; they go with the signal when the
    // request ends, so a burst of retries is not a leak and Node's warning at 10 is only noise.
    setMaxListeners(100, controller.signal);
    const abort = (): void => controller.abort();
    this.signal.addEventListener('abort', abort, { once: true });
    try {
      return await (request.operation === 'send'
        ? this.rest.post(Routes.channelMessages(request.channelId), { body, signal: controller.signal })
        : this.rest.patch(Routes.channelMessage(request.channelId, request.messageId), { body, signal: controller.signal }));
    } finally {
      this.signal.removeEventListener('abort', abort);
    }
  }

  /** Exponential backoff with ±20% jitter, so many channels do not retry in step. */
  private backoff(attempt: number): number {
    const base = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** attempt);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }
}

function shutdownFailure(): DeliveryFailure {
  return { reason: 'shutdown', status: 'network', message: 'the Outbox shut down', retryable: false, channelLevel: false };
}
