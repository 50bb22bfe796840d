import type { Config } from '../../config/schema.ts';
import type { StoredSchedule } from './schedule-store.ts';
import type { RunPolicy } from './scheduler.ts';
import type { TriggerSpec } from './trigger.ts';

/** Where a schedule was defined: the config file (re-read at every start, and it wins) or `/schedule add`. */
export type ScheduleOrigin = 'config' | 'discord';

/** Per-schedule overrides of `scheduler.job_defaults`; a missing key takes the default. */
export interface PolicyOverrides {
  coalesce?: boolean;
  max_instances?: number;
  misfire_grace_time_s?: number | null;
}

/** One schedule, whatever defined it: when (trigger, zone resolved), what (job method and params), and how. */
export interface ScheduleDefinition {
  id: string;
  trigger: TriggerSpec;
  method: string;
  params: Record<string, unknown>;
  /** Also post each run's outcome to scheduler.dev_channel. */
  sendAlert: boolean;
  overrides: PolicyOverrides;
  origin: ScheduleOrigin;
  /** Who added it from Discord (a user mention), for `/schedule list`. */
  createdBy?: string;
}

type ScheduleEntry = Config['schedules'][number];

/** The trigger of a `schedules:` entry, in its own zone or else scheduler.timezone. */
export function triggerOf(entry: Pick<ScheduleEntry, 'cron' | 'every' | 'at' | 'timezone'>, defaultZone: string): TriggerSpec {
  const timezone = entry.timezone ?? defaultZone;
  if (entry.cron !== undefined) return { cron: entry.cron, timezone };
  if (entry.every !== undefined) return { every: entry.every, timezone };
  return { at: entry.at ?? '', timezone };
}

/** A `schedules:` entry as a definition. */
export function definitionFromConfig(entry: ScheduleEntry, config: Config): ScheduleDefinition {
  const overrides: PolicyOverrides = {};
  if (entry.coalesce !== undefined) overrides.coalesce = entry.coalesce;
  if (entry.max_instances !== undefined) overrides.max_instances = entry.max_instances;
  if (entry.misfire_grace_time_s !== undefined) overrides.misfire_grace_time_s = entry.misfire_grace_time_s;
  return { id: entry.id, trigger: triggerOf(entry, config.scheduler.timezone), method: entry.method, params: entry.params, sendAlert: entry.send_alert, overrides, origin: 'config' };
}

/** The run policy of a definition: its overrides over `scheduler.job_defaults`. */
export function policyOf(definition: ScheduleDefinition, defaults: Config['scheduler']['job_defaults']): RunPolicy {
  const grace = definition.overrides.misfire_grace_time_s !== undefined ? definition.overrides.misfire_grace_time_s : defaults.misfire_grace_time_s;
  return {
    coalesce: definition.overrides.coalesce ?? defaults.coalesce,
    maxInstances: definition.overrides.max_instances ?? defaults.max_instances,
    misfireGraceMs: grace === null ? null : grace * 1000,
  };
}

/** A trigger's identity: when it changes, a remembered next run no longer applies. */
export function triggerKey(spec: TriggerSpec): string {
  if ('cron' in spec) return `cron|${spec.cron}|${spec.timezone}`;
  if ('every' in spec) return `every|${spec.every}|${spec.timezone}`;
  return `at|${spec.at}|${spec.timezone}`;
}

/** What a start makes of the stored schedules and the config's: which to run (with what the store had of each), which to forget. */
export interface SchedulePlan {
  install: { definition: ScheduleDefinition; stored?: StoredSchedule }[];
  /** Stored config schedules that the config no longer has. */
  forget: string[];
}

/** Merges the stored schedules with the config's: Discord ones kept, config ones as the file says now (it wins for its ids). */
export function planSchedules(config: Config, stored: ReadonlyMap<string, StoredSchedule>): SchedulePlan {
  const plan: SchedulePlan = { install: [], forget: [] };
  const fromConfig = new Set(config.schedules.map((entry) => entry.id));
  for (const [id, s] of stored) {
    if (fromConfig.has(id)) continue;
    if (s.definition.origin === 'config') plan.forget.push(id);
    else plan.install.push({ definition: s.definition, stored: s });
  }
  for (const entry of config.schedules) {
    const previous = stored.get(entry.id);
    plan.install.push({ definition: definitionFromConfig(entry, config), ...(previous ? { stored: previous } : {}) });
  }
  return plan;
}
