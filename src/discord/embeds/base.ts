import type { APIEmbed } from 'discord.js';
import type { ZmqEvent } from '../../pipeline/event.ts';
import { eventFooter, eventTimestamp } from './format.ts';
import { EmbedLimits, embedLength } from './limits.ts';
import { safeText } from './text.ts';

/** Room for payload fields beyond the catalog's, so they never crowd out the alert itself. */
export const EXTRA_FIELDS_BUDGET = { maxFields: 10, maxChars: 1500, maxValue: 512 } as const;

/** An embed with the parts every event embed has: title, colour, the event's time and footer. */
export function baseEmbed(event: ZmqEvent, title: string, color: number): APIEmbed {
  const embed: APIEmbed = { title: safeText(title, EmbedLimits.title), color, footer: eventFooter(event) };
  const timestamp = eventTimestamp(event);
  if (timestamp !== undefined) embed.timestamp = timestamp;
  return embed;
}

/** Room left for a description once everything else in the embed is counted. */
export function descriptionRoom(embed: APIEmbed): number {
  return Math.max(0, Math.min(EmbedLimits.description, EmbedLimits.total - embedLength(embed)));
}
