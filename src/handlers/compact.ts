import type { ZmqEvent } from '../pipeline/event.ts';

// What the repeated-failure and recovered embeds can show of each (they cut to less than this).
const MAX_ERROR = 1_200;
const MAX_TRACEBACK_TAIL = 2_500;
const MAX_ID = 256;

function cut(value: unknown, max: number, keep: 'head' | 'tail' = 'head'): unknown {
  if (typeof value === 'string') return value.length <= max ? value : keep === 'head' ? value.slice(0, max) : value.slice(-max);
  if (value === null || typeof value !== 'object') return value;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length <= max ? value : text.slice(0, max);
}

/** An error message as much as an embed shows of it, for keeping in memory. */
export function compactError(error: unknown): unknown {
  return cut(error, MAX_ERROR);
}

/**
 * A `job.failed` event reduced to what the repeated-failure alert shows (job id and name, retry
 * count, error, the end of the traceback), so remembering thousands of failing jobs stays small
 * however large their payloads were.
 */
export function compactFailure(event: ZmqEvent): ZmqEvent {
  const { data } = event;
  const kept: Record<string, unknown> = {};
  if (data.job_id !== undefined) kept.job_id = cut(data.job_id, MAX_ID);
  if (data.job_name !== undefined) kept.job_name = cut(data.job_name, MAX_ID);
  if (data.retry_count !== undefined) kept.retry_count = cut(data.retry_count, MAX_ID);
  if (data.error !== undefined) kept.error = compactError(data.error);
  if (data.traceback !== undefined) kept.traceback = cut(data.traceback, MAX_TRACEBACK_TAIL, 'tail');
  return { topic: event.topic, data: kept, meta: event.meta };
}
