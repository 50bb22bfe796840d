import type { Store } from '../../store/index.ts';
import type { ScheduleDefinition, ScheduleOrigin } from './schedule.ts';
import { triggerKey } from './schedule.ts';
import type { TriggerSpec } from './trigger.ts';

/** The scheduler's tables, as migrations of the store's part `scheduler`. */
const migrations = [
  `CREATE TABLE scheduler_schedules (
     id TEXT PRIMARY KEY,
     origin TEXT NOT NULL,
     definition TEXT NOT NULL,
     trigger_key TEXT NOT NULL,
     anchor_ms INTEGER NOT NULL,
     next_run_ms INTEGER,
     last_run_ms INTEGER,
     paused INTEGER NOT NULL DEFAULT 0,
     updated_ms INTEGER NOT NULL
   )`,
];

/** A schedule as the store remembers it: its definition and where its runs stood. */
export interface StoredSchedule {
  definition: ScheduleDefinition;
  /** The trigger the times below belong to (see {@link triggerKey}). */
  triggerKey: string;
  /** Where an interval counts from: when the schedule was first seen. */
  anchor: number;
  nextRunAt: number | null;
  lastRunAt: number | null;
  paused: boolean;
}

/** Where a schedule's runs stand. */
export interface RunState {
  nextRunAt: number | null;
  lastRunAt: number | null;
  paused: boolean;
}

interface Row {
  id: string;
  origin: ScheduleOrigin;
  definition: string;
  trigger_key: string;
  anchor_ms: number;
  next_run_ms: number | null;
  last_run_ms: number | null;
  paused: number;
}

/** The scheduler's part of the embedded database: every schedule, with its last and next run. */
export class ScheduleStore {
  constructor(private readonly store: Store) {
    store.migrate('scheduler', migrations);
  }

  /** Every stored schedule; a row that no longer reads as a schedule is skipped and named in `unreadable`. */
  load(): { schedules: StoredSchedule[]; unreadable: string[] } {
    const schedules: StoredSchedule[] = [];
    const unreadable: string[] = [];
    for (const row of this.store.all<Row>('SELECT id, origin, definition, trigger_key, anchor_ms, next_run_ms, last_run_ms, paused FROM scheduler_schedules ORDER BY id')) {
      const definition = parseDefinition(row);
      if (!definition) {
        unreadable.push(row.id);
        continue;
      }
      schedules.push({ definition, triggerKey: row.trigger_key, anchor: row.anchor_ms, nextRunAt: row.next_run_ms, lastRunAt: row.last_run_ms, paused: row.paused === 1 });
    }
    return { schedules, unreadable };
  }

  /** Writes a schedule's definition and state (replacing one of the same id), now. */
  save(definition: ScheduleDefinition, anchor: number, state: RunState): void {
    this.store.run(
      `INSERT INTO scheduler_schedules (id, origin, definition, trigger_key, anchor_ms, next_run_ms, last_run_ms, paused, updated_ms)
       VALUES (@id, @origin, @definition, @trigger_key, @anchor, @next, @last, @paused, @now)
       ON CONFLICT(id) DO UPDATE SET origin = excluded.origin, definition = excluded.definition, trigger_key = excluded.trigger_key,
         anchor_ms = excluded.anchor_ms, next_run_ms = excluded.next_run_ms, last_run_ms = excluded.last_run_ms, paused = excluded.paused, updated_ms = excluded.updated_ms`,
      {
        id: definition.id,
        origin: definition.origin,
        definition: JSON.stringify(definition),
        trigger_key: triggerKey(definition.trigger),
        anchor,
        next: state.nextRunAt,
        last: state.lastRunAt,
        paused: state.paused ? 1 : 0,
        now: Date.now(),
      },
    );
  }

  /** Records where a schedule's runs stand, batched with the other writes of this turn. */
  update(id: string, state: RunState): void {
    this.store.write('UPDATE scheduler_schedules SET next_run_ms = ?, last_run_ms = ?, paused = ?, updated_ms = ? WHERE id = ?', [state.nextRunAt, state.lastRunAt, state.paused ? 1 : 0, Date.now(), id]);
  }

  /** Forgets a schedule. */
  delete(id: string): void {
    this.store.run('DELETE FROM scheduler_schedules WHERE id = ?', [id]);
  }
}

function isTriggerSpec(value: unknown): value is TriggerSpec {
  if (value === null || typeof value !== 'object') return false;
  const spec = value as Record<string, unknown>;
  return typeof spec.timezone === 'string' && ['cron', 'every', 'at'].filter((k) => typeof spec[k] === 'string').length === 1;
}

// Rows are the bot's own writes, but the file may come from another version: read them defensively.
function parseDefinition(row: Row): ScheduleDefinition | undefined {
  let value: unknown;
  try {
    value = JSON.parse(row.definition);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const d = value as Partial<ScheduleDefinition>;
  if (d.id !== row.id || typeof d.method !== 'string' || !isTriggerSpec(d.trigger) || d.params === null || typeof d.params !== 'object') return undefined;
  return {
    id: d.id,
    trigger: d.trigger,
    method: d.method,
    params: d.params,
    sendAlert: d.sendAlert === true,
    overrides: d.overrides && typeof d.overrides === 'object' ? d.overrides : {},
    origin: row.origin === 'config' ? 'config' : 'discord',
    ...(typeof d.createdBy === 'string' ? { createdBy: d.createdBy } : {}),
  };
}
