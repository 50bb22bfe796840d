import type { APIEmbed, Client } from 'discord.js';
import type { ZmqEvent } from '../transport/event.ts';
import type { Outbox } from './outbox/index.ts';

/** What a module may post: plain text, one embed, or a message with text and embeds. */
export type PostMessage = string | APIEmbed | { content?: string; embeds?: APIEmbed[] };

/** Optional detail for {@link DiscordExtensions.post}. */
export interface PostOptions {
  /** The event the message is about: its topic and receive time feed digests and latency metrics. */
  event?: ZmqEvent;
  /** A short name digests list when many events are merged (e.g. the job name). */
  label?: string;
}

/** What the Discord bot adds to every module's context. */
export interface DiscordExtensions {
  /**
   * Hands a message to the Outbox: rate-limited, coalesced, mentions disabled. Resolves when the
   * Outbox has accepted it, not when Discord has, so a burst never stalls the dispatcher.
   */
  post(channelId: string, message: PostMessage, options?: PostOptions): Promise<void>;
  /** The logged-in discord.js client. */
  readonly discord: Client;
  /** The Outbox itself, for messages that need their Discord id (send) or are updated later (edit). */
  readonly outbox: Outbox;
}

function embedsOf(message: PostMessage): APIEmbed[] {
  if (typeof message === 'string') return [{ description: message }];
  if ('content' in message || 'embeds' in message) {
    const { content, embeds = [] } = message as { content?: string; embeds?: APIEmbed[] };
    return content ? [{ description: content }, ...embeds] : embeds;
  }
  return [message as APIEmbed];
}

/** Builds `ctx.post` over an Outbox: each embed becomes one Outbox item, text becomes an embed. */
export function postThrough(outbox: Outbox): DiscordExtensions['post'] {
  return async (channelId, message, options = {}) => {
    if (!/^\d{1,20}$/.test(channelId)) throw new TypeError(`post: channel id must be a Discord snowflake (digits), got ${JSON.stringify(channelId)}`);
    const topic = options.event?.topic ?? 'module';
    const receivedAt = options.event?.meta.receivedAt;
    for (const embed of embedsOf(message)) outbox.post(channelId, { embed, topic, label: options.label, receivedAt });
  };
}
