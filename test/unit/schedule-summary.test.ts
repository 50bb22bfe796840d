import { describe, expect, it } from 'vitest';
import { parseParams } from '../../src/discord/commands/schedule.ts';
import { scheduleLine, scheduleSummaryEmbed } from '../../src/discord/commands/schedule-summary.ts';
import { embedLength, EmbedLimits } from '../../src/discord/embeds/limits.ts';
import type { ScheduleView } from '../../src/jobs/scheduler/job-scheduler.ts';
import { ScheduleError } from '../../src/jobs/scheduler/job-scheduler.ts';
import type { ScheduleDefinition } from '../../src/jobs/scheduler/schedule.ts';
import { createTrigger, type TriggerSpec } from '../../src/jobs/scheduler/trigger.ts';

function view(id: string, spec: TriggerSpec, nextRunAt: number | null, extra: Partial<ScheduleView> = {}, payload: Partial<ScheduleDefinition> = {}): ScheduleView {
  return {
    id,
    trigger: createTrigger(spec, 0),
    policy: { coalesce: false, maxInstances: 3, misfireGraceMs: 15_000 },
    payload: { id, trigger: spec, method: 'send_message', params: {}, sendAlert: false, overrides: {}, origin: 'config', ...payload },
    paused: false,
    nextRunAt,
    lastRunAt: null,
    running: 0,
    counts: { runs: 0, failed: 0, missed: 0, skipped: 0 },
    ...extra,
  };
}

const t = (iso: string): number => Date.parse(iso);

describe('/schedule list: the job summary', () => {
  it('groups by cron, date and interval, each sorted by next run, with times as <t:…> markup', () => {
    const embed = scheduleSummaryEmbed(
      [
        view('tick', { every: '10s', timezone: 'UTC' }, t('2026-12-01T10:00:10Z')),
        view('late', { cron: '0 18 * * *', timezone: 'Asia/Jerusalem' }, t('2026-12-01T16:00:00Z')),
        view('xmas', { at: '2026-12-24T18:00:00', timezone: 'America/New_York' }, t('2026-12-24T23:00:00Z')),
        view('early', { cron: '30 7 * * 1-5', timezone: 'America/New_York' }, t('2026-12-01T12:30:00Z'), {}, { sendAlert: true, origin: 'discord' }),
        view('paused', { cron: '* * * * *', timezone: 'UTC' }, t('2026-12-01T10:01:00Z'), { paused: true }),
      ],
      'UTC',
    );
    expect(embed.title).toBe('Scheduled jobs (5)');
    expect(embed.fields?.map((f) => f.name)).toEqual(['⏰ Cron (3)', '📅 Date (1)', '🔁 Interval (1)']);
    const cron = embed.fields?.[0]?.value.split('\n') ?? [];
    expect(cron.map((line) => /\*\*(\w+)\*\*/.exec(line)?.[1])).toEqual(['paused', 'early', 'late']);
    const early = Math.floor(t('2026-12-01T12:30:00Z') / 1000);
    expect(cron[1]).toBe(`**early** · \`30 7 * * 1-5\` America/New_York · \`send_message\` · next <t:${early}:f> (<t:${early}:R>) · added from Discord · 🔔`);
    expect(cron[0]).toMatch(/^⏸️ \*\*paused\*\* .* · \*\*paused\*\*$/);
    expect(embed.fields?.[2]?.value).toContain('**tick** · every `10s`');
  });

  it('says how many runs failed, were missed or skipped since start', () => {
    const line = scheduleLine(view('busy', { every: '1m', timezone: 'UTC' }, t('2026-12-01T10:00:00Z'), { counts: { runs: 9, failed: 2, missed: 0, skipped: 3 } }));
    expect(line).toMatch(/ · ⚠️ 2 failed, 3 skipped since start$/);
    expect(scheduleLine(view('calm', { every: '1m', timezone: 'UTC' }, t('2026-12-01T10:00:00Z')))).not.toContain('⚠️');
  });

  it('a one-shot that ran says when; nothing scheduled says how to add one', () => {
    expect(scheduleLine(view('once', { at: '2026-01-01T00:00:00Z', timezone: 'UTC' }, null, { lastRunAt: t('2026-01-01T00:00:00Z') }))).toContain('ran <t:1767225600:f>');
    expect(scheduleSummaryEmbed([], 'Asia/Jerusalem')).toMatchObject({ title: 'Scheduled jobs (0)', description: expect.stringContaining('/schedule add'), fields: [] });
  });

  it('500 schedules with long names fit one embed, and the rest are counted', () => {
    const views = Array.from({ length: 500 }, (_, i) => view(`job-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`, { every: `${i + 1}m`, timezone: 'UTC' }, t('2026-12-01T10:00:00Z') + i * 60_000));
    const embed = scheduleSummaryEmbed(views, 'UTC');
    expect(embedLength(embed)).toBeLessThanOrEqual(EmbedLimits.total);
    expect(embed.fields?.every((f) => f.value.length <= EmbedLimits.fieldValue)).toBe(true);
    const shown = (embed.fields ?? []).filter((f) => f.name !== '…').flatMap((f) => f.value.split('\n')).length;
    expect(embed.fields?.at(-1)?.value).toBe(`and ${500 - shown} more: \`zmq-notify schedules\` lists them all`);
  });
});

describe('/schedule add params', () => {
  it('reads a JSON object; an empty option is no params', () => {
    expect(parseParams('{"channel_id": "123456789012345678", "content": "Hi", "n": 3}')).toEqual({ channel_id: '123456789012345678', content: 'Hi', n: 3 });
    expect(parseParams(null)).toEqual({});
    expect(parseParams('  ')).toEqual({});
  });

  it('refuses what is not a JSON object, and an unquoted Discord ID that a number would round', () => {
    // Tried: broken JSON, an array, a string, null, a 19-digit number (rounds to ...800), nested too.
    for (const bad of ['{channel_id: 1}', '[1, 2]', '"hello"', 'null']) expect(() => parseParams(bad)).toThrow(ScheduleError);
    expect(() => parseParams('{"channel_id": 1234567890123456789}')).toThrow(/too large to keep exactly.*put it in quotes/);
    expect(() => parseParams('{"embed": {"ids": [1, 1234567890123456789]}}')).toThrow(/too large/);
  });
});
