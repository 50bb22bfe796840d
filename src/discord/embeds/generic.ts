import type { APIEmbed } from 'discord.js';
import type { ZmqEvent } from '../../pipeline/event.ts';
import { baseEmbed } from './base.ts';
import { Colors } from './colors.ts';
import { extraFields } from './format.ts';
import { EmbedLimits, fitEmbed } from './limits.ts';

/** Any topic without a builder of its own: the topic as title, every payload field shown. */
export function genericEventEmbed(event: ZmqEvent): APIEmbed {
  const embed = baseEmbed(event, `📨 ${event.topic || '(no topic)'}`, Colors.neutral);
  const fields = extraFields(event.data, [], { maxFields: EmbedLimits.fields - 1, maxChars: 4500 });
  if (fields.length === 0) embed.description = '*Empty payload.*';
  else embed.fields = fields;
  return fitEmbed(embed);
}
