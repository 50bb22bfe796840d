import { time, TimestampStyles, type APIEmbedField } from 'discord.js';
import type { ZmqEvent } from '../../pipeline/event.ts';
import { scalarText } from '../../shared/json.ts';
import { EmbedLimits } from './limits.ts';
import { codeBlock, formatCount, safeText } from './text.ts';

const ISO_8601 = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Milliseconds since the epoch for an ISO-8601 string, or undefined when it is not one. A time
 * without a zone is UTC, never the bot host's local time (Date.parse would read it as local).
 */
export function parseIsoTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = ISO_8601.exec(value.trim());
  if (match === null) return undefined;
  const [, date, clock, zone] = match;
  let iso = date as string;
  if (clock !== undefined) {
    // Date.parse wants ±hh:mm; a zone may come as ±hh or ±hhmm.
    const offset = zone === undefined ? 'Z' : zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3).replace(':', '') || '00'}`;
    iso = `${date}T${clock}${offset}`;
  }
  const ms = Date.parse(iso);
  // Discord rejects timestamps outside the years 0000-9999 that toISOString can print plainly.
  return Number.isFinite(ms) && ms >= -62_167_219_200_000 && ms <= 253_402_300_799_999 ? ms : undefined;
}

/** When an event happened: the envelope's `ts`, else the payload's `timestamp`, else when the bot received it. */
export function eventTime(event: ZmqEvent): number | undefined {
  const fromEvent = parseIsoTime(event.meta.ts) ?? parseIsoTime(event.data.timestamp);
  if (fromEvent !== undefined) return fromEvent;
  return Number.isFinite(event.meta.receivedAt) ? event.meta.receivedAt : undefined;
}

/** The embed `timestamp` for an event (ISO-8601), or undefined when no time is known. */
export function eventTimestamp(event: ZmqEvent): string | undefined {
  const ms = eventTime(event);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Footer text naming the topic and, when the publisher sent them, its id and sequence number. */
export function eventFooter(event: ZmqEvent): { text: string } {
  const parts = [event.topic || '(no topic)'];
  if (event.meta.src !== undefined && event.meta.src !== '') parts.push(`src ${event.meta.src}`);
  if (event.meta.seq !== undefined) parts.push(`seq ${event.meta.seq}`);
  return { text: safeText(parts.join(' · '), EmbedLimits.footerText) };
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Any JSON value as embed text of at most `max` characters: strings as they are, numbers and
 * booleans printed, null as *null*, short lists of scalars joined, objects and other lists as a JSON code block.
 */
export function renderValue(value: unknown, max: number = EmbedLimits.fieldValue): string {
  if (value === null || value === undefined) return '*null*';
  if (typeof value === 'string') return value.trim() === '' ? '*(empty)*' : safeText(value, max);
  const scalar = scalarText(value);
  if (scalar !== undefined) return safeText(scalar, max);
  if (Array.isArray(value)) {
    if (value.length === 0) return '*(none)*';
    const scalars = value.map(scalarText);
    if (scalars.every((s): s is string => s !== undefined)) {
      const joined = scalars.map((s) => `\`${s.replaceAll('`', 'ˋ')}\``).join(', ');
      if (joined.length <= max) return safeText(joined, max);
    }
  }
  return codeBlock(stringify(value), max, { lang: 'json' });
}

/** A duration in seconds as people read it: "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  if (s < 1) return `${sign}${Math.round(s * 1000)} ms`;
  if (s < 60) return `${sign}${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${sign}${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  if (whole < 86_400) return `${sign}${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
  return `${sign}${Math.floor(whole / 86_400)} d ${String(Math.floor((whole % 86_400) / 3600)).padStart(2, '0')} h`;
}

/** A point in time as Discord renders it for each reader: absolute and relative (`<t:…:f>` (`<t:…:R>`)). */
export function discordTime(ms: number): string {
  const unix = Math.floor(ms / 1000);
  return `${time(unix, TimestampStyles.ShortDateTime)} (${time(unix, TimestampStyles.RelativeTime)})`;
}

/** A payload value that names a time: Discord time markup when it is ISO-8601, else the value as text. */
export function renderTime(value: unknown): string {
  const ms = parseIsoTime(value);
  if (ms === undefined) return renderValue(value);
  const text = String(value).trim();
  const naive = !/(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(text) && /[T ]\d{2}:\d{2}/.test(text);
  return `${discordTime(ms)}\n\`${safeText(text, 100)}\`${naive ? ' (no zone given: read as UTC)' : ''}`;
}

/** The job's display name: `job_name`, else `job_id`, else a placeholder. */
export function jobLabel(data: Record<string, unknown>): string {
  return scalarText(data.job_name) ?? scalarText(data.job_id) ?? 'unknown job';
}

/** A field whose value is already embed text. */
export function field(name: string, value: string, inline = false): APIEmbedField {
  return { name: safeText(name, EmbedLimits.fieldName), value: value === '' ? '\u200b' : value, inline };
}

/** An inline field holding a code-formatted identifier. */
export function idField(name: string, value: unknown): APIEmbedField {
  const text = scalarText(value);
  return field(name, text === undefined ? renderValue(value, 256) : `\`${safeText(text, 250).replaceAll('`', 'ˋ')}\``, true);
}

/**
 * Payload keys no embed shows: `schedulezero` holds the ScheduleZero broker's whole original
 * message for custom handlers, and its fields are already shown in catalog form.
 */
export const HIDDEN_KEYS: readonly string[] = ['schedulezero'];

/**
 * Fields for the payload keys a builder does not show itself ("extra fields are kept"), within a
 * budget so a large payload cannot crowd out the alert; the last field says how many were left out.
 * A value that is an ISO-8601 time is shown as Discord time markup.
 */
export function extraFields(
  data: Record<string, unknown>,
  shown: readonly string[],
  budget: { maxFields: number; maxChars: number; maxValue?: number },
): APIEmbedField[] {
  const keys = Object.keys(data).filter((k) => !shown.includes(k) && !HIDDEN_KEYS.includes(k));
  const fields: APIEmbedField[] = [];
  let used = 0;
  let index = 0;
  for (; index < keys.length && fields.length < budget.maxFields; index++) {
    const key = keys[index]!;
    const room = Math.min(budget.maxValue ?? EmbedLimits.fieldValue, budget.maxChars - used - key.length);
    if (room < 40) break;
    const asTime = parseIsoTime(data[key]) === undefined ? undefined : renderTime(data[key]);
    const value = asTime !== undefined && asTime.length <= room ? asTime : renderValue(data[key], room);
    const inline = value.length <= 40 && !value.includes('\n');
    fields.push(field(key, value, inline));
    used += key.length + value.length;
  }
  const left = keys.length - index;
  if (left > 0) fields.push(field('…', `${formatCount(left)} more payload field${left === 1 ? '' : 's'} not shown`));
  return fields;
}
