import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventTimestamp, parseIsoTime, renderTime } from '../../src/discord/embeds/format.ts';
import { schedulerStartedEmbed } from '../../src/discord/embeds/index.ts';

// This file runs in its own worker process (vitest forks): the bot host's zone is India (UTC+5:30),
// where Date.parse('2026-03-01T12:00:00') is 06:30 UTC. A naive timestamp must still be read as UTC.
const previousTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'Asia/Kolkata';
});
afterAll(() => {
  if (previousTz === undefined) delete process.env.TZ;
  else process.env.TZ = previousTz;
});

const noon = Date.UTC(2026, 2, 1, 12, 0, 0);

describe('timestamps without a zone are UTC, whatever TZ the host has', () => {
  it('the host zone really is +05:30 here (else this file would prove nothing)', () => {
    expect(new Date(noon).getTimezoneOffset()).toBe(-330);
    expect(Date.parse('2026-03-01T12:00:00')).toBe(noon - 5.5 * 3_600_000);
  });

  it.each([
    ['2026-03-01T12:00:00', noon],
    ['2026-03-01 12:00:00', noon],
    ['2026-03-01T12:00', noon],
    ['2026-03-01T12:00:00.123456', noon + 123],
    ['2026-03-01T12:00:00Z', noon],
    ['2026-03-01T12:00:00.123456+00:00', noon + 123],
    ['2026-03-01T17:30:00+05:30', noon],
    ['2026-03-01T17:30:00+0530', noon],
    ['2026-03-01T17:00:00+05', noon],
    ['2026-03-01', Date.UTC(2026, 2, 1)],
  ])('%s → %s', (text, ms) => {
    expect(parseIsoTime(text)).toBe(ms);
  });

  it('a naive scheduler.started time is the embed time and <t:…> markup as UTC, and says it was read as UTC', () => {
    const event = { topic: 'scheduler.started', data: { deployment: 'prod', timestamp: '2026-03-01T12:00:00' }, meta: { receivedAt: 0 } };
    expect(eventTimestamp(event)).toBe('2026-03-01T12:00:00.000Z');
    expect(schedulerStartedEmbed(event).timestamp).toBe('2026-03-01T12:00:00.000Z');
    expect(renderTime('2026-03-01T12:00:00')).toBe(`<t:${noon / 1000}:f> (<t:${noon / 1000}:R>)\n\`2026-03-01T12:00:00\` (no zone given: read as UTC)`);
    expect(renderTime('2026-03-01T12:00:00+00:00')).toBe(`<t:${noon / 1000}:f> (<t:${noon / 1000}:R>)\n\`2026-03-01T12:00:00+00:00\``);
  });
});
