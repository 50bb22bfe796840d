import { setMaxListeners } from 'node:events';
import { Routes, type APIEmbed, type REST } from 'discord.js';
import type { Metrics } from '../../observability/metrics.ts';
import { classifyError, DeliveryError, type DeliveryFailure } from './errors.ts';

/** A message create (with its nonce) or edit, with the body already within Discord's limits. */
export type MessageRequest =
  | { operation: 'send'; channelId: string; nonce?: string; body: { content?: string; embeds?: APIEmbed[] } }
  | { operation: 'edit'; channelId: string; messageId: string; body: { content?: string; embeds?: APIEmbed[] } };

// Every message goes out with mentions disabled: text from events must never ping anyone.
const NO_MENTIONS = { parse: [] as never[] };

/**
 * Makes one attempt at a message request through the REST client and counts it
 * (`discord_requests_total{operation,outcome}`). It never retries: the REST client is set up
 * with `retries: 0` and rejects on rate limits, so the Outbox's channel lanes own every retry
 * and every wait.
 */
export class Delivery {
  constructor(
    private readonly rest: REST,
    private readonly signal: AbortSignal,
    private readonly metrics: Metrics,
  ) {}

  /** Runs the request once; resolves with the message id, or throws a {@link DeliveryError}. */
  async run(request: MessageRequest): Promise<{ id: string }> {
    if (this.signal.aborted) throw new DeliveryError(shutdownFailure());
    let response: unknown;
    try {
      response = await this.attempt(request);
    } catch (error) {
      if (this.signal.aborted) throw new DeliveryError(shutdownFailure());
      const failure = classifyError(error, request.operation);
      this.metrics.discordRequests.inc({ operation: request.operation, outcome: failure.kind === 'rate_limited' ? 'rate_limited' : failure.reason });
      if (failure.status === 'network') this.metrics.discordErrors.inc({ status: 'network' });
      throw new DeliveryError(failure);
    }
    this.metrics.discordRequests.inc({ operation: request.operation, outcome: 'ok' });
    const id = (response as { id?: unknown } | null)?.id;
    return { id: typeof id === 'string' ? id : '' };
  }

  private async attempt(request: MessageRequest): Promise<unknown> {
    // The REST client adds an abort listener to the signal it is given and never removes it: each
    // request gets its own signal, linked to the Outbox's only while the request runs.
    const controller = new AbortController();
    setMaxListeners(100, controller.signal);
    const abort = (): void => controller.abort();
    this.signal.addEventListener('abort', abort, { once: true });
    try {
      if (request.operation === 'edit') {
        const body = { ...request.body, allowed_mentions: NO_MENTIONS };
        return await this.rest.patch(Routes.channelMessage(request.channelId, request.messageId), { body, signal: controller.signal });
      }
      // With enforce_nonce, Discord answers a create whose nonce it saw in the last minutes with that
      // message: a try that landed although its answer was lost is not posted twice.
      const body = { ...request.body, allowed_mentions: NO_MENTIONS, ...(request.nonce === undefined ? {} : { nonce: request.nonce, enforce_nonce: true }) };
      return await this.rest.post(Routes.channelMessages(request.channelId), { body, signal: controller.signal });
    } finally {
      this.signal.removeEventListener('abort', abort);
    }
  }
}

function shutdownFailure(): DeliveryFailure {
  return { kind: 'outage', reason: 'shutdown', status: 'network', message: 'the Outbox shut down' };
}
