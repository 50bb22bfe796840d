import { describe, expect, it } from 'vitest';
import { createTrigger, isTimeZone, parseAt, parseEvery, TriggerError, upcoming } from '../../src/jobs/scheduler/trigger.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const at = (text: string): number => Date.parse(text);

function triggerError(fn: () => unknown): TriggerError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TriggerError) return err;
    throw err;
  }
  throw new Error('expected a TriggerError');
}

describe('cron triggers', () => {
  it('a cron job in a non-UTC zone fires at the right UTC instant', () => {
    // Tuesday 1 December 2026: Jerusalem is UTC+2 (winter), so 14:30 there is 12:30 UTC.
    const jerusalem = createTrigger({ cron: '30 14 * * 1-5', timezone: 'Asia/Jerusalem' });
    expect(iso(jerusalem.next(at('2026-12-01T00:00:00Z')))).toBe('2026-12-01T12:30:00.000Z');
    // New York in July is UTC-4 (EDT): 09:00 there is 13:00 UTC; in January (EST, UTC-5) 14:00 UTC.
    const newYork = createTrigger({ cron: '0 9 * * *', timezone: 'America/New_York' });
    expect(iso(newYork.next(at('2026-07-01T00:00:00Z')))).toBe('2026-07-01T13:00:00.000Z');
    expect(iso(newYork.next(at('2026-01-15T00:00:00Z')))).toBe('2026-01-15T14:00:00.000Z');
    // The same pattern in UTC is a different instant: the zone is really used.
    expect(iso(createTrigger({ cron: '0 9 * * *', timezone: 'UTC' }).next(at('2026-07-01T00:00:00Z')))).toBe('2026-07-01T09:00:00.000Z');
  });

  it('spring forward: a daily 02:30 New York job runs once on 8 March 2026, at 03:00 EDT (the first time after the gap)', () => {
    const trigger = createTrigger({ cron: '30 2 * * *', timezone: 'America/New_York' });
    const runs = upcoming(trigger, at('2026-03-07T12:00:00Z'), 3).map(iso);
    // 02:30 does not exist that day; 03:00 EDT = 07:00 UTC. The days around it keep 02:30.
    expect(runs).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
  });

  it('fall back: a daily 01:30 New York job runs once on 1 November 2026, at the first 01:30 (EDT), not again an hour later', () => {
    const trigger = createTrigger({ cron: '30 1 * * *', timezone: 'America/New_York' });
    const runs = upcoming(trigger, at('2026-10-31T12:00:00Z'), 2).map(iso);
    // 01:30 happens twice: 05:30 UTC (EDT) and 06:30 UTC (EST). Only the first is a run.
    expect(runs).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('takes six fields with seconds first', () => {
    const trigger = createTrigger({ cron: '*/10 * * * * *', timezone: 'UTC' });
    expect(iso(trigger.next(at('2026-01-01T00:00:05Z')))).toBe('2026-01-01T00:00:10.000Z');
  });

  it('a bad cron expression or zone is a TriggerError naming the field and what was expected', () => {
    // Tried: a minute of 61, a word, eight fields, an empty pattern.
    for (const cron of ['61 * * * *', 'every day', '* * * * * * * *', '']) {
      const err = triggerError(() => createTrigger({ cron, timezone: 'UTC' }));
      expect(err.field).toBe('cron');
      expect(err.message).toMatch(/cron expression of 5 fields/);
    }
    expect(triggerError(() => createTrigger({ cron: '61 * * * *', timezone: 'UTC' })).message).toMatch(/minute: 61/);
    // Tried: an unknown zone, an offset string, an empty zone.
    for (const timezone of ['Mars/Olympus', '+02:00x', '']) {
      const err = triggerError(() => createTrigger({ cron: '* * * * *', timezone }));
      expect(err.field).toBe('timezone');
      expect(err.message).toMatch(/IANA time zone/);
    }
  });
});

describe('interval triggers', () => {
  it('parses 30s, 5m, 2h, 1d and refuses anything else', () => {
    expect([parseEvery('30s'), parseEvery('5m'), parseEvery('2h'), parseEvery('1d'), parseEvery(' 10S ')]).toEqual([30_000, 300_000, 7_200_000, 86_400_000, 10_000]);
    // Tried: no unit, zero, an unknown unit, a negative, a fraction, more than a year.
    for (const bad of ['5', '0m', '5x', '-1s', '1.5h', '400d']) {
      const err = triggerError(() => parseEvery(bad));
      expect(err.field).toBe('every');
    }
    expect(triggerError(() => parseEvery('400d')).message).toMatch(/at most 366d/);
  });

  it('counts from its anchor, so the cadence survives a restart', () => {
    const anchor = at('2026-01-01T00:00:00Z');
    const trigger = createTrigger({ every: '5m', timezone: 'UTC' }, anchor);
    expect(iso(trigger.next(anchor))).toBe('2026-01-01T00:05:00.000Z');
    // Asked again an hour and two minutes later (a restart), the next run is still on the 5-minute grid.
    expect(iso(trigger.next(at('2026-01-01T01:02:00Z')))).toBe('2026-01-01T01:05:00.000Z');
    expect(iso(trigger.next(at('2026-01-01T01:05:00Z')))).toBe('2026-01-01T01:10:00.000Z');
    // Before the anchor, the first run is one interval after it.
    expect(iso(trigger.next(anchor - 86_400_000))).toBe('2026-01-01T00:05:00.000Z');
  });
});

describe('date triggers', () => {
  it('a zone-less date is in the schedule\'s zone; one with Z or an offset is that instant', () => {
    expect(iso(parseAt('2026-12-24T18:00:00', 'America/New_York'))).toBe('2026-12-24T23:00:00.000Z');
    expect(iso(parseAt('2026-12-24 18:00', 'Asia/Jerusalem'))).toBe('2026-12-24T16:00:00.000Z');
    expect(iso(parseAt('2026-12-24T18:00:00Z', 'America/New_York'))).toBe('2026-12-24T18:00:00.000Z');
    expect(iso(parseAt('2026-12-24T18:00:00+01:00', 'America/New_York'))).toBe('2026-12-24T17:00:00.000Z');
    expect(iso(parseAt('2026-12-24', 'UTC'))).toBe('2026-12-24T00:00:00.000Z');
  });

  it('a time inside a DST gap moves on by the gap (02:30 on 8 March 2026 in New York is 03:30 EDT)', () => {
    expect(iso(parseAt('2026-03-08T02:30:00', 'America/New_York'))).toBe('2026-03-08T07:30:00.000Z');
  });

  it('runs once: nothing after its time', () => {
    const trigger = createTrigger({ at: '2026-12-24T18:00:00', timezone: 'UTC' });
    expect(iso(trigger.next(at('2026-12-01T00:00:00Z')))).toBe('2026-12-24T18:00:00.000Z');
    expect(trigger.next(at('2026-12-24T18:00:00Z'))).toBeNull();
    expect(upcoming(trigger, at('2026-01-01T00:00:00Z'), 5)).toHaveLength(1);
  });

  it('refuses dates that do not exist or are not dates', () => {
    // Tried: 30 February, month 13, hour 24, a word, a date with a slash, an empty string.
    for (const bad of ['2026-02-30T00:00:00', '2026-13-01T00:00:00', '2026-01-01T24:00:00', 'tomorrow', '2026/12/24 18:00', '']) {
      const err = triggerError(() => parseAt(bad, 'UTC'));
      expect(err.field).toBe('at');
      expect(err.message).toMatch(/a date and time such as 2026-12-24T18:00:00/);
    }
  });
});

describe('isTimeZone', () => {
  it('knows IANA names and UTC, not made-up ones', () => {
    expect(['UTC', 'Asia/Jerusalem', 'America/New_York', 'Europe/Berlin'].every(isTimeZone)).toBe(true);
    expect(['Mars/Olympus', 'Not a zone', ''].some(isTimeZone)).toBe(false);
  });
});
