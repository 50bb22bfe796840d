import type { DecodeResult, MalformedFrame, MalformedKind } from './codec.ts';
import type { EventMeta } from '../pipeline/event.ts';
import { isObject } from '../shared/json.ts';

/**
 * The first bytes of every frame ScheduleZero's `ZMQEventBroker` sends: pyzmq's `send_json` of a
 * dict whose first key is `type`. The Subscriber subscribes to this prefix besides its topics, so
 * the broker's frames, which carry no topic, reach the decoder.
 */
export const BROKER_FRAME_PREFIX = '{"type"';

/** APScheduler 4 event classes the broker can publish; any other class name is `unknown_event_class`. */
export const apschedulerEventClasses = [
  'TaskAdded',
  'TaskUpdated',
  'TaskRemoved',
  'ScheduleAdded',
  'ScheduleUpdated',
  'ScheduleRemoved',
  'JobAdded',
  'JobRemoved',
  'ScheduleDeserializationFailed',
  'JobDeserializationFailed',
  'SchedulerStarted',
  'SchedulerStopped',
  'JobAcquired',
  'JobReleased',
] as const;

/** One APScheduler event class name. */
export type ApschedulerEventClass = (typeof apschedulerEventClasses)[number];

const eventClasses: ReadonlySet<string> = new Set(apschedulerEventClasses);

