import { describe, expect, it } from 'vitest';
import type { APIEmbed } from 'discord.js';
import {
  Colors,
  digestEmbed,
  embedForEvent,
  embedLength,
  fitEmbed,
  genericEventEmbed,
  handlerPingEmbed,
  handlerRegisteredEmbed,
  handlerUnregisteredEmbed,
  jobExecutedEmbed,
  jobFailedEmbed,
  jobRemovedEmbed,
  jobScheduledEmbed,
  recoveredEmbed,
  repeatedFailureEmbed,
  schedulerBackEmbed,
  schedulerSilentEmbed,
  schedulerStartedEmbed,
  schedulerStoppedEmbed,
} from '../../src/discord/embeds/index.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { discordEmbedLength, embedProblems } from '../helpers/embed-checks.ts';

const RECEIVED = Date.UTC(2025, 0, 2, 3, 4, 5);

function event(topic: string, data: Record<string, unknown>, meta: Partial<ZmqEvent['meta']> = {}): ZmqEvent {
  return { topic, data, meta: { receivedAt: RECEIVED, ...meta } };
}

function fieldValue(embed: APIEmbed, name: string): string | undefined {
  return embed.fields?.find((f) => f.name === name)?.value;
}

function allText(embed: APIEmbed): string {
  return [embed.title, embed.description, embed.footer?.text, ...(embed.fields ?? []).flatMap((f) => [f.name, f.value])].join('\n');
}

// A Python traceback of about 50 KB whose last line is the one that matters.
const HUGE_TRACEBACK =
  'Traceback (most recent call last):\n' +
  Array.from({ length: 700 }, (_, i) => `  File "/srv/jobs/etl.py", line ${i + 1}, in step_${i}\n    result = run(step_${i})`).join('\n') +
  '\nRuntimeError: database connection lost';

