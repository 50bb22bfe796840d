import { Cron, CronDate } from 'croner';

/** When a schedule runs: exactly one of `cron`, `every` or `at`, read in `timezone` (an IANA name). */
export type TriggerSpec = ({ cron: string } | { every: string } | { at: string }) & { timezone: string };

/** The three kinds of trigger, as `/schedule list` groups them. */
export type TriggerKind = 'cron' | 'interval' | 'date';

/**
 * A schedule's run times.
 *
 * @example
 * const daily = createTrigger({ cron: '30 14 * * 1-5', timezone: 'America/New_York' });
 * daily.next(Date.parse('2026-12-01T00:00:00Z')); // 2026-12-01T19:30:00Z as epoch ms
 */
export interface Trigger {
  readonly kind: TriggerKind;
  readonly timezone: string;
  /** The expression as written: the cron pattern, the interval (`5m`) or the date. */
  readonly expression: string;
  /** The first run time strictly after `after` (epoch ms), or null when there are no more. */
  next(after: number): number | null;
}

/** Raised for a trigger that cannot be used: `field`, what was expected and what was given. */
export class TriggerError extends Error {
  constructor(
    /** The field at fault: `cron`, `every`, `at` or `timezone`. */
    readonly field: 'cron' | 'every' | 'at' | 'timezone',
    /** What the field should hold, as check-config and /schedule say it. */
    readonly expected: string,
    readonly value: string,
  ) {
    super(`${field}: got ${JSON.stringify(value)}, expected ${expected}`);
    this.name = 'TriggerError';
  }
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** setTimeout's and the store's sane ceiling for one interval: a year. */
const MAX_INTERVAL_MS = 366 * UNIT_MS.d;

/** What a time zone field should hold. */
export const TIME_ZONE_EXPECTED = 'an IANA time zone name such as UTC, Europe/Berlin or America/New_York';

/** True for a time zone name the runtime knows (IANA, e.g. `Asia/Jerusalem`, or `UTC`). */
export function isTimeZone(name: string): boolean {
  if (name.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Parses an interval such as `30s`, `5m`, `2h` or `1d` into milliseconds. */
export function parseEvery(text: string): number {
  const match = /^\s*(\d+)\s*(s|m|h|d)\s*$/i.exec(text);
  const amount = match ? Number(match[1]) : NaN;
  const unit = match?.[2]?.toLowerCase() as keyof typeof UNIT_MS | undefined;
  if (!unit || !(amount > 0)) throw new TriggerError('every', 'an interval such as 30s, 5m, 2h or 1d (a whole number above 0 and s, m, h or d)', text);
  const ms = amount * UNIT_MS[unit];
  if (ms > MAX_INTERVAL_MS) throw new TriggerError('every', 'an interval of at most 366d', text);
  return ms;
}

const AT_FORMAT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses a one-shot date. With a zone (`Z`, `+02:00`) it is that instant; without one it is a wall-clock
 * time in `timezone`, and a time that the zone skips (a DST gap) is moved on by the gap, as the clocks were.
 */
export function parseAt(text: string, timezone: string): number {
  const match = AT_FORMAT.exec(text.trim());
  const expected = "a date and time such as 2026-12-24T18:00:00 (in the schedule's time zone) or 2026-12-24T18:00:00Z";
  if (!match) throw new TriggerError('at', expected, text);
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part))) as number[];
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysIn(year!, month!) || hour > 23 || minute > 59 || second > 59) throw new TriggerError('at', expected, text);
  if (match[7]) return Date.parse(text.trim().replace(' ', 'T'));
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const local = `${pad(year!, 4)}-${pad(month!)}-${pad(day!)}T${pad(hour)}:${pad(minute)}:${pad(second)}`;
  return new CronDate(local, timezone).getTime();
}

function checkZone(timezone: string): void {
  if (!isTimeZone(timezone)) throw new TriggerError('timezone', TIME_ZONE_EXPECTED, timezone);
}

function cronTrigger(pattern: string, timezone: string): Trigger {
  let cron: Cron;
  try {
    // Croner only computes run times here; the Scheduler's own clock decides when they are due.
    cron = new Cron(pattern, { timezone, paused: true, mode: '5-or-6-parts' });
  } catch (err) {
    const reason = (err as Error).message.replace(/^CronPattern: /, '');
    throw new TriggerError('cron', `a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), such as "30 14 * * 1-5" (${reason})`, pattern);
  }
  return {
    kind: 'cron',
    timezone,
    expression: pattern,
    next: (after) => cron.nextRun(new Date(after))?.getTime() ?? null,
  };
}

/** An interval's run times are `anchor + k × interval` (k ≥ 1), so a restart keeps the cadence. */
function intervalTrigger(every: string, timezone: string, anchor: number): Trigger {
  const ms = parseEvery(every);
  return {
    kind: 'interval',
    timezone,
    expression: every.trim(),
    next: (after) => anchor + Math.max(1, Math.floor((after - anchor) / ms) + 1) * ms,
  };
}

function dateTrigger(at: string, timezone: string): Trigger {
  const when = parseAt(at, timezone);
  return { kind: 'date', timezone, expression: at.trim(), next: (after) => (when > after ? when : null) };
}

/**
 * Builds a trigger, throwing {@link TriggerError} for a bad expression or zone. `anchor` (epoch ms) is
 * where an interval counts from: the schedule's creation.
 */
export function createTrigger(spec: TriggerSpec, anchor = Date.now()): Trigger {
  checkZone(spec.timezone);
  if ('cron' in spec) return cronTrigger(spec.cron, spec.timezone);
  if ('every' in spec) return intervalTrigger(spec.every, spec.timezone, anchor);
  return dateTrigger(spec.at, spec.timezone);
}

/** The next `count` run times strictly after `after`, fewer when the trigger ends. */
export function upcoming(trigger: Trigger, after: number, count: number): number[] {
  const times: number[] = [];
  let from = after;
  while (times.length < count) {
    const next = trigger.next(from);
    if (next === null) break;
    times.push(next);
    from = next;
  }
  return times;
}
