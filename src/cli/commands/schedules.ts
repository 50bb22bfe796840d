import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { formatInZone, previewSchedules, type SchedulePreview } from '../../jobs/scheduler/preview.ts';
import { ScheduleStore, type StoredSchedule } from '../../jobs/scheduler/schedule-store.ts';
import { openStore, resolveStorePath } from '../../store/index.ts';
import { loadConfigForCommand } from '../config-option.ts';

/** `schedules [-c FILE]`: the configured and stored schedules with their next run times, without starting the bot. */
export function registerSchedules(program: Command): void {
  program
    .command('schedules')
    .description('list the configured and stored schedules with their next five run times in their zone (the bot is not started)')
    .option('-c, --config <file>', 'config file (default: the embedded config/default.yaml)')
    .option('-n, --count <n>', 'run times to show per schedule (1-50)', '5')
    .action((opts: { config?: string; count: string }) => {
      process.exitCode = runSchedules(opts.config, opts.count);
    });
}

function readStored(path: string, baseDir: string): { stored: Map<string, StoredSchedule>; note: string } {
  const location = resolveStorePath(path, baseDir);
  // Listing must not create a database; a missing file just has no stored schedules yet.
  if (location === ':memory:' || !existsSync(location)) return { stored: new Map(), note: `no stored schedules (${location === ':memory:' ? 'storage.path is :memory:' : `${location} does not exist yet`})` };
  const store = openStore({ path, baseDir });
  try {
    const { schedules, unreadable } = new ScheduleStore(store).load();
    const skipped = unreadable.length > 0 ? `; ${unreadable.length} unreadable row(s) skipped: ${unreadable.join(', ')}` : '';
    return { stored: new Map(schedules.map((s) => [s.definition.id, s])), note: `stored schedules from ${location}${skipped}` };
  } finally {
    store.close();
  }
}

function print(preview: SchedulePreview): void {
  const { definition } = preview;
  const flags = [definition.origin === 'config' ? 'config' : `added from Discord${definition.createdBy ? ` by ${definition.createdBy}` : ''}`];
  if (preview.paused) flags.push('PAUSED');
  if (definition.sendAlert) flags.push('send_alert');
  console.log(`${definition.id}  ${preview.trigger}  → ${definition.method} ${JSON.stringify(definition.params)}  [${flags.join(', ')}]`);
  if (preview.problem) console.log(`  cannot run: ${preview.problem}`);
  const zone = definition.trigger.timezone;
  if (preview.lastRunAt !== null) console.log(`  last run: ${formatInZone(preview.lastRunAt, zone)}`);
  if (preview.overdueSince !== null) console.log(`  overdue since ${formatInZone(preview.overdueSince, zone)}: the misfire policy applies at the next start`);
  if (preview.next.length === 0 && !preview.problem) console.log('  no more runs');
  preview.next.forEach((t, i) => console.log(`  ${i === 0 ? 'next:' : '     '} ${formatInZone(t, zone)}`));
}

/** Prints the schedules; resolves to the exit code. */
export function runSchedules(configPath: string | undefined, countText = '5'): number {
  const count = Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > 50) {
    console.error(`zmq-notify schedules: --count: got ${JSON.stringify(countText)}, expected a whole number from 1 to 50`);
    return 2;
  }
  const loaded = loadConfigForCommand(configPath);
  if (!loaded) return 1;
  const { config } = loaded;
  const { stored, note } = readStored(config.storage.path, loaded.baseDir);
  const previews = previewSchedules(config, stored, Date.now(), count);
  console.log(`# ${previews.length} schedule(s): ${config.schedules.length} from ${loaded.path ?? 'the config'}, ${note}; scheduler.timezone ${config.scheduler.timezone}`);
  for (const preview of previews) print(preview);
  return 0;
}
