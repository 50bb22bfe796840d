import type { APIEmbed, APIEmbedField } from 'discord.js';
import type { ZmqEvent } from '../../pipeline/event.ts';
import { scalarText } from '../../shared/json.ts';
import { baseEmbed, EXTRA_FIELDS_BUDGET } from './base.ts';
import { Colors } from './colors.ts';
import { discordTime, extraFields, field, formatDuration, renderValue } from './format.ts';
import { EmbedLimits, fitEmbed } from './limits.ts';
import { safeText } from './text.ts';

function deploymentFields(data: Record<string, unknown>): APIEmbedField[] {
  return data.deployment === undefined ? [] : [field('Deployment', renderValue(data.deployment, 512), true)];
}

function schedulerName(data: Record<string, unknown>): string {
  const deployment = scalarText(data.deployment);
  return deployment === undefined ? '' : `: ${deployment}`;
}

/** `scheduler.started`: green; the deployment that came up. */
export function schedulerStartedEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `🟢 Scheduler started${schedulerName(data)}`, Colors.success);
  embed.fields = [...deploymentFields(data), ...extraFields(data, ['deployment', 'timestamp'], EXTRA_FIELDS_BUDGET)];
  return fitEmbed(embed);
}

/** `scheduler.stopped`: red; the deployment that went down. */
export function schedulerStoppedEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `🔴 Scheduler stopped${schedulerName(data)}`, Colors.failure);
  embed.fields = [...deploymentFields(data), ...extraFields(data, ['deployment', 'timestamp'], EXTRA_FIELDS_BUDGET)];
  return fitEmbed(embed);
}

/** What the heartbeat watchdog knows about a scheduler it watches. */
export interface WatchedScheduler {
  /** Publisher id (envelope `src`). */
  src?: string;
  /** The `deployment` its heartbeats name. */
  deployment?: string;
  /** When its last heartbeat (or any event) arrived, ms since the epoch. */
  lastSeenAt?: number;
  /** How often heartbeats are expected, ms. */
  expectedIntervalMs?: number;
}

function watchedName(s: WatchedScheduler): string {
  return s.deployment ?? s.src ?? 'unknown scheduler';
}

function watchedFields(s: WatchedScheduler): APIEmbedField[] {
  const fields: APIEmbedField[] = [];
  if (s.deployment !== undefined) fields.push(field('Deployment', safeText(s.deployment, 512), true));
  if (s.src !== undefined) fields.push(field('Publisher', `\`${safeText(s.src, 250)}\``, true));
  return fields;
}

/** Heartbeat watchdog: no heartbeat from a scheduler for longer than expected. `now` is when it was noticed. */
export function schedulerSilentEmbed(scheduler: WatchedScheduler & { silentForMs: number; now: number }): APIEmbed {
  const lines = [`No heartbeat for **${formatDuration(scheduler.silentForMs / 1000)}**`];
  if (scheduler.expectedIntervalMs !== undefined) lines[0] += ` (expected every ${formatDuration(scheduler.expectedIntervalMs / 1000)})`;
  lines[0] += '.';
  if (scheduler.lastSeenAt !== undefined) lines.push(`Last heard from ${discordTime(scheduler.lastSeenAt)}.`);
  lines.push('Jobs may not be running. Check the scheduler process and its network path to the bot.');
  return fitEmbed({
    title: safeText(`⚠️ Scheduler silent: ${watchedName(scheduler)}`, EmbedLimits.title),
    description: lines.join('\n'),
    color: Colors.warning,
    fields: watchedFields(scheduler),
    timestamp: new Date(scheduler.now).toISOString(),
    footer: { text: 'heartbeat watchdog' },
  });
}

/** Heartbeat watchdog: a silent scheduler is heard from again after `silentForMs`. */
export function schedulerBackEmbed(scheduler: WatchedScheduler & { silentForMs: number; now: number }): APIEmbed {
  return fitEmbed({
    title: safeText(`✅ Scheduler back: ${watchedName(scheduler)}`, EmbedLimits.title),
    description: `Heartbeats resumed after **${formatDuration(scheduler.silentForMs / 1000)}** of silence.`,
    color: Colors.success,
    fields: watchedFields(scheduler),
    timestamp: new Date(scheduler.now).toISOString(),
    footer: { text: 'heartbeat watchdog' },
  });
}
