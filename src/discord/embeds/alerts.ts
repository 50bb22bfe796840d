import type { APIEmbed } from 'discord.js';
import type { ZmqEvent } from '../../pipeline/event.ts';
import { scalarText } from '../../shared/json.ts';
import { baseEmbed, descriptionRoom } from './base.ts';
import { Colors } from './colors.ts';
import { discordTime, field, formatDuration, idField, jobLabel, renderValue } from './format.ts';
import { fitEmbed } from './limits.ts';
import { codeBlock, formatCount, safeText } from './text.ts';

/** A job's failures since it last succeeded, as the repeat-suppression feature tracks them. */
export interface FailureSeries {
  /** Failures in the series. */
  count: number;
  /** When the first of them arrived, ms since the epoch. */
  firstAt: number;
  /** The last error message, if any. */
  lastError?: unknown;
}

function pluralTimes(n: number): string {
  return n === 1 ? 'once' : `${formatCount(n)} times`;
}

/**
 * A repeated failure, for editing the series' first alert: "failed N times in the last M minutes;
 * last error …", with the latest failure's traceback. `last` is the latest `job.failed` event.
 */
export function repeatedFailureEmbed(last: ZmqEvent, series: { count: number; windowMs: number }): APIEmbed {
  const { data } = last;
  const embed = baseEmbed(last, `🔁 Job failing repeatedly: ${jobLabel(data)}`, Colors.repeatedFailure);
  embed.fields = [];
  if (data.job_id !== undefined) embed.fields.push(idField('Job ID', data.job_id));
  embed.fields.push(field('Failures', formatCount(series.count), true));
  if (data.retry_count !== undefined) embed.fields.push(field('Retries (last)', renderValue(data.retry_count, 100), true));
  const error = data.error === undefined ? '*no error message*' : renderValue(data.error, 1000);
  const summary = safeText(
    `Failed **${pluralTimes(series.count)}** in the last ${formatDuration(series.windowMs / 1000)}; last error: ${error}`,
    1200,
  );
  const traceback = scalarText(data.traceback);
  const room = Math.min(2000, descriptionRoom(embed) - summary.length - 2);
  embed.description =
    traceback !== undefined && traceback.trim() !== '' && room > 100
      ? `${summary}\n\n${codeBlock(traceback, room, { lang: 'py', keep: 'tail' })}`
      : summary;
  return fitEmbed(embed);
}

/** A job that failed and has now executed successfully. `executed` is the `job.executed` event. */
export function recoveredEmbed(executed: ZmqEvent, failures: FailureSeries): APIEmbed {
  const { data } = executed;
  const embed = baseEmbed(executed, `✅ Job recovered: ${jobLabel(data)}`, Colors.success);
  embed.description = `Executed successfully after failing **${pluralTimes(failures.count)}** since ${discordTime(failures.firstAt)}.`;
  embed.fields = [];
  if (data.job_id !== undefined) embed.fields.push(idField('Job ID', data.job_id));
  if (typeof data.duration === 'number') embed.fields.push(field('Duration', formatDuration(data.duration), true));
  if (failures.lastError !== undefined) embed.fields.push(field('Last error', renderValue(failures.lastError)));
  return fitEmbed(embed);
}
