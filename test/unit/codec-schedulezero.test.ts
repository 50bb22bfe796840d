import { describe, expect, it } from 'vitest';
import { decodeMessage, type DecodeResult } from '../../src/transport/codec.ts';
import { BROKER_FRAME_PREFIX, decodeBrokerMessage } from '../../src/transport/codec-schedulezero.ts';

// Byte-exact frames as ScheduleZero's ZMQEventBroker sends them (pyzmq send_json: json.dumps default
// separators, ensure_ascii=True; payload = base64 of b"<EventClass> " + json.dumps(body,
// ensure_ascii=False)), made by test/fixtures/schedulezero_broker.py's own functions with a fixed
// clock (2026-12-01T09:30:00.123456+00:00) and job id. The error message holds Japanese and
// accented text, so the base64 carries raw UTF-8.
const frames = {
  error:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iUmVsZWFzZWQgeyJ0aW1lc3RhbXAiOiAiMjAyNi0xMi0wMVQwOTozMDowMi42MjM0NTYrMDA6MDAiLCAiam9iX2lkIjogIjViMGU4YTNjLTFmMmQtNGM2Yi05ZTdhLTJkNGY2YThiMGMxZSIsICJzY2hlZHVsZXJfaWQiOiAiaG9zdC0xNzk2MCIsICJ0YXNrX2lkIjogImpvYl9leGVjdXRvciIsICJzY2hlZHVsZV9pZCI6ICJiYWNrdXAtaGFuZGxlcl9ydW5fYmFja3VwXzE3NjQ1ODE0MDAuMTIzNDU2IiwgInNjaGVkdWxlZF9zdGFydCI6ICIyMDI2LTEyLTAxVDA5OjMwOjAwLjEyMzQ1NiswMDowMCIsICJzdGFydGVkX2F0IjogIjIwMjYtMTItMDFUMDk6MzA6MDAuMTI3Nzc3KzAwOjAwIiwgIm91dGNvbWUiOiAiZXJyb3IiLCAiZXhjZXB0aW9uX3R5cGUiOiAiRXhjZXB0aW9uIiwgImV4Y2VwdGlvbl9tZXNzYWdlIjogIkhhbmRsZXIgcmV0dXJuZWQgZXJyb3I6IFtFcnJubyAyOF0gTm8gc3BhY2UgbGVmdCBvbiBkZXZpY2U6ICcvdmFyL2JhY2t1cHMv44OH44O844K/JyDigJQgw6ljaGVjIiwgImV4Y2VwdGlvbl90cmFjZWJhY2siOiBbIiAgRmlsZSBcIi9vcHQvc3ovc3JjL3NjaGVkdWxlX3plcm8vam9iX2V4ZWN1dG9yLnB5XCIsIGxpbmUgOTEsIGluIGV4ZWN1dGVcbiAgICByYWlzZSBFeGNlcHRpb24oZlwiSGFuZGxlciByZXR1cm5lZCBlcnJvcjoge2Vycm9yfVwiKVxuIl19"}',
  success:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iUmVsZWFzZWQgeyJ0aW1lc3RhbXAiOiAiMjAyNi0xMi0wMVQwOTozMDowMi42MjM0NTYrMDA6MDAiLCAiam9iX2lkIjogIjViMGU4YTNjLTFmMmQtNGM2Yi05ZTdhLTJkNGY2YThiMGMxZSIsICJzY2hlZHVsZXJfaWQiOiAiaG9zdC0xNzk2MCIsICJ0YXNrX2lkIjogImpvYl9leGVjdXRvciIsICJzY2hlZHVsZV9pZCI6ICJiYWNrdXAtaGFuZGxlcl9ydW5fYmFja3VwXzE3NjQ1ODE0MDAuMTIzNDU2IiwgInNjaGVkdWxlZF9zdGFydCI6ICIyMDI2LTEyLTAxVDA5OjMwOjAwLjEyMzQ1NiswMDowMCIsICJzdGFydGVkX2F0IjogIjIwMjYtMTItMDFUMDk6MzA6MDAuMTI3Nzc3KzAwOjAwIiwgIm91dGNvbWUiOiAic3VjY2VzcyIsICJleGNlcHRpb25fdHlwZSI6IG51bGwsICJleGNlcHRpb25fbWVzc2FnZSI6IG51bGwsICJleGNlcHRpb25fdHJhY2ViYWNrIjogbnVsbH0="}',
  missed:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iUmVsZWFzZWQgeyJ0aW1lc3RhbXAiOiAiMjAyNi0xMi0wMVQwOTozMDowMi42MjM0NTYrMDA6MDAiLCAiam9iX2lkIjogIjViMGU4YTNjLTFmMmQtNGM2Yi05ZTdhLTJkNGY2YThiMGMxZSIsICJzY2hlZHVsZXJfaWQiOiAiaG9zdC0xNzk2MCIsICJ0YXNrX2lkIjogImpvYl9leGVjdXRvciIsICJzY2hlZHVsZV9pZCI6ICJiYWNrdXAtaGFuZGxlcl9ydW5fYmFja3VwXzE3NjQ1ODE0MDAuMTIzNDU2IiwgInNjaGVkdWxlZF9zdGFydCI6ICIyMDI2LTEyLTAxVDA5OjMwOjAwLjEyMzQ1NiswMDowMCIsICJzdGFydGVkX2F0IjogbnVsbCwgIm91dGNvbWUiOiAibWlzc2VkX3N0YXJ0X2RlYWRsaW5lIiwgImV4Y2VwdGlvbl90eXBlIjogbnVsbCwgImV4Y2VwdGlvbl9tZXNzYWdlIjogbnVsbCwgImV4Y2VwdGlvbl90cmFjZWJhY2siOiBudWxsfQ=="}',
  cancelled:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iUmVsZWFzZWQgeyJ0aW1lc3RhbXAiOiAiMjAyNi0xMi0wMVQwOTozMDowMi42MjM0NTYrMDA6MDAiLCAiam9iX2lkIjogIjViMGU4YTNjLTFmMmQtNGM2Yi05ZTdhLTJkNGY2YThiMGMxZSIsICJzY2hlZHVsZXJfaWQiOiAiaG9zdC0xNzk2MCIsICJ0YXNrX2lkIjogImpvYl9leGVjdXRvciIsICJzY2hlZHVsZV9pZCI6ICJiYWNrdXAtaGFuZGxlcl9ydW5fYmFja3VwXzE3NjQ1ODE0MDAuMTIzNDU2IiwgInNjaGVkdWxlZF9zdGFydCI6ICIyMDI2LTEyLTAxVDA5OjMwOjAwLjEyMzQ1NiswMDowMCIsICJzdGFydGVkX2F0IjogIjIwMjYtMTItMDFUMDk6MzA6MDAuMTI3Nzc3KzAwOjAwIiwgIm91dGNvbWUiOiAiY2FuY2VsbGVkIiwgImV4Y2VwdGlvbl90eXBlIjogbnVsbCwgImV4Y2VwdGlvbl9tZXNzYWdlIjogbnVsbCwgImV4Y2VwdGlvbl90cmFjZWJhY2siOiBudWxsfQ=="}',
  scheduleAdded:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "U2NoZWR1bGVBZGRlZCB7InRpbWVzdGFtcCI6ICIyMDI2LTEyLTAxVDA5OjMwOjAwLjEyMzQ1NiswMDowMCIsICJzY2hlZHVsZV9pZCI6ICJiYWNrdXAtaGFuZGxlcl9ydW5fYmFja3VwXzE3NjQ1ODE0MDAuMTIzNDU2IiwgInRhc2tfaWQiOiAiam9iX2V4ZWN1dG9yIiwgIm5leHRfZmlyZV90aW1lIjogIjIwMjYtMTItMDFUMTA6MzA6MDAuMTIzNDU2KzAwOjAwIn0="}',
  scheduleUpdatedDone:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "U2NoZWR1bGVVcGRhdGVkIHsidGltZXN0YW1wIjogIjIwMjYtMTItMDFUMDk6MzA6MDAuMTIzNDU2KzAwOjAwIiwgInNjaGVkdWxlX2lkIjogIm9uY2UiLCAidGFza19pZCI6ICJqb2JfZXhlY3V0b3IiLCAibmV4dF9maXJlX3RpbWUiOiBudWxsfQ=="}',
  scheduleRemoved:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "U2NoZWR1bGVSZW1vdmVkIHsidGltZXN0YW1wIjogIjIwMjYtMTItMDFUMDk6MzA6MDAuMTIzNDU2KzAwOjAwIiwgInNjaGVkdWxlX2lkIjogIm9uY2UiLCAidGFza19pZCI6ICJqb2JfZXhlY3V0b3IiLCAiZmluaXNoZWQiOiB0cnVlfQ=="}',
  jobAdded:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iQWRkZWQgeyJ0aW1lc3RhbXAiOiAiMjAyNi0xMi0wMVQwOTozMDowMC4xMjM0NTYrMDA6MDAiLCAiam9iX2lkIjogIjViMGU4YTNjLTFmMmQtNGM2Yi05ZTdhLTJkNGY2YThiMGMxZSIsICJ0YXNrX2lkIjogImpvYl9leGVjdXRvciIsICJzY2hlZHVsZV9pZCI6ICJiYWNrdXAtaGFuZGxlcl9ydW5fYmFja3VwXzE3NjQ1ODE0MDAuMTIzNDU2In0="}',
  jobAcquired:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iQWNxdWlyZWQgeyJ0aW1lc3RhbXAiOiAiMjAyNi0xMi0wMVQwOTozMDowMC4xMjM0NTYrMDA6MDAiLCAiam9iX2lkIjogIjViMGU4YTNjLTFmMmQtNGM2Yi05ZTdhLTJkNGY2YThiMGMxZSIsICJzY2hlZHVsZXJfaWQiOiAiaG9zdC0xNzk2MCIsICJ0YXNrX2lkIjogImpvYl9leGVjdXRvciIsICJzY2hlZHVsZV9pZCI6ICJiYWNrdXAtaGFuZGxlcl9ydW5fYmFja3VwXzE3NjQ1ODE0MDAuMTIzNDU2IiwgInNjaGVkdWxlZF9zdGFydCI6ICIyMDI2LTEyLTAxVDA5OjMwOjAwLjEyMzQ1NiswMDowMCJ9"}',
  taskAdded:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "VGFza0FkZGVkIHsidGltZXN0YW1wIjogIjIwMjYtMTItMDFUMDk6MzA6MDAuMTIzNDU2KzAwOjAwIiwgInRhc2tfaWQiOiAiam9iX2V4ZWN1dG9yIn0="}',
  unknownClass:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iRXhwbG9kZWQgeyJ0aW1lc3RhbXAiOiAiMjAyNi0xMi0wMVQwOTozMDowMC4xMjM0NTYrMDA6MDAiLCAiam9iX2lkIjogIjViMGU4YTNjLTFmMmQtNGM2Yi05ZTdhLTJkNGY2YThiMGMxZSJ9"}',
  heartbeat:
    '{"type": "heartbeat", "instance_id": "scheduler-17960", "pid": 17960, "address": "tcp://127.0.0.1:38887"}',
  shutdown:
    '{"type": "shutdown", "instance_id": "scheduler-17960", "pid": 17960}',
  corruptBase64:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iUmVsZWFzZWQge30*!"}',
  notJsonBody:
    '{"type": "event", "instance_id": "scheduler-17960", "pid": 17960, "payload": "Sm9iUmVsZWFzZWQgeyJ0aW1lc3RhbXAiOiAyMDI2LTEyLTAx"}',
} as const;

