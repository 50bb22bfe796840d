import type { APIEmbed } from 'discord.js';
import { DIGEST_MAX_LENGTH, digestEmbed } from '../embeds/digest.ts';
import { EmbedLimits, embedLength, fitEmbed } from '../embeds/limits.ts';
import { DigestCounter } from './digest.ts';

/** An event waiting in a channel's queue with its embed (already within Discord's limits). */
export interface PendingItem {
  embed: APIEmbed;
  topic: string;
  label?: string;
  /** When the bot received the event, ms since the epoch. */
  receivedAt: number;
  /** Its row in the spool. */
  spoolId?: number;
}

/** What the next message of a channel carries. */
export interface PackedMessage {
  /** The message's embeds: the full ones, then the digest if there is one. */
  embeds: APIEmbed[];
  /** Items sent as full embeds, taken from the front of the queue. */
  items: PendingItem[];
  /** The events merged into the digest embed (the rest of the queue and any overflow). */
  digest?: DigestCounter;
}

/** How many items from `start` on fit in one message of at most `maxEmbeds` embeds and `maxChars` characters. */
export function fitFromFront(items: readonly PendingItem[], maxEmbeds: number, maxChars: number, start = 0): number {
  let count = 0;
  let chars = 0;
  for (let i = start; i < items.length; i++) {
    const length = embedLength(items[i]!.embed);
    if (count >= maxEmbeds || chars + length > maxChars) break;
    count++;
    chars += length;
  }
  return count;
}

/** Whether the items from `start` on fit, as full embeds, in at most `messages` messages. */
function fitInMessages(items: readonly PendingItem[], start: number, messages: number): boolean {
  let next = start;
  for (let message = 0; message < messages && next < items.length; message++) {
    const fitting = fitFromFront(items, EmbedLimits.embedsPerMessage, EmbedLimits.total, next);
    if (fitting === 0) return false;
    next += fitting;
  }
  return next >= items.length;
}

/**
 * Decides the next message for a channel whose queue holds `items` (oldest first) and `overflow`
 * (events already reduced to counters). `sends` is how many messages, this one first, may carry
 * what is queued: the caller bounds it by the sends left in the channel's rate-limit window and by
 * how long an event may wait for a later one.
 *
 * When nothing has overflowed and what this message leaves behind fits, in full, in the other
 * `sends - 1` messages, the message is as many full embeds as fit (10 embeds, 6000 characters) and
 * the rest waits for the next send, so no detail is lost. Otherwise everything that does not fit
 * is merged into a digest embed that counts every event, so a burst never becomes a backlog of
 * messages and no event waits beyond the sends it was given.
 */
export function packMessage(items: readonly PendingItem[], overflow: DigestCounter | undefined, sends: number): PackedMessage {
  const hasOverflow = overflow !== undefined && overflow.count > 0;
  if (items.length === 0 && !hasOverflow) return { embeds: [], items: [] };

  const fitting = fitFromFront(items, EmbedLimits.embedsPerMessage, EmbedLimits.total);
  if (!hasOverflow && fitting > 0 && fitInMessages(items, fitting, sends - 1)) {
    const full = items.slice(0, fitting);
    return { embeds: full.map((item) => item.embed), items: full };
  }

  // Room for one digest embed, which never exceeds DIGEST_MAX_LENGTH characters.
  const room = EmbedLimits.total - DIGEST_MAX_LENGTH;
  let fullCount = fitFromFront(items, EmbedLimits.embedsPerMessage - 1, room);
  const full = items.slice(0, fullCount).map((item) => ({ ...item }));
  // The oldest event keeps its details even when it alone is bigger than the room beside the digest.
  if (fullCount === 0 && items.length > 0) {
    full.push({ ...items[0]!, embed: fitEmbed(items[0]!.embed, room) });
    fullCount = 1;
  }
  const digest = new DigestCounter();
  if (overflow) digest.addAll(overflow);
  for (let i = fullCount; i < items.length; i++) {
    const item = items[i]!;
    digest.add(item.topic, item.label, item.receivedAt);
  }
  if (digest.count === 0) return { embeds: full.map((item) => item.embed), items: full };
  return { embeds: [...full.map((item) => item.embed), digestEmbed(digest.summary())], items: full, digest };
}
