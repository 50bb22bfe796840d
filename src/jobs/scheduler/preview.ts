import type { Config } from '../../config/schema.ts';
import { describeTrigger } from './run-events.ts';
import { planSchedules, triggerKey, type ScheduleDefinition } from './schedule.ts';
import type { StoredSchedule } from './schedule-store.ts';
import { createTrigger, upcoming } from './trigger.ts';

/** A schedule as `zmq-notify schedules` prints it, without starting anything. */
export interface SchedulePreview {
  definition: ScheduleDefinition;
  trigger: string;
  paused: boolean;
  lastRunAt: number | null;
  /** The stored next run, when it is already past (the bot is down, or was): the misfire policy meets it at the next start. */
  overdueSince: number | null;
  /** The next run times after now, in order. */
  next: number[];
  /** Why the schedule cannot run as it stands (a bad stored trigger), if so. */
  problem?: string;
}

/** What the next start would run — the config's schedules and the stored ones — with each one's next `count` run times. */
export function previewSchedules(config: Config, stored: ReadonlyMap<string, StoredSchedule>, now: number, count = 5): SchedulePreview[] {
  return planSchedules(config, stored).install.map(({ definition, stored: previous }) => {
    const same = previous !== undefined && previous.triggerKey === triggerKey(definition.trigger);
    const base = {
      definition,
      paused: previous?.paused ?? false,
      lastRunAt: previous?.lastRunAt ?? null,
      overdueSince: same && previous.nextRunAt !== null && previous.nextRunAt < now ? previous.nextRunAt : null,
    };
    try {
      const trigger = createTrigger(definition.trigger, same ? previous.anchor : now);
      return { ...base, trigger: describeTrigger(trigger), next: upcoming(trigger, now, count) };
    } catch (err) {
      return { ...base, trigger: JSON.stringify(definition.trigger), next: [], problem: (err as Error).message };
    }
  });
}

/** A time as people in `timezone` read it, with UTC beside it: `Tue 2026-12-01 09:30:00 EST (14:30:00 UTC)`. */
export function formatInZone(ms: number, timezone: string): string {
  const local = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms));
  const part = (type: Intl.DateTimeFormatPartTypes): string => local.find((p) => p.type === type)?.value ?? '';
  const utc = new Date(ms).toISOString().slice(11, 19);
  return `${part('weekday')} ${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')} ${part('timeZoneName')} (${utc} UTC)`;
}