const now = 1_800_000_000_000;
const opts = { maxPayloadBytes: 1_048_576, now };
const scheduleId = 'backup-handler_run_backup_1764581400.123456';
const runId = '5b0e8a3c-1f2d-4c6b-9e7a-2d4f6a8b0c1e';

function decode(frame: string): DecodeResult {
  return decodeMessage([Buffer.from(frame, 'utf8')], opts);
}

function event(frame: string) {
  const result = decode(frame);
  if (!result.ok) throw new Error(`expected an event, got ${result.malformed.kind}: ${result.malformed.detail}`);
  expect(result.malformed).toBeUndefined();
  return result.event;
}

function rejected(frame: string) {
  const result = decode(frame);
  if (result.ok) throw new Error(`expected a rejection, got ${result.event.topic}`);
  return result.malformed;
}

function body(frame: string): Record<string, unknown> {
  const payload = (JSON.parse(frame) as { payload: string }).payload;
  const text = Buffer.from(payload, 'base64').toString('utf8');
  return JSON.parse(text.slice(text.indexOf(' ') + 1)) as Record<string, unknown>;
}

describe('ScheduleZero broker codec: what each message becomes', () => {
  it('every frame starts with the prefix the Subscriber subscribes to', () => {
    for (const frame of Object.values(frames)) expect(frame.startsWith(BROKER_FRAME_PREFIX)).toBe(true);
  });

  it('JobReleased outcome "error" → job.failed: job_id = schedule_id, error = "<type>: <message>" (non-ASCII intact), traceback joined, run id, times, duration, the whole body under data.schedulezero', () => {
    const e = event(frames.error);
    expect(e.topic).toBe('job.failed');
    expect(e.meta).toEqual({ src: 'scheduler-17960', receivedAt: now });
    expect(e.data).toEqual({
      job_id: scheduleId,
      run_id: runId,
      task_id: 'job_executor',
      scheduled_start: '2026-12-01T09:30:00.123456+00:00',
      started_at: '2026-12-01T09:30:00.127777+00:00',
      duration: 2.496,
      outcome: 'error',
      error: "Exception: Handler returned error: [Errno 28] No space left on device: '/var/backups/データ' — échec",
      traceback: '  File "/opt/sz/src/schedule_zero/job_executor.py", line 91, in execute\n    raise Exception(f"Handler returned error: {error}")',
      timestamp: '2026-12-01T09:30:02.623456+00:00',
      schedulezero: { type: 'event', instance_id: 'scheduler-17960', pid: 17960, event: 'JobReleased', body: body(frames.error) },
    });
    expect((e.data.schedulezero as { body: Record<string, unknown> }).body.exception_traceback).toEqual([
      '  File "/opt/sz/src/schedule_zero/job_executor.py", line 91, in execute\n    raise Exception(f"Handler returned error: {error}")\n',
    ]);
  });

  it('JobReleased outcome "success" (null exception fields) → job.executed with duration, no error or traceback', () => {
    const e = event(frames.success);
    expect(e.topic).toBe('job.executed');
    expect(e.data).toMatchObject({ job_id: scheduleId, run_id: runId, duration: 2.496, outcome: 'success' });
    expect(e.data).not.toHaveProperty('error');
    expect(e.data).not.toHaveProperty('traceback');
  });

  it('JobReleased outcome "missed_start_deadline" (started_at null) → job.missed naming scheduled_start, no duration', () => {
    const e = event(frames.missed);
    expect(e.topic).toBe('job.missed');
    expect(e.data).toMatchObject({ job_id: scheduleId, run_id: runId, scheduled_start: '2026-12-01T09:30:00.123456+00:00', outcome: 'missed_start_deadline' });
    expect(e.data).not.toHaveProperty('started_at');
    expect(e.data).not.toHaveProperty('duration');
  });

  it('JobReleased outcome "cancelled" → job.cancelled', () => {
    expect(event(frames.cancelled)).toMatchObject({ topic: 'job.cancelled', data: { job_id: scheduleId, outcome: 'cancelled' } });
  });

  it('ScheduleAdded with a next fire time → job.scheduled with next_run_time; ScheduleUpdated without one → job.updated', () => {
    expect(event(frames.scheduleAdded)).toMatchObject({
      topic: 'job.scheduled',
      data: { job_id: scheduleId, task_id: 'job_executor', next_run_time: '2026-12-01T10:30:00.123456+00:00', timestamp: '2026-12-01T09:30:00.123456+00:00' },
    });
    const done = event(frames.scheduleUpdatedDone);
    expect(done.topic).toBe('job.updated');
    expect(done.data).not.toHaveProperty('next_run_time');
  });

  it('ScheduleRemoved → job.removed; JobAdded → job.added; JobAcquired → job.started; TaskAdded → job.task_added', () => {
    expect(event(frames.scheduleRemoved)).toMatchObject({ topic: 'job.removed', data: { job_id: 'once', finished: true } });
    expect(event(frames.jobAdded)).toMatchObject({ topic: 'job.added', data: { job_id: scheduleId, run_id: runId } });
    expect(event(frames.jobAcquired)).toMatchObject({ topic: 'job.started', data: { job_id: scheduleId, run_id: runId, scheduled_start: '2026-12-01T09:30:00.123456+00:00' } });
    expect(event(frames.taskAdded)).toMatchObject({ topic: 'job.task_added', data: { task_id: 'job_executor' } });
  });

  it('heartbeat → scheduler.heartbeat with deployment = instance_id and the arrival time; shutdown → scheduler.stopped', () => {
    expect(event(frames.heartbeat)).toEqual({
      topic: 'scheduler.heartbeat',
      data: {
        deployment: 'scheduler-17960',
        timestamp: new Date(now).toISOString(),
        schedulezero: { type: 'heartbeat', instance_id: 'scheduler-17960', pid: 17960, address: 'tcp://127.0.0.1:38887' },
      },
      meta: { src: 'scheduler-17960', receivedAt: now },
    });
    expect(event(frames.shutdown)).toMatchObject({ topic: 'scheduler.stopped', data: { deployment: 'scheduler-17960' }, meta: { src: 'scheduler-17960' } });
  });

  it('an instance_id of 100,000 characters is cut to 256 for meta.src and deployment (kept whole under data.schedulezero)', () => {
    const id = 'x'.repeat(100_000);
    const e = event(`{"type": "heartbeat", "instance_id": "${id}", "pid": 1, "address": "tcp://127.0.0.1:5555"}`);
    expect(e.meta.src).toBe('x'.repeat(256));
    expect(e.data.deployment).toBe('x'.repeat(256));
    expect((e.data.schedulezero as { instance_id: string }).instance_id).toHaveLength(100_000);
  });

  it('a failure without a schedule (run_now) is named by APScheduler\'s job id; "abandoned" is a failure saying what happened', () => {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    const frame = (cls: string, json: string) => `{"type": "event", "instance_id": "s", "pid": 1, "payload": "${b64(`${cls} ${json}`)}"}`;
    const abandoned = event(frame('JobReleased', '{"timestamp": "2026-12-01T09:30:00+00:00", "job_id": "j-1", "schedule_id": null, "started_at": null, "outcome": "abandoned", "exception_type": null}'));
    expect(abandoned.topic).toBe('job.failed');
    expect(abandoned.data).toMatchObject({ job_id: 'j-1', run_id: 'j-1', error: 'the worker running the job stopped unexpectedly and the job was never marked as done' });
  });
});

