import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';
import type { UndeliverableReason } from '../../observability/metrics.ts';

/** Discord JSON error codes that concern one message rather than the channel. */
const UNKNOWN_MESSAGE = 10008;
const NOT_AUTHOR = 50005;

/** Why a request to Discord failed, and what that means for the Outbox. */
export interface DeliveryFailure {
  reason: UndeliverableReason;
  /** HTTP status, or "network" when no response came. */
  status: number | 'network';
  /** Discord's JSON error code, when it sent one. */
  code?: number;
  message: string;
  /** Worth trying again later (5xx, network). */
  retryable: boolean;
  /** The channel itself is unusable (missing, or the bot may not post there). */
  channelLevel: boolean;
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
  if (error instanceof DiscordAPIError) {
    const code = typeof error.code === 'number' ? error.code : undefined;
    const base = { status: error.status, message, retryable: false, ...(code === undefined ? {} : { code }) };
    if (error.status === 403) {
      return { ...base, reason: 'forbidden', channelLevel: !(operation === 'edit' && code === NOT_AUTHOR) };
    }
    if (error.status === 404) {
      return { ...base, reason: 'not_found', channelLevel: !(operation === 'edit' && code === UNKNOWN_MESSAGE) };
    }
    if (error.status === 429 || error.status >= 500) return { ...base, reason: 'server_error', retryable: true, channelLevel: false };
    return { ...base, reason: 'rejected', channelLevel: false };
  }
  if (error instanceof HTTPError) {
    return { reason: 'server_error', status: error.status, message, retryable: true, channelLevel: false };
  }
  if (error instanceof RateLimitError) {
    return { reason: 'server_error', status: 429, message, retryable: true, channelLevel: false };
  }
  return { reason: 'network', status: 'network', message, retryable: true, channelLevel: false };
}

/** What to tell an operator about an unusable channel: what happened and what to fix. */
export function channelProblem(channelId: string, failure: DeliveryFailure): string {
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
