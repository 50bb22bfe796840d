import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';
import type { UndeliverableReason } from '../../observability/metrics.ts';

/** Discord JSON error codes that concern one message rather than the channel. */
const UNKNOWN_MESSAGE = 10008;
const NOT_AUTHOR = 50005;

/**
 * What a failed request means for the Outbox:
 * - `rate_limited`: wait `retryAfterMs`, then the same request again;
 * - `outage`: Discord is down, slow or unreachable (5xx, timeout, no connection): keep everything, back off, retry;
 * - `channel`: the channel refuses the bot (403/404): hold its messages, re-probe with backoff;
 * - `message`: this message is gone or not the bot's (an edit): give it up, the channel is fine;
 * - `rejected`: Discord refused the payload (400): never retried as it is.
 */
export type FailureKind = 'rate_limited' | 'outage' | 'channel' | 'message' | 'rejected';

/** Why a request to Discord failed, and what that means for the Outbox. */
export interface DeliveryFailure {
  kind: FailureKind;
  /** How the events are counted should they end up undeliverable. */
  reason: UndeliverableReason;
  /** HTTP status, or "network" when no response came. */
  status: number | 'network';
  /** Discord's JSON error code, when it sent one. */
  code?: number;
  message: string;
  /** For `rate_limited`: how long Discord (or the REST client's bucket) says to wait. */
  retryAfterMs?: number;
  /** For `rate_limited`: the global limit rather than the channel's. */
  global?: boolean;
}

/** An error from a message request, classified. */
export class DeliveryError extends Error {
  constructor(readonly failure: DeliveryFailure) {
    super(failure.message);
    this.name = 'DeliveryError';
  }
}

/** Classifies what the REST client threw for a message create (`send`) or edit. */
export function classifyError(error: unknown, operation: 'send' | 'edit'): DeliveryFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RateLimitError) {
    return { kind: 'rate_limited', reason: 'server_error', status: 429, message, retryAfterMs: Math.max(0, error.retryAfter > 0 ? error.retryAfter : error.timeToReset), global: error.global };
  }
  if (error instanceof DiscordAPIError) {
    const code = typeof error.code === 'number' ? error.code : undefined;
    const base = { status: error.status, message, ...(code === undefined ? {} : { code }) };
    if (error.status === 403) return { ...base, reason: 'forbidden', kind: operation === 'edit' && code === NOT_AUTHOR ? 'message' : 'channel' };
    if (error.status === 404) return { ...base, reason: 'not_found', kind: operation === 'edit' && code === UNKNOWN_MESSAGE ? 'message' : 'channel' };
    if (error.status === 429) return { ...base, kind: 'rate_limited', reason: 'server_error', retryAfterMs: 1000 };
    if (error.status >= 500 || error.status === 408) return { ...base, kind: 'outage', reason: 'server_error' };
    return { ...base, kind: 'rejected', reason: 'rejected' };
  }
  if (error instanceof HTTPError) return { kind: 'outage', reason: 'server_error', status: error.status, message };
  return { kind: 'outage', reason: 'network', status: 'network', message };
}

/** What to tell an operator about a channel that refuses the bot: what happened and what to fix. */
export function channelProblem(channelId: string, failure: Pick<DeliveryFailure, 'reason' | 'message' | 'status'>): string {
  if (failure.reason === 'forbidden') {
    return `Discord refused messages to channel ${channelId} (403: ${failure.message}). Give the bot View Channel, Send Messages and Embed Links in that channel (or fix its ID under notification_channels).`;
  }
  return `Discord does not know channel ${channelId} (404: ${failure.message}). Check the channel ID under notification_channels and that the bot is in that server.`;
}

/** Why {@link Outbox.send} or {@link Outbox.edit} failed: a delivery reason, or `full` when the channel's queue was full. */
export type OutboxErrorReason = UndeliverableReason | 'full';

/** The rejection of a direct send or edit. */
export class OutboxError extends Error {
  constructor(
    message: string,
    readonly reason: OutboxErrorReason,
    readonly status?: number | 'network',
  ) {
    super(message);
    this.name = 'OutboxError';
  }
}