describe('ScheduleZero broker codec: bad input is rejected by kind, with a sample', () => {
  it('an unknown event class (JobExploded) → unknown_event_class, naming the class', () => {
    const m = rejected(frames.unknownClass);
    expect(m.kind).toBe('unknown_event_class');
    expect(m.detail).toContain('JobExploded');
    expect(m.sample.startsWith('JobExploded {')).toBe(true);
  });

  it('corrupt base64 ("Sm9iUmVsZWFzZWQge30*!") → bad_base64; a missing payload too', () => {
    expect(rejected(frames.corruptBase64)).toMatchObject({ kind: 'bad_base64', sample: frames.corruptBase64 });
    expect(rejected('{"type": "event", "instance_id": "s", "pid": 1}').kind).toBe('bad_base64');
  });

  it('a body that is not JSON ("JobReleased {\\"timestamp\\": 2026-12-01") → invalid_notification; no class name, or a body that is an array, too', () => {
    expect(rejected(frames.notJsonBody)).toMatchObject({ kind: 'invalid_notification' });
    expect(rejected(frames.notJsonBody).detail).toContain('JobReleased body is not JSON');
    const payload = (text: string) => `{"type": "event", "instance_id": "s", "pid": 1, "payload": "${Buffer.from(text).toString('base64')}"}`;
    expect(rejected(payload('no-space-here')).kind).toBe('invalid_notification');
    expect(rejected(payload('JobReleased [1, 2]')).kind).toBe('invalid_notification');
  });

  it('a body with invalid UTF-8 → invalid_notification', () => {
    const bytes = Buffer.concat([Buffer.from('JobReleased {"x": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expect(rejected(`{"type": "event", "instance_id": "s", "pid": 1, "payload": "${bytes.toString('base64')}"}`).kind).toBe('invalid_notification');
  });

  it('a type that is none of event/heartbeat/shutdown → unknown_message_type; a frame that is not JSON → invalid_json; not an object → not_object', () => {
    expect(rejected('{"type": "election", "instance_id": "s"}').kind).toBe('unknown_message_type');
    expect(rejected('{"type": "event", "payload": ').kind).toBe('invalid_json');
    expect(decodeBrokerMessage(Buffer.from('[1]'), now)).toMatchObject({ ok: false, malformed: { kind: 'not_object' } });
  });

  it('a frame larger than max_payload_bytes is not parsed (oversized); a one-frame message that is not JSON-shaped stays single_frame', () => {
    const big = `{"type": "heartbeat", "instance_id": "${'x'.repeat(2000)}"}`;
    expect(decodeMessage([Buffer.from(big)], { maxPayloadBytes: 1024, now })).toMatchObject({ ok: false, malformed: { kind: 'oversized' } });
    expect(decodeMessage([Buffer.from('job.failed')], opts)).toMatchObject({ ok: false, malformed: { kind: 'single_frame' } });
  });
});
