import { time, TimestampStyles, type APIEmbed, type APIEmbedField } from 'discord.js';
import { Colors } from './colors.ts';
import { field } from './format.ts';
import { EmbedLimits, fitEmbed } from './limits.ts';
import { formatCount, safeText } from './text.ts';

/** What a digest says about the events it stands for: every one counted, the first few jobs named. */
export interface DigestSummary {
  /** Events the digest stands for. */
  count: number;
  /** Counts per topic, in first-seen order (a bounded number of topics). */
  topics: readonly { topic: string; count: number }[];
  /** Events whose topic was beyond the ones tracked by name. */
  otherTopics: number;
  /** The first few labels (job names) with how often each occurred. */
  labels: readonly { label: string; count: number }[];
  /** Labelled events whose label was beyond the ones tracked by name. */
  otherLabels: number;
  /** When the first and last of the events were received, ms since the epoch. */
  firstAt?: number;
  lastAt?: number;
}

/** A digest embed never exceeds this many characters, so a message can reserve room for it up front. */
export const DIGEST_MAX_LENGTH = 1500;

// An alert hidden in a digest must still look like an alert.
const URGENT = /^(job\.failed|scheduler\.stopped)/;

function clock(ms: number): string {
  return time(Math.floor(ms / 1000), TimestampStyles.LongTime);
}

/** The digest embed: counts by topic and the first few job names, within {@link DIGEST_MAX_LENGTH}. */
export function digestEmbed(summary: DigestSummary): APIEmbed {
  const plural = summary.count === 1 ? 'event' : 'events';
  const span =
    summary.firstAt !== undefined && summary.lastAt !== undefined ? ` (received ${clock(summary.firstAt)}–${clock(summary.lastAt)})` : '';
  const fields: APIEmbedField[] = [];
  const topicLines = summary.topics.map(({ topic, count }) => `\`${safeText(topic || '(no topic)', 80).replaceAll('`', 'ˋ')}\` × ${formatCount(count)}`);
  if (summary.otherTopics > 0) topicLines.push(`other topics × ${formatCount(summary.otherTopics)}`);
  if (topicLines.length > 0) fields.push(field('By topic', safeText(topicLines.join('\n'), 600)));
  if (summary.labels.length > 0) {
    const names = summary.labels.map(({ label, count }) => `\`${safeText(label, 60).replaceAll('`', 'ˋ')}\`${count > 1 ? ` ×${formatCount(count)}` : ''}`);
    if (summary.otherLabels > 0) names.push(`and ${formatCount(summary.otherLabels)} more`);
    fields.push(field('Jobs', safeText(names.join(', '), 600)));
  }
  const embed: APIEmbed = {
    title: safeText(`📦 ${formatCount(summary.count)} more ${plural} (digest)`, EmbedLimits.title),
    description: `${summary.count === 1 ? 'This event' : `These ${formatCount(summary.count)} events`}${span} came faster than Discord lets this channel be posted to; every one is counted here.`,
    color: summary.topics.some((t) => URGENT.test(t.topic)) ? Colors.failure : Colors.digest,
    fields,
    footer: { text: 'zmq-notify digest' },
  };
  if (summary.lastAt !== undefined && Number.isFinite(summary.lastAt)) embed.timestamp = new Date(summary.lastAt).toISOString();
  return fitEmbed(embed, DIGEST_MAX_LENGTH);
}
