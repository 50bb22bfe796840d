/** A `job.executed`-shaped payload padded so its JSON is `bytes` long (at least its unpadded size). */
export function jobPayload(bytes: number, index = 0): Record<string, unknown> {
  const data = { job_id: `bench-${String(index).padStart(6, '0')}`, job_name: 'nightly-etl', duration: 12.5, result: '' };
  const missing = bytes - JSON.stringify(data).length;
  data.result = 'ok '.repeat(Math.ceil(Math.max(0, missing) / 3)).slice(0, Math.max(0, missing));
  return data;
}

/** Milliseconds since the epoch with sub-millisecond precision, comparable between processes. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
