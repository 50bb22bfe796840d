import { time, TimestampStyles, type APIEmbed, type APIEmbedField } from 'discord.js';
import type { ScheduleView } from '../../jobs/scheduler/job-scheduler.ts';
import type { TriggerKind } from '../../jobs/scheduler/trigger.ts';
import { Colors } from '../embeds/colors.ts';
import { EmbedLimits, fitEmbed } from '../embeds/limits.ts';

const GROUPS: readonly { kind: TriggerKind; title: string }[] = [
  { kind: 'cron', title: '⏰ Cron' },
  { kind: 'date', title: '📅 Date' },
  { kind: 'interval', title: '🔁 Interval' },
];
// Room kept for the title, the footer and the "… and N more" line.
const BUDGET = EmbedLimits.total - 400;

// Inline code for text from a config or a member, with backticks that cannot close it early.
function code(text: string): string {
  return `\`${[...text.replaceAll('`', 'ˋ')].slice(0, 100).join('')}\``;
}

function when(ms: number): string {
  const date = new Date(ms);
  return `${time(date, TimestampStyles.ShortDateTime)} (${time(date, TimestampStyles.RelativeTime)})`;
}

/** One schedule's line: id, trigger in its zone, method, next (or last) run as Discord time markup. */
export function scheduleLine(view: ScheduleView): string {
  const { trigger, payload } = view;
  const what = trigger.kind === 'interval' ? `every ${code(trigger.expression)}` : `${code(trigger.expression)} ${trigger.timezone}`;
  const next = view.paused ? '**paused**' : view.nextRunAt !== null ? `next ${when(view.nextRunAt)}` : view.lastRunAt !== null ? `ran ${when(view.lastRunAt)}` : 'no more runs';
  const { failed, missed, skipped } = view.counts;
  const trouble = [failed > 0 ? `${failed} failed` : '', missed > 0 ? `${missed} missed` : '', skipped > 0 ? `${skipped} skipped` : ''].filter(Boolean).join(', ');
  const marks = `${payload.origin === 'config' ? '' : ' · added from Discord'}${payload.sendAlert ? ' · 🔔' : ''}${trouble ? ` · ⚠️ ${trouble} since start` : ''}`;
  return `${view.paused ? '⏸️ ' : ''}**${payload.id}** · ${what} · ${code(payload.method)} · ${next}${marks}`;
}

/**
 * The job summary of `/schedule list` (seed 004's JobSummary): schedules grouped by cron, date and
 * interval, each group sorted by next run, times as `<t:…>` so each reader sees their own zone.
 */
export function scheduleSummaryEmbed(views: readonly ScheduleView[], defaultZone: string): APIEmbed {
  const fields: APIEmbedField[] = [];
  let length = 0;
  let omitted = 0;
  for (const group of GROUPS) {
    const members = views.filter((v) => v.trigger.kind === group.kind).sort((a, b) => (a.nextRunAt ?? Infinity) - (b.nextRunAt ?? Infinity) || a.id.localeCompare(b.id));
    let lines: string[] = [];
    let part = 0;
    const flush = (): void => {
      if (lines.length === 0) return;
      const name = `${group.title} (${members.length})${part > 0 ? ' (cont.)' : ''}`;
      fields.push({ name, value: lines.join('\n') });
      length += name.length;
      lines = [];
      part++;
    };
    for (const view of members) {
      const line = scheduleLine(view).slice(0, EmbedLimits.fieldValue);
      if (length + line.length + 1 > BUDGET || fields.length >= EmbedLimits.fields - 1) {
        omitted++;
        continue;
      }
      if (lines.join('\n').length + line.length + 1 > EmbedLimits.fieldValue) flush();
      lines.push(line);
      length += line.length + 1;
    }
    flush();
  }
  if (omitted > 0) fields.push({ name: '…', value: `and ${omitted} more: \`zmq-notify schedules\` lists them all` });
  return fitEmbed({
    title: `Scheduled jobs (${views.length})`,
    color: Colors.info,
    ...(views.length === 0 ? { description: 'No schedules. Add one with `/schedule add`, or under `schedules:` in the config.' } : {}),
    fields,
    footer: { text: `Cron and dates without a zone are read in ${defaultZone} unless a schedule names its own · 🔔 = send_alert` },
  });
}