/** What the bot keeps of the broker's message under `data.schedulezero`, for custom handlers. */
export interface BrokerOriginal {
  type: string;
  instance_id?: string;
  pid?: unknown;
  /** Heartbeats: the broker's `publish_address`. */
  address?: unknown;
  /** Events: the APScheduler event class, e.g. `JobReleased`. */
  event?: string;
  /** Events: the APScheduler event body exactly as sent (its `marshal()`). */
  body?: Record<string, unknown>;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const CLASS_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const ZONED = /(?:Z|[+-]\d{2}:?\d{2})$/i;
const SAMPLE_CHARS = 200;
// The instance_id becomes meta.src, which the Subscriber remembers per publisher (up to 1,000 of
// them); an envelope's src is bounded by its 1 KiB frame, this one only by max_payload_bytes.
const MAX_SRC_CHARS = 256;

function sampleOf(text: string): string {
  return text.length <= SAMPLE_CHARS ? text : text.slice(0, SAMPLE_CHARS);
}

function reject(kind: MalformedKind, detail: string, sample: string): DecodeResult {
  const malformed: MalformedFrame = { kind, detail: `ScheduleZero broker message: ${detail}`, sample: sampleOf(sample) };
  return { ok: false, malformed };
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Seconds from `from` to `to` when both are ISO-8601 times with a zone (APScheduler's always are). */
function secondsBetween(from: unknown, to: unknown): number | undefined {
  if (typeof from !== 'string' || typeof to !== 'string' || !ZONED.test(from) || !ZONED.test(to)) return undefined;
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** APScheduler's traceback is a list of lines (`format_tb`, each ending in a newline); one text. */
function tracebackText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const lines = value.map((line) => (typeof line === 'string' ? line : JSON.stringify(line)));
  return lines.every((line) => line.endsWith('\n')) ? lines.join('').replace(/\n$/, '') : lines.join('\n');
}

function errorText(body: Record<string, unknown>, fallback: string): string {
  const type = typeof body.exception_type === 'string' ? body.exception_type : undefined;
  const message = typeof body.exception_message === 'string' ? body.exception_message : undefined;
  if (type !== undefined && message !== undefined) return `${type}: ${message}`;
  return message ?? type ?? fallback;
}

// A deserialization failure carries the exception itself, marshalled however the serializer could.
function exceptionText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return undefined;
  return JSON.stringify(value);
}

// What each JobReleased outcome that is not a plain success or error means, as an alert says it.
const OUTCOME_ERRORS: Readonly<Record<string, string>> = {
  deserialization_failed: 'the job could not be deserialized, so it never ran',
  abandoned: 'the worker running the job stopped unexpectedly and the job was never marked as done',
};

/** Catalog fields for one job run (`JobAcquired`, `JobReleased`): ScheduleZero's job id is the schedule id. */
function runFields(body: Record<string, unknown>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  // A job run without a schedule (run_now) has only APScheduler's id to name it.
  data.job_id = present(body.schedule_id) ? body.schedule_id : body.job_id;
  if (present(body.job_id)) data.run_id = body.job_id;
  if (present(body.task_id)) data.task_id = body.task_id;
  if (present(body.scheduled_start)) data.scheduled_start = body.scheduled_start;
  if (present(body.started_at)) data.started_at = body.started_at;
  return data;
}

function jobReleased(body: Record<string, unknown>): { topic: string; data: Record<string, unknown> } {
  const data = runFields(body);
  const duration = secondsBetween(body.started_at, body.timestamp);
  if (duration !== undefined) data.duration = duration;
  const outcome = typeof body.outcome === 'string' ? body.outcome : String(body.outcome);
  data.outcome = outcome;
  switch (outcome) {
    case 'success':
      return { topic: 'job.executed', data };
    case 'missed_start_deadline':
      return { topic: 'job.missed', data };
    case 'cancelled':
      return { topic: 'job.cancelled', data };
    case 'error':
    case 'deserialization_failed':
    case 'abandoned': {
      data.error = errorText(body, OUTCOME_ERRORS[outcome] ?? 'the job raised an exception (no message was sent)');
      const traceback = tracebackText(body.exception_traceback);
      if (traceback !== undefined) data.traceback = traceback;
      return { topic: 'job.failed', data };
    }
    default:
      // An outcome a later APScheduler adds: still delivered, as a job notice naming it.
      return { topic: 'job.released', data };
  }
}

/** The catalog topic and fields for one APScheduler event. */
function mapEvent(eventClass: ApschedulerEventClass, body: Record<string, unknown>, deployment: string | undefined): { topic: string; data: Record<string, unknown> } {
  switch (eventClass) {
    case 'JobReleased':
      return jobReleased(body);
    case 'JobAcquired':
      return { topic: 'job.started', data: runFields(body) };
    case 'JobAdded':
      return { topic: 'job.added', data: runFields(body) };
    case 'JobRemoved':
      return { topic: 'job.run_removed', data: runFields(body) };
    case 'ScheduleAdded':
    case 'ScheduleUpdated': {
      const data: Record<string, unknown> = { job_id: body.schedule_id, task_id: body.task_id };
      // A schedule without a next fire time will not run again (ScheduleRemoved follows).
      if (!present(body.next_fire_time)) return { topic: 'job.updated', data };
      data.next_run_time = body.next_fire_time;
      return { topic: 'job.scheduled', data };
    }
    case 'ScheduleRemoved':
      return { topic: 'job.removed', data: { job_id: body.schedule_id, task_id: body.task_id, finished: body.finished } };
    case 'TaskAdded':
      return { topic: 'job.task_added', data: { task_id: body.task_id } };
    case 'TaskUpdated':
      return { topic: 'job.task_updated', data: { task_id: body.task_id } };
    case 'TaskRemoved':
      return { topic: 'job.task_removed', data: { task_id: body.task_id } };
    case 'ScheduleDeserializationFailed':
      return {
        topic: 'job.failed',
        data: { job_id: body.schedule_id, error: `the schedule could not be deserialized: ${exceptionText(body.exception) ?? 'no detail sent'}` },
      };
    case 'JobDeserializationFailed':
      return {
        topic: 'job.failed',
        data: { job_id: body.job_id, run_id: body.job_id, error: `the job could not be deserialized: ${exceptionText(body.exception) ?? 'no detail sent'}` },
      };
    case 'SchedulerStarted':
      return { topic: 'scheduler.started', data: { deployment } };
    case 'SchedulerStopped': {
      const data: Record<string, unknown> = { deployment };
      const error = exceptionText(body.exception);
      if (error !== undefined) data.error = error;
      return { topic: 'scheduler.stopped', data };
    }
  }
}

/** Splits `b"<EventClass> " + JSON` into the class and the parsed body, or says why it cannot. */
function parseNotification(notification: Buffer): { eventClass: string; body: Record<string, unknown> } | { kind: MalformedKind; detail: string } {
  const space = notification.indexOf(0x20);
  const name = space < 0 ? '' : notification.subarray(0, space).toString('latin1');
  if (!CLASS_NAME.test(name)) return { kind: 'invalid_notification', detail: 'payload is not "<EventClass> <JSON>"' };
  let text: string;
  try {
    text = strictUtf8.decode(notification.subarray(space + 1));
  } catch {
    return { kind: 'invalid_notification', detail: `the ${name} body is not valid UTF-8` };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid_notification', detail: `the ${name} body is not JSON: ${(err as Error).message}` };
  }
  if (!isObject(body)) return { kind: 'invalid_notification', detail: `the ${name} body is not a JSON object` };
  return { eventClass: name, body };
}

/**
 * Decodes one frame from ScheduleZero's event broker (`{"type":"event"|"heartbeat"|"shutdown",…}`,
 * an event's `payload` the base64 of `b"<EventClass> " + JSON`) into a catalog event: a failed job
 * becomes `job.failed`, a heartbeat `scheduler.heartbeat` with `deployment` = `instance_id`, and so
 * on. `meta.src` is the broker's `instance_id`; there is no sequence number. The whole message
 * (event body included) is kept under `data.schedulezero`. Never throws.
 *
 * @example
 * const result = decodeBrokerMessage(Buffer.from('{"type": "heartbeat", "instance_id": "scheduler-1", "pid": 1, "address": "tcp://127.0.0.1:5555"}'), Date.now());
 * // result.ok && result.event.topic === 'scheduler.heartbeat'
 */
export function decodeBrokerMessage(frame: Uint8Array, receivedAt: number): DecodeResult {
  let text: string;
  try {
    text = strictUtf8.decode(frame);
  } catch {
    return reject('non_utf8_payload', 'the frame is not valid UTF-8', lossyUtf8.decode(frame.subarray(0, SAMPLE_CHARS * 3)));
  }
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (err) {
    return reject('invalid_json', `the frame is not JSON: ${(err as Error).message}`, text);
  }
  if (!isObject(message)) return reject('not_object', 'the frame is not a JSON object', text);
  const { type, instance_id: instanceId, pid } = message;
  const src = typeof instanceId === 'string' && instanceId !== '' ? instanceId.slice(0, MAX_SRC_CHARS) : undefined;
  const original: BrokerOriginal = { type: String(type) };
  if (typeof instanceId === 'string') original.instance_id = instanceId;
  if (pid !== undefined) original.pid = pid;
  const meta: EventMeta = src === undefined ? { receivedAt } : { src, receivedAt };

  if (type === 'heartbeat') {
    if (message.address !== undefined) original.address = message.address;
    // The broker's heartbeat has no time of its own: it is as recent as its arrival.
    const data: Record<string, unknown> = { ...(src === undefined ? {} : { deployment: src }), timestamp: new Date(receivedAt).toISOString(), schedulezero: original };
    return { ok: true, event: { topic: 'scheduler.heartbeat', data, meta } };
  }
  if (type === 'shutdown') {
    return { ok: true, event: { topic: 'scheduler.stopped', data: { ...(src === undefined ? {} : { deployment: src }), schedulezero: original }, meta } };
  }
  if (type !== 'event') return reject('unknown_message_type', `type ${JSON.stringify(type)} is none of event, heartbeat, shutdown`, text);

  const payload = message.payload;
  if (typeof payload !== 'string' || payload.length % 4 !== 0 || !BASE64.test(payload)) {
    return reject('bad_base64', typeof payload === 'string' ? 'payload is not base64' : 'payload is missing or not a string', text);
  }
  const parsed = parseNotification(Buffer.from(payload, 'base64'));
  if ('kind' in parsed) return reject(parsed.kind, parsed.detail, text);
  const { eventClass, body } = parsed;
  if (!eventClasses.has(eventClass)) return reject('unknown_event_class', `${eventClass} is not an APScheduler 4 event class the bot knows`, `${eventClass} ${JSON.stringify(body)}`);
  original.event = eventClass;
  original.body = body;
  const mapped = mapEvent(eventClass as ApschedulerEventClass, body, src);
  const data: Record<string, unknown> = {};
  // Fields the event lacked stay absent rather than undefined, as in a parsed catalog payload.
  for (const [key, value] of Object.entries(mapped.data)) if (value !== undefined) data[key] = value;
  if (present(body.timestamp)) data.timestamp = body.timestamp;
  data.schedulezero = original;
  return { ok: true, event: { topic: mapped.topic, data, meta } };
}
