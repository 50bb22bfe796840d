import { describe, expect, it } from 'vitest';
import { embedForEvent, jobFailedEmbed, jobMissedEmbed } from '../../src/discord/embeds/index.ts';
import { decodeMessage } from '../../src/transport/codec.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { embedText } from '../helpers/bot.ts';
import { embedProblems } from '../helpers/embed-checks.ts';

const now = Date.UTC(2026, 11, 1, 9, 30, 5);

// A ScheduleZero broker frame (as pyzmq send_json writes it) carrying `JobReleased <body>`.
function brokerEvent(body: Record<string, unknown>): ZmqEvent {
  const payload = Buffer.from(`JobReleased ${JSON.stringify(body)}`, 'utf8').toString('base64');
  const result = decodeMessage([Buffer.from(`{"type": "event", "instance_id": "scheduler-1", "pid": 1, "payload": "${payload}"}`)], { maxPayloadBytes: 1_048_576, now });
  if (!result.ok) throw new Error(result.malformed.detail);
  return result.event;
}

const released = {
  timestamp: '2026-12-01T09:30:02.623456+00:00',
  job_id: '5b0e8a3c-1f2d-4c6b-9e7a-2d4f6a8b0c1e',
  scheduler_id: 'host-1',
  task_id: 'job_executor',
  schedule_id: 'backup_run_1',
  scheduled_start: '2026-12-01T09:30:00.123456+00:00',
  started_at: '2026-12-01T09:30:00.127777+00:00',
  outcome: 'error',
  exception_type: 'Exception',
  exception_message: 'Handler returned error: ディスクがいっぱい',
  exception_traceback: ['  File "x.py", line 1, in run\n    boom()\n', '  File "y.py", line 2, in boom\n    raise Exception(msg)\n'],
};

describe('embeds of ScheduleZero events', () => {
  it('a failed JobReleased: the schedule id as the job, "Exception: <message>" and the joined traceback, times as <t:…>, and not the raw body', () => {
    const embed = jobFailedEmbed(brokerEvent(released));
    const text = embedText(embed);
    expect(embed.title).toBe('❌ Job failed: backup_run_1');
    expect(embed.fields?.find((f) => f.name === 'Error')?.value).toBe('Exception: Handler returned error: ディスクがいっぱい');
    expect(embed.description).toContain('  File "x.py", line 1, in run\n    boom()\n  File "y.py", line 2, in boom\n    raise Exception(msg)');
    expect(embed.fields?.find((f) => f.name === 'scheduled_start')?.value).toContain(`<t:${Math.floor(Date.parse(released.scheduled_start) / 1000)}:f>`);
    expect(embed.timestamp).toBe('2026-12-01T09:30:02.623Z');
    expect(text).not.toContain('schedulezero');
    expect(text).not.toContain('exception_traceback');
    expect(embedProblems(embed)).toEqual([]);
  });

  it('job.missed: a run that never started, due at <t:…>, in warning orange, by embedForEvent', () => {
    const event = brokerEvent({ ...released, outcome: 'missed_start_deadline', started_at: null, exception_type: null, exception_message: null, exception_traceback: null });
    const embed = embedForEvent(event);
    expect(embed).toEqual(jobMissedEmbed(event));
    expect(embed.title).toBe('⏰ Job missed: backup_run_1');
    const unix = Math.floor(Date.parse(released.scheduled_start) / 1000);
    expect(embed.description).toBe(`This run never started (it was due <t:${unix}:f> (<t:${unix}:R>)): it missed its start deadline.`);
    expect(embed.fields?.find((f) => f.name === 'Scheduled start')?.value).toContain(`<t:${unix}:f>`);
    expect(embedProblems(embed)).toEqual([]);
  });
});
