import type { APIEmbed, Client } from 'discord.js';
import type { ZmqEvent } from '../pipeline/event.ts';
import { isSnowflake } from '../shared/snowflake.ts';
import type { DirectOptions, Outbox, OutboxMessage } from './outbox/index.ts';

/** What a module may post: plain text, one embed, or a message with text and embeds. */
export type PostMessage = string | APIEmbed | { content?: string; embeds?: APIEmbed[] };

/** Optional detail for {@link DiscordExtensions.post}. */
export interface PostOptions {
  /** The event the message is about: its topic and receive time feed digests and latency metrics. */
  event?: ZmqEvent;
  /** A short name digests list when many events are merged (e.g. the job name). */
  label?: string;
  /** The topic the message is counted under, when not the event's (e.g. `job.recovered`); default the event's, else `module`. */
  topic?: string;
  /** When the event it is about was received (ms since the epoch), when not the event's. */
  receivedAt?: number;
}

/** Optional detail for {@link DiscordExtensions.send} and {@link DiscordExtensions.edit}. */
export interface SendOptions extends Omit<PostOptions, 'label'> {
  /** How many events the message carries (default 1 when it has a topic; 0 counts it as no event). */
  events?: number;
  /** For a send: a nonce (up to 25 characters) kept across restarts, so a create repeated after a crash is not posted twice. */
  nonce?: string;
}

/** What the Discord bot adds to every module's context. */
export interface DiscordExtensions {
  /**
   * Hands a message to the Outbox: rate-limited, coalesced, mentions disabled. Resolves when the
   * Outbox has accepted it and its spool has it committed, not when Discord has, so a burst never
   * stalls the dispatcher and a crash afterwards loses nothing.
   * @example
   * await ctx.post(channelId, { title: 'Backup done', color: 0x2ecc71 }, { event });
   */
  post(channelId: string, message: PostMessage, options?: PostOptions): Promise<void>;
  /**
   * Sends one message on its own (never merged) and resolves with its Discord id once Discord has
   * it, for a message that is edited later. Rejects with an OutboxError when it cannot be delivered.
   * @example
   * const { id } = await ctx.send(channelId, 'Deploy started', { event });
   */
  send(channelId: string, message: PostMessage, options?: SendOptions): Promise<{ id: string }>;
  /** Replaces a message's text and embeds; queued edits of the same message collapse into the newest. */
  edit(channelId: string, messageId: string, message: PostMessage, options?: SendOptions): Promise<{ id: string }>;
  /** The logged-in discord.js client. */
  readonly discord: Client;
}

function embedsOf(message: PostMessage): APIEmbed[] {
  if (typeof message === 'string') return [{ description: message }];
  if ('content' in message || 'embeds' in message) {
    const { content, embeds = [] } = message as { content?: string; embeds?: APIEmbed[] };
    return content ? [{ description: content }, ...embeds] : embeds;
  }
  return [message as APIEmbed];
}

function bodyOf(message: PostMessage): OutboxMessage {
  if (typeof message === 'string') return { content: message };
  if ('content' in message || 'embeds' in message) return message as OutboxMessage;
  return { embeds: [message as APIEmbed] };
}

function checkChannel(method: string, channelId: string): void {
  if (!isSnowflake(channelId)) throw new TypeError(`${method}: channel id must be a Discord snowflake (digits), got ${JSON.stringify(channelId)}`);
}

function directOptions(options: SendOptions): DirectOptions {
  const topic = options.topic ?? options.event?.topic;
  const receivedAt = options.receivedAt ?? options.event?.meta.receivedAt;
  const direct: DirectOptions = {};
  if (topic !== undefined) direct.topic = topic;
  if (options.events !== undefined) direct.events = options.events;
  if (receivedAt !== undefined) direct.receivedAt = receivedAt;
  if (options.nonce !== undefined) direct.nonce = options.nonce;
  return direct;
}

/** Builds what the bot adds to each module's context, over its Outbox and client. */
export function discordExtensions(outbox: Outbox, discord: Client): DiscordExtensions {
  return {
    async post(channelId, message, options = {}) {
      checkChannel('post', channelId);
      const topic = options.topic ?? options.event?.topic ?? 'module';
      const receivedAt = options.receivedAt ?? options.event?.meta.receivedAt;
      for (const embed of embedsOf(message)) outbox.post(channelId, { embed, topic, label: options.label, receivedAt });
      await outbox.stored();
    },
    async send(channelId, message, options = {}) {
      checkChannel('send', channelId);
      return outbox.send(channelId, bodyOf(message), directOptions(options));
    },
    async edit(channelId, messageId, message, options = {}) {
      checkChannel('edit', channelId);
      return outbox.edit(channelId, messageId, bodyOf(message), directOptions(options));
    },
    discord,
  };
}
