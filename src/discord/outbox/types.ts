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
  /** For a send: its nonce (up to 25 characters), the same on a retry after a restart, so a create that had landed is not posted twice. */
  nonce?: string;
}

/** What the Outbox reports as it works (besides metrics and logs). */
export interface OutboxEvents {
  /** A message reached Discord carrying `events` events. */
  posted: [{ channelId: string; messageId: string; events: number }];
  /** Events that will never reach Discord. */
  undeliverable: [{ channelId: string; events: number; reason: string }];
  /** A channel cannot be posted to: Discord is down for it (`outage`) or it refuses the bot (`refused`, 403/404); its events are held. */
  'channel-unavailable': [{ channelId: string; state: 'outage' | 'refused'; reason: string; status: number | 'network'; message: string; retryAt: number; held: number }];
  /** A channel that could not be posted to accepted a message again. */
  'channel-restored': [{ channelId: string; state: 'outage' | 'refused'; downMs: number }];
}

/** One channel as /zmq_status and /healthz report it. */
export interface ChannelReport {
  /** Events waiting or in flight. */
  pending: number;
  /** Events given up on, by reason. */
  undeliverable: Record<string, number>;
  /** `ok`, or why it cannot be posted to now. */
  state: 'ok' | 'outage' | 'refused';
  /** While not ok: since when (ms epoch), the last answer, and when it is tried next. */
  since?: number;
  status?: number | 'network';
  error?: string;
  nextAttemptAt?: number;
}

/** What {@link Outbox.drain} did. */
export interface OutboxDrainResult {
  /** Everything pending was posted (or given up on) within the bound. */
  drained: boolean;
  /** Events still pending when the bound was reached (0 when drained). */
  left: number;
  /** Of those, events kept in the spool: the next start delivers them (all of them with a file store). */
  kept: number;
  /** Of those, events counted undeliverable (`shutdown`) because the spool does not outlive the process (`:memory:`). */
  abandoned: number;
}
