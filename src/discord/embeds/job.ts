import type { APIEmbed, APIEmbedField } from 'discord.js';
import type { ZmqEvent } from '../../pipeline/event.ts';
import { scalarText } from '../../shared/json.ts';
import { Colors } from './colors.ts';
import { baseEmbed, descriptionRoom, EXTRA_FIELDS_BUDGET as EXTRAS } from './base.ts';
import {
  discordTime,
  extraFields,
  field,
  formatDuration,
  idField,
  jobLabel,
  parseIsoTime,
  renderTime,
  renderValue,
} from './format.ts';
import { EmbedLimits, fitEmbed } from './limits.ts';
import { codeBlock, safeText } from './text.ts';

function idFields(data: Record<string, unknown>): APIEmbedField[] {
  return data.job_id === undefined ? [] : [idField('Job ID', data.job_id)];
}

// A traceback's last lines say what went wrong; capping it leaves room to merge alerts into one message.
const TRACEBACK_MAX = 2000;

/** `job.failed`: red; job name and id, error, retry count, traceback (its end) in a code block, time. */
export function jobFailedEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `❌ Job failed: ${jobLabel(data)}`, Colors.failure);
  const fields = idFields(data);
  if (data.retry_count !== undefined) fields.push(field('Retries', renderValue(data.retry_count, 100), true));
  const error = data.error === undefined ? undefined : (scalarText(data.error) ?? renderValue(data.error));
  const traceback = scalarText(data.traceback);
  const hasTraceback = traceback !== undefined && traceback.trim() !== '';
  if (hasTraceback && error !== undefined) fields.push(field('Error', safeText(error, EmbedLimits.fieldValue)));
  fields.push(...extraFields(data, ['job_id', 'job_name', 'error', 'retry_count', 'traceback', 'timestamp'], EXTRAS));
  embed.fields = fields;
  // The traceback gets the description (the most room); without one, the error does.
  if (hasTraceback) {
    embed.description = codeBlock(traceback, Math.min(TRACEBACK_MAX, descriptionRoom(embed)), { lang: 'py', keep: 'tail' });
  } else {
    embed.description = error === undefined ? '*No error message was sent.*' : safeText(error, descriptionRoom(embed));
  }
  return fitEmbed(embed);
}

/**
 * `job.missed`: a run that never happened (its start deadline passed, a misfire); orange, in the
 * failure channel, with when it should have started as Discord time markup.
 */
export function jobMissedEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `⏰ Job missed: ${jobLabel(data)}`, Colors.warning);
  const fields = idFields(data);
  if (data.scheduled_start !== undefined) fields.push(field('Scheduled start', renderTime(data.scheduled_start)));
  fields.push(...extraFields(data, ['job_id', 'job_name', 'scheduled_start', 'timestamp'], EXTRAS));
  embed.fields = fields;
  const when = parseIsoTime(data.scheduled_start);
  embed.description = `This run never started${when === undefined ? '' : ` (it was due ${discordTime(when)})`}: it missed its start deadline.`;
  return fitEmbed(embed);
}

/** `job.executed`: green; duration and result. */
export function jobExecutedEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `✅ Job executed: ${jobLabel(data)}`, Colors.success);
  const fields = idFields(data);
  if (data.duration !== undefined) {
    const duration = typeof data.duration === 'number' ? formatDuration(data.duration) : renderValue(data.duration, 100);
    fields.push(field('Duration', duration, true));
  }
  if (data.result !== undefined) fields.push(field('Result', renderValue(data.result)));
  fields.push(...extraFields(data, ['job_id', 'job_name', 'duration', 'result', 'timestamp'], EXTRAS));
  embed.fields = fields;
  return fitEmbed(embed);
}

/** `job.scheduled`: blue; the next run time as Discord time markup. */
export function jobScheduledEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `🗓️ Job scheduled: ${jobLabel(data)}`, Colors.info);
  const fields = idFields(data);
  if (data.next_run_time !== undefined) fields.push(field('Next run', renderTime(data.next_run_time)));
  fields.push(...extraFields(data, ['job_id', 'job_name', 'next_run_time', 'timestamp'], EXTRAS));
  embed.fields = fields;
  return fitEmbed(embed);
}

/** `job.removed`: grey; the job that left the schedule. */
export function jobRemovedEmbed(event: ZmqEvent): APIEmbed {
  const { data } = event;
  const embed = baseEmbed(event, `🗑️ Job removed: ${jobLabel(data)}`, Colors.neutral);
  embed.fields = [...idFields(data), ...extraFields(data, ['job_id', 'job_name', 'timestamp'], EXTRAS)];
  return fitEmbed(embed);
}