describe('job.failed embed', () => {
  it('shows name, id, error, retries and the traceback in a closed py code block, in red', () => {
    const embed = jobFailedEmbed(
      event('job.failed', { job_id: 'j-17', job_name: 'nightly-etl', error: 'connection refused', retry_count: 2, traceback: 'Traceback:\n  boom\nValueError: x' }),
    );
    expect(embed.color).toBe(Colors.failure);
    expect(embed.title).toContain('nightly-etl');
    expect(fieldValue(embed, 'Job ID')).toBe('`j-17`');
    expect(fieldValue(embed, 'Retries')).toBe('2');
    expect(fieldValue(embed, 'Error')).toBe('connection refused');
    expect(embed.description).toBe('```py\nTraceback:\n  boom\nValueError: x\n```');
    expect(embed.timestamp).toBe(new Date(RECEIVED).toISOString());
    expect(embedProblems(embed)).toEqual([]);
  });

  it('puts the error in the description when there is no traceback', () => {
    const embed = jobFailedEmbed(event('job.failed', { job_name: 'a', error: 'disk full' }));
    expect(embed.description).toBe('disk full');
    expect(fieldValue(embed, 'Error')).toBeUndefined();
  });

  it('a 50 KB traceback and an error with @everyone @here <@&123> give a valid embed: marker, closed block, no pings, last line kept', () => {
    const error = `boom @everyone @here <@&123> <@456> ${'e'.repeat(5000)}`;
    const embed = jobFailedEmbed(event('job.failed', { job_id: 1, job_name: 'etl', error, retry_count: 5, traceback: HUGE_TRACEBACK }));
    expect(HUGE_TRACEBACK.length).toBeGreaterThan(50_000);
    expect(embedProblems(embed)).toEqual([]);
    expect(embed.description).toMatch(/^… \[truncated [\d,]+ chars\]\n```py\n/);
    expect(embed.description).toMatch(/RuntimeError: database connection lost\n```$/);
    const removed = Number(/truncated ([\d,]+) chars/.exec(embed.description ?? '')![1]!.replaceAll(',', ''));
    const kept = embed.description!.split('```py\n')[1]!.replace(/\n```$/, '');
    expect(removed + kept.length).toBe(HUGE_TRACEBACK.length);
    expect(fieldValue(embed, 'Error')).toMatch(/… \[truncated [\d,]+ chars\]$/);
    const text = allText(embed);
    expect(text).not.toMatch(/@everyone|@here|<@&123>|<@456>/);
    expect(text).toContain('@\u200beveryone');
  });

  it('a traceback containing ``` cannot close its code block early', () => {
    const embed = jobFailedEmbed(event('job.failed', { job_name: 'x', traceback: 'line 1\n```\n@everyone\nline 3' }));
    expect(embedProblems(embed)).toEqual([]);
    expect(embed.description!.startsWith('```py\n')).toBe(true);
    expect(embed.description!.endsWith('\n```')).toBe(true);
  });

  it('renders numbers, null, booleans and objects in payload fields sensibly', () => {
    const embed = jobFailedEmbed(
      event('job.failed', {
        job_id: 42,
        job_name: null,
        retry_count: null,
        error: { type: 'ValueError', args: [1, 2] },
        host: 'worker-3',
        exit_code: 137,
        critical: true,
        nothing: null,
        tags: ['a', 'b'],
        context: { user: 'x', nested: { deep: [1, null] } },
        empty: '',
      }),
    );
    expect(embedProblems(embed)).toEqual([]);
    expect(embed.title).toBe('❌ Job failed: 42');
    expect(fieldValue(embed, 'Job ID')).toBe('`42`');
    expect(fieldValue(embed, 'Retries')).toBe('*null*');
    expect(embed.description).toContain('"ValueError"');
    expect(fieldValue(embed, 'host')).toBe('worker-3');
    expect(fieldValue(embed, 'exit_code')).toBe('137');
    expect(fieldValue(embed, 'critical')).toBe('true');
    expect(fieldValue(embed, 'nothing')).toBe('*null*');
    expect(fieldValue(embed, 'tags')).toBe('`a`, `b`');
    expect(fieldValue(embed, 'context')).toMatch(/^```json\n\{[\s\S]*"deep"[\s\S]*\}\n```$/);
    expect(fieldValue(embed, 'empty')).toBe('*(empty)*');
  });

  it('a payload with 200 extra fields of 2 KB each stays within every limit and says how many were left out', () => {
    const data: Record<string, unknown> = { job_name: 'wide', error: 'x' };
    for (let i = 0; i < 200; i++) data[`k${i}`] = 'v'.repeat(2000);
    const embed = jobFailedEmbed(event('job.failed', data));
    expect(embedProblems(embed)).toEqual([]);
    expect(embed.fields!.at(-1)!.value).toMatch(/more payload fields not shown/);
  });
});

describe('timestamps and footer', () => {
  it('prefers meta.ts, then data.timestamp, then receivedAt, using only valid ISO-8601', () => {
    const viaMeta = jobRemovedEmbed(event('job.removed', { timestamp: '2024-02-02T00:00:00Z' }, { ts: '2024-01-01T10:00:00.123456+00:00' }));
    expect(viaMeta.timestamp).toBe('2024-01-01T10:00:00.123Z');
    const viaData = jobRemovedEmbed(event('job.removed', { timestamp: '2024-02-02T00:00:00Z' }, { ts: 'yesterday' }));
    expect(viaData.timestamp).toBe('2024-02-02T00:00:00.000Z');
    const viaReceived = jobRemovedEmbed(event('job.removed', { timestamp: 12345 }, { ts: '2024-13-45T99:00:00Z' }));
    expect(viaReceived.timestamp).toBe(new Date(RECEIVED).toISOString());
    const none = jobRemovedEmbed({ topic: 'job.removed', data: {}, meta: { receivedAt: Number.NaN } });
    expect(none.timestamp).toBeUndefined();
  });

  it('names the topic, source and sequence number in the footer when present', () => {
    expect(jobRemovedEmbed(event('job.removed', {}, { src: 'sched-1', seq: 99 })).footer?.text).toBe('job.removed · src sched-1 · seq 99');
    expect(jobRemovedEmbed(event('job.removed', {})).footer?.text).toBe('job.removed');
  });
});

describe('other event kinds', () => {
  it('job.executed: green, human duration, result', () => {
    const embed = jobExecutedEmbed(event('job.executed', { job_id: 'a', job_name: 'report', duration: 125.3, result: { rows: 10 } }));
    expect(embed.color).toBe(Colors.success);
    expect(fieldValue(embed, 'Duration')).toBe('2 min 05 s');
    expect(fieldValue(embed, 'Result')).toContain('"rows": 10');
    expect(jobExecutedEmbed(event('job.executed', { duration: 0.25 })).fields!.find((f) => f.name === 'Duration')!.value).toBe('250 ms');
    expect(jobExecutedEmbed(event('job.executed', { duration: 'n/a' })).fields!.find((f) => f.name === 'Duration')!.value).toBe('n/a');
    expect(embedProblems(embed)).toEqual([]);
  });

  it('job.scheduled: the next run as Discord time markup, a non-date shown as it is', () => {
    const embed = jobScheduledEmbed(event('job.scheduled', { job_name: 'r', next_run_time: '2030-01-01T00:00:00Z' }));
    expect(fieldValue(embed, 'Next run')).toContain('<t:1893456000:f>');
    expect(fieldValue(jobScheduledEmbed(event('job.scheduled', { next_run_time: 'soon' })), 'Next run')).toBe('soon');
    expect(embed.color).toBe(Colors.info);
  });

  it('job.removed, handler.*, scheduler.*: titles, colours and fields', () => {
    expect(jobRemovedEmbed(event('job.removed', { job_id: 'z' })).title).toBe('🗑️ Job removed: z');
    const registered = handlerRegisteredEmbed(event('handler.registered', { handler_id: 'h1', address: 'tcp://10.0.0.1:5000', methods: ['run', 'stop'] }));
    expect(registered.title).toContain('h1');
    expect(fieldValue(registered, 'Address')).toBe('tcp://10.0.0.1:5000');
    expect(fieldValue(registered, 'Methods')).toBe('`run`, `stop`');
    expect(handlerUnregisteredEmbed(event('handler.unregistered', { handler_id: 'h1' })).color).toBe(Colors.warning);
    expect(handlerPingEmbed(event('handler.ping', { handler_id: 'h1', status: 'ok' })).color).toBe(Colors.success);
    expect(handlerPingEmbed(event('handler.ping', { handler_id: 'h1', status: 'down' })).color).toBe(Colors.failure);
    expect(handlerPingEmbed(event('handler.ping', { handler_id: 'h1', status: { load: 3 } })).color).toBe(Colors.neutral);
    const started = schedulerStartedEmbed(event('scheduler.started', { deployment: 'prod', timestamp: '2024-05-05T05:05:05Z' }));
    expect(started.title).toBe('🟢 Scheduler started: prod');
    expect(started.timestamp).toBe('2024-05-05T05:05:05.000Z');
    expect(schedulerStoppedEmbed(event('scheduler.stopped', {})).color).toBe(Colors.failure);
  });

  it('embedForEvent picks the builder by topic and falls back to the generic embed', () => {
    expect(embedForEvent(event('job.failed', { job_name: 'x' })).color).toBe(Colors.failure);
    expect(embedForEvent(event('scheduler.heartbeat', { deployment: 'p' })).title).toBe('📨 scheduler.heartbeat');
    expect(embedForEvent(event('toString', {})).title).toBe('📨 toString');
  });

  it('generic embed: every field shown, 40 fields of 500 chars still within limits with a note', () => {
    const data = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key${i}`, 'v'.repeat(500)]));
    const embed = genericEventEmbed(event('custom.thing', data));
    expect(embedProblems(embed)).toEqual([]);
    expect(embed.fields!.length).toBeLessThanOrEqual(25);
    expect(embed.fields!.at(-1)!.value).toMatch(/more payload fields not shown/);
    expect(genericEventEmbed(event('custom.empty', {})).description).toBe('*Empty payload.*');
  });
});

describe('watchdog, recovery and repeat builders', () => {
  it('scheduler silent / back', () => {
    const silent = schedulerSilentEmbed({ deployment: 'prod', src: 'pub-1', lastSeenAt: RECEIVED, silentForMs: 125_000, expectedIntervalMs: 30_000, now: RECEIVED + 125_000 });
    expect(silent.title).toBe('⚠️ Scheduler silent: prod');
    expect(silent.description).toContain('2 min 05 s');
    expect(silent.description).toContain('expected every 30.0 s');
    expect(silent.timestamp).toBe(new Date(RECEIVED + 125_000).toISOString());
    const back = schedulerBackEmbed({ src: 'pub-1', silentForMs: 190_000, now: RECEIVED });
    expect(back.title).toBe('✅ Scheduler back: pub-1');
    expect(back.description).toContain('3 min 10 s');
    expect(embedProblems(silent)).toEqual([]);
    expect(embedProblems(back)).toEqual([]);
  });

  it('recovered: names the failures it recovered from', () => {
    const embed = recoveredEmbed(event('job.executed', { job_id: 'j', job_name: 'etl', duration: 3 }), { count: 4, firstAt: RECEIVED - 600_000, lastError: 'timeout @here' });
    expect(embed.title).toBe('✅ Job recovered: etl');
    expect(embed.description).toContain('**4 times**');
    expect(fieldValue(embed, 'Last error')).toBe('timeout @\u200bhere');
    expect(embedProblems(embed)).toEqual([]);
  });

  it('repeated failure: "failed N times in the last M minutes; last error …" with the last traceback, within limits', () => {
    const last = event('job.failed', { job_id: 'j', job_name: 'etl', error: 'still broken <@&1>', traceback: HUGE_TRACEBACK });
    const embed = repeatedFailureEmbed(last, { count: 12, windowMs: 600_000 });
    expect(embed.description).toMatch(/^Failed \*\*12 times\*\* in the last 10 min 00 s; last error: still broken <@\u200b&1>/);
    expect(embed.description).toContain('RuntimeError: database connection lost');
    expect(fieldValue(embed, 'Failures')).toBe('12');
    expect(embedProblems(embed)).toEqual([]);
  });
});

describe('digest embed', () => {
  it('counts by topic, names the first jobs, and is red when it hides failures', () => {
    const embed = digestEmbed({
      count: 491,
      topics: [{ topic: 'job.failed', count: 480 }, { topic: 'job.executed', count: 11 }],
      otherTopics: 0,
      labels: [{ label: 'etl-1', count: 3 }, { label: 'etl-2', count: 1 }],
      otherLabels: 470,
      firstAt: RECEIVED,
      lastAt: RECEIVED + 5000,
    });
    expect(embed.title).toBe('📦 491 more events (digest)');
    expect(fieldValue(embed, 'By topic')).toBe('`job.failed` × 480\n`job.executed` × 11');
    expect(fieldValue(embed, 'Jobs')).toBe('`etl-1` ×3, `etl-2`, and 470 more');
    expect(embed.color).toBe(Colors.failure);
    expect(embedProblems(embed)).toEqual([]);
  });
});

describe('embedLength and fitEmbed', () => {
  it('embedLength counts title, description, field names and values, footer text and author name', () => {
    const embed: APIEmbed = {
      title: 'abc',
      description: 'defg',
      fields: [{ name: 'h', value: 'ij' }],
      footer: { text: 'klmno' },
      author: { name: 'pq' },
      url: 'https://not-counted.example',
    };
    expect(embedLength(embed)).toBe(3 + 4 + 1 + 2 + 5 + 2);
    expect(embedLength({})).toBe(0);
  });

  it('fits a hostile embed (oversized everything, 30 fields, empty names) within every limit', () => {
    const embed = fitEmbed({
      title: 't'.repeat(1000),
      description: `\`\`\`\n${'d'.repeat(10_000)}`,
      fields: Array.from({ length: 30 }, (_, i) => ({ name: i === 0 ? '' : 'n'.repeat(300), value: i === 1 ? ' ' : 'v'.repeat(2000) })),
      footer: { text: 'f'.repeat(3000) },
      author: { name: 'a'.repeat(400) },
    });
    expect(embedProblems(embed)).toEqual([]);
    expect(discordEmbedLength(embed)).toBeLessThanOrEqual(6000);
    expect(embed.fields!.at(-1)!.value).toMatch(/more fields? not shown/);
  });

  it('never splits a surrogate pair when cutting', () => {
    const embed = fitEmbed({ title: '😀'.repeat(200) });
    expect(embedProblems(embed)).toEqual([]);
  });
});
