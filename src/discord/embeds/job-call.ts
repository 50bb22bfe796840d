import type { APIEmbed } from 'discord.js';
import type { JobCallRecord } from '../../jobs/registry.ts';
import { Colors } from './colors.ts';
import { safeText } from './text.ts';

/** The audit line for one job call (`notification_channels.jobs`): method, caller, outcome, time, and the error or result. */
export function jobCallEmbed(record: JobCallRecord): APIEmbed {
  const ok = record.outcome === 'success' || record.outcome === 'duplicate';
  const detail = record.error ?? record.result ?? '';
  const lines = [
    `\`${safeText(record.method, 100)}\` from **${safeText(record.source, 50)}**: **${record.outcome}** in ${record.durationMs} ms`,
    `params \`${safeText(record.params, 300).replaceAll('`', 'ˋ')}\``,
    ...(detail ? [`${record.error ? 'error' : 'result'} \`${safeText(detail, 500).replaceAll('`', 'ˋ')}\``] : []),
  ];
  return { color: ok ? Colors.success : record.outcome === 'refused' || record.outcome === 'invalid' ? Colors.warning : Colors.failure, description: safeText(lines.join('\n'), 4000), timestamp: new Date().toISOString() };
}
