import { parseAt, parseEvery, type TriggerSpec } from './trigger.ts';

/** How long a request to ScheduleZero's REST API may take. */
const REQUEST_TIMEOUT_MS = 10_000;
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Raised when ScheduleZero's API refuses or cannot be reached; the message is ScheduleZero's own reason where it gave one. */
export class ScheduleZeroApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or undefined when there was no answer. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ScheduleZeroApiError';
  }
}

// APScheduler's CronTrigger counts day_of_week from Monday = 0, crontab from Sunday = 0: names mean the same to both.
function dayOfWeek(field: string): string {
  return field.replace(/(^|[^/\d])(\d+)/g, (_all, before: string, n: string) => `${before}${DAY_NAMES[Number(n) % 7] ?? n}`);
}

/**
 * A trigger as ScheduleZero's `POST /api/schedule` reads it (job_scheduling_api.py `_parse_trigger`):
 * cron fields as APScheduler CronTrigger keywords with the zone, an interval in seconds, a date as
 * an ISO instant.
 */
export function scheduleZeroTrigger(spec: TriggerSpec): Record<string, unknown> {
  if ('every' in spec) return { type: 'interval', seconds: parseEvery(spec.every) / 1000 };
  if ('at' in spec) return { type: 'date', run_date: new Date(parseAt(spec.at, spec.timezone)).toISOString() };
  const fields = spec.cron.trim().split(/\s+/);
  const [second, rest] = fields.length === 6 ? [fields[0], fields.slice(1)] : [undefined, fields];
  const [minute, hour, day, month, dow] = rest as [string, string, string, string, string];
  return { type: 'cron', ...(second === undefined ? {} : { second }), minute, hour, day, month, day_of_week: dayOfWeek(dow), timezone: spec.timezone };
}

/** What {@link createScheduleZeroSchedule} sends. */
export interface ScheduleZeroRequest {
  /** `schedulezero.api_endpoint`, e.g. `http://127.0.0.1:8888`. */
  endpoint: string;
  /** This bot's handler id, as registered with ScheduleZero. */
  handlerId: string;
  /** The schedule's id there (ScheduleZero's `job_id`). */
  id: string;
  method: string;
  params: Record<string, unknown>;
  trigger: TriggerSpec;
}

function scheduleUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return `${base.endsWith('/api') ? base : `${base}/api`}/schedule`;
}

/**
 * Creates a schedule on ScheduleZero (`POST /api/schedule` with handler_id, job_method, job_params,
 * trigger, job_id) and resolves with the id ScheduleZero gave it.
 *
 * @example
 * await createScheduleZeroSchedule({ endpoint: 'http://127.0.0.1:8888', handlerId: 'discord-bot', id: 'nightly', method: 'send_message', params: { channel_id: '1', content: 'hi' }, trigger: { cron: '0 3 * * *', timezone: 'UTC' } });
 */
export async function createScheduleZeroSchedule(request: ScheduleZeroRequest): Promise<{ jobId: string }> {
  const url = scheduleUrl(request.endpoint);
  const body = { handler_id: request.handlerId, job_method: request.method, job_params: request.params, trigger: scheduleZeroTrigger(request.trigger), job_id: request.id };
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ScheduleZeroApiError(`ScheduleZero's API at ${url} could not be reached (${cause})`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    // ScheduleZero's errors are {"error": {"code", "message"}} (tornado_base_handlers.py write_error).
    const reason = (json as { error?: { message?: unknown } } | undefined)?.error?.message;
    throw new ScheduleZeroApiError(`ScheduleZero refused the schedule (HTTP ${response.status}): ${typeof reason === 'string' ? reason : text.slice(0, 300) || response.statusText}`, response.status);
  }
  const jobId = (json as { job_id?: unknown } | undefined)?.job_id;
  return { jobId: typeof jobId === 'string' ? jobId : request.id };
}
