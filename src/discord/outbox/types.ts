import type { APIEmbed } from 'discord.js';

/** One event for a channel, as handlers hand it to the Outbox. */
export interface OutboxItem {
  embed: APIEmbed;
  /** The event's topic; digests count events by it. */
  topic: string;
  /** A short name digests list (the job name). */
  label?: string;
  /** When the bot received the event, ms since the epoch (for event_to_post_seconds); defaults to when it was posted. */
  receivedAt?: number;
}

/** A message body for {@link Outbox.send} and {@link Outbox.edit}; mentions are always disabled. */
export interface OutboxMessage {
  content?: string;
  embeds?: APIEmbed[];
}

/** Counts a direct message as carrying events, so the Outbox metrics include it. */
export interface DirectOptions {
  /** The topic of the event(s) the message carries; without it the message counts as no event. */
  topic?: string;
  /** How many events it carries (default 1 when `topic` is set). */
  events?: number;
  /** When the (first) event was received, ms since the epoch. */
  receivedAt?: number;
}

/** What the Outbox reports as it works (besides metrics and logs). */
export interface OutboxEvents {
  /** A message reached Discord carrying `events` events. */
  posted: [{ channelId: string; messageId: string; events: number }];
  /** Events that will never reach Discord. */
  undeliverable: [{ channelId: string; events: number; reason: string }];
  /** A channel answered 403/404: its events are counted undeliverable until it works again. */
  'channel-unavailable': [{ channelId: string; reason: string; status: number | 'network'; retryAt: number }];
  /** A channel that was unavailable accepted a message again. */
  'channel-restored': [{ channelId: string }];
}
