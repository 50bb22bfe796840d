import { describe, expect, it } from 'vitest';
import { parseConfig, parseYaml } from '../../src/config/index.ts';
import { configProblems } from '../helpers/config-problems.ts';

function problemsOf(raw: unknown): string[] {
  return configProblems(() => parseConfig(raw));
}

describe('config: scheduler and schedules', () => {
  it('defaults: UTC, no dev channel, job_defaults as seed 004 (coalesce off, 3 instances, 15 s grace), no schedules', () => {
    const config = parseConfig({});
    expect(config.scheduler).toEqual({ timezone: 'UTC', manager_roles: [], job_defaults: { coalesce: false, max_instances: 3, misfire_grace_time_s: 15 } });
    expect(config.schedules).toEqual([]);
    // A partial job_defaults keeps the other defaults.
    expect(parseConfig({ scheduler: { job_defaults: { coalesce: true } } }).scheduler.job_defaults).toEqual({ coalesce: true, max_instances: 3, misfire_grace_time_s: 15 });
  });

  it('reads the issue\'s example, an unquoted zone-less `at` staying text (it is read in the schedule\'s zone, not as UTC)', () => {
    const raw = parseYaml(`
scheduler:
  timezone: Asia/Jerusalem
  dev_channel: 1234567890123456789
  job_defaults: { coalesce: false, max_instances: 3, misfire_grace_time_s: 15 }
schedules:
  - id: daily_report
    cron: "30 14 * * 1-5"
    timezone: America/New_York
    method: send_message
    params: { channel_id: "123", content: "Daily update!" }
    send_alert: true
  - id: tick
    every: 5m
    method: send_message
  - id: christmas
    at: 2026-12-24T18:00:00
    method: send_message
`);
    const config = parseConfig(raw);
    expect(config.scheduler.dev_channel).toBe('1234567890123456789');
    expect(config.schedules.map((s) => s.id)).toEqual(['daily_report', 'tick', 'christmas']);
    expect(config.schedules[0]).toMatchObject({ cron: '30 14 * * 1-5', timezone: 'America/New_York', send_alert: true, params: { content: 'Daily update!' } });
    expect(config.schedules[1]).toMatchObject({ every: '5m', params: {}, send_alert: false });
    expect(config.schedules[2]?.at).toBe('2026-12-24T18:00:00');
  });

  it('a bad cron, interval, date or zone is reported with its key and what was expected', () => {
    // Tried: minute 61, an interval without a unit, 30 February, a made-up zone (schedule and scheduler).
    const problems = problemsOf({
      scheduler: { timezone: 'Mars/Olympus' },
      schedules: [
        { id: 'a', cron: '61 * * * *', method: 'send_message' },
        { id: 'b', every: '5', method: 'send_message' },
        { id: 'c', at: '2026-02-30T10:00:00', method: 'send_message' },
        { id: 'd', cron: '* * * * *', timezone: 'Nowhere/City', method: 'send_message' },
      ],
    });
    expect(problems).toEqual([
      'scheduler.timezone: got "Mars/Olympus", expected an IANA time zone name such as UTC, Europe/Berlin or America/New_York',
      expect.stringMatching(/^schedules\[0\]\.cron: got "61 \* \* \* \*", expected a cron expression of 5 fields .*Invalid value for minute: 61/),
      'schedules[1].every: got "5", expected an interval such as 30s, 5m, 2h or 1d (a whole number above 0 and s, m, h or d)',
      expect.stringMatching(/^schedules\[2\]\.at: got "2026-02-30T10:00:00", expected a date and time such as 2026-12-24T18:00:00/),
      'schedules[3].timezone: got "Nowhere/City", expected an IANA time zone name such as UTC, Europe/Berlin or America/New_York',
    ]);
  });

  it('wants exactly one trigger, unique ids, known keys and sane limits', () => {
    // Tried: no trigger, two triggers, a duplicate id, an unknown key, max_instances 0, a negative grace, an id with a space.
    const problems = problemsOf({
      schedules: [
        { id: 'none', method: 'm' },
        { id: 'two', cron: '* * * * *', every: '1m', method: 'm' },
        { id: 'none', every: '1m', method: 'm' },
        { id: 'x', every: '1m', method: 'm', colour: 'red', max_instances: 0, misfire_grace_time_s: -1 },
        { id: 'has space', every: '1m', method: 'm' },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'schedules[0]: got {"id":"none","method":"m"}, expected exactly one of cron, every or at',
        'schedules[1].every: got "1m", expected exactly one of cron, every or at',
        'schedules[2].id: got "none", expected an id no other schedule has',
        'schedules[3].colour: got "red", expected no such key (unknown key; check its spelling)',
        expect.stringMatching(/^schedules\[3\]\.max_instances: got 0, expected/),
        expect.stringMatching(/^schedules\[3\]\.misfire_grace_time_s: got -1, expected/),
        'schedules[4].id: got "has space", expected 1-64 letters, digits, _ . : or -',
      ]),
    );
  });
});
