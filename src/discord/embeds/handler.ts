import type { APIEmbed, APIEmbedField } from 'discord.js';
import type { ZmqEvent } from '../../pipeline/event.ts';
import { scalarText } from '../../shared/json.ts';
import { baseEmbed, EXTRA_FIELDS_BUDGET } from './base.ts';
import { Colors } from './colors.ts';
import { extraFields, field, idField, renderValue } from './format.ts';
import { fitEmbed } from './limits.ts';

function handlerLabel(data: Record<string, unknown>): string {
  return scalarText(data.handler_id) ?? 'unknown handler';
}

function handlerIdField(data: Record<string, unknown>): APIEmbedField[] {
  return data.handler_id === undefined ? [] : [idField('Handler ID', data.handler_id)];
}

/** `handler.registered`: teal; the handler's address and methods. */
export function handlerRegisteredEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `🔌 Handler registered: ${handlerLabel(data)}`, Colors.success);
  const fields = handlerIdField(data);
  if (data.address !== undefined) fields.push(field('Address', renderValue(data.address, 512), true));
  if (data.methods !== undefined) fields.push(field('Methods', renderValue(data.methods)));
  fields.push(...extraFields(data, ['handler_id', 'address', 'methods', 'timestamp'], EXTRA_FIELDS_BUDGET));
  embed.fields = fields;
  return fitEmbed(embed);
}

/** `handler.unregistered`: orange; the handler that went away. */
export function handlerUnregisteredEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `🔌 Handler unregistered: ${handlerLabel(data)}`, Colors.warning);
  embed.fields = [...handlerIdField(data), ...extraFields(data, ['handler_id', 'timestamp'], EXTRA_FIELDS_BUDGET)];
  return fitEmbed(embed);
}

const HEALTHY = /^(ok|up|healthy|alive|ready|running|pong|online|true)$/i;
const UNHEALTHY = /^(error|down|unhealthy|dead|failed|failing|timeout|offline|unreachable|false)$/i;

/** What a `handler.ping` status says: healthy, unhealthy, something else, or nothing (no status sent). */
export function pingHealth(status: unknown): 'healthy' | 'unhealthy' | 'other' | 'none' {
  const text = scalarText(status);
  if (text === undefined) return 'none';
  return HEALTHY.test(text) ? 'healthy' : UNHEALTHY.test(text) ? 'unhealthy' : 'other';
}

const PING_COLORS = { healthy: Colors.success, unhealthy: Colors.failure, other: Colors.neutral, none: Colors.neutral } as const;

/** `handler.ping`: green, red or grey by the reported status. */
export function handlerPingEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const color = PING_COLORS[pingHealth(data.status)];
  const embed = baseEmbed(event, `📶 Handler ping: ${handlerLabel(data)}`, color);
  const fields = handlerIdField(data);
  if (data.status !== undefined) fields.push(field('Status', renderValue(data.status, 512), true));
  fields.push(...extraFields(data, ['handler_id', 'status', 'timestamp'], EXTRA_FIELDS_BUDGET));
  embed.fields = fields;
  return fitEmbed(embed);
}
