import type { RunOutcome } from './scheduler.ts';
import type { Trigger } from './trigger.ts';

/** The `src` of every event the scheduler produces, as the pipeline's envelope carries it. */
export const SCHEDULER_SOURCE = 'zmq-notify/scheduler';

/** A catalog event as the scheduler hands it to the pipeline. */
export interface RunEvent {
  topic: 'job.executed' | 'job.failed' | 'job.missed';
  data: Record<string, unknown>;
}

// A result or error is kept in the queue until an embed shows it; an embed shows a few KB at most.
const MAX_TEXT = 4_000;

function bounded(value: unknown): unknown {
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return String(value).slice(0, MAX_TEXT);
  }
  if (text === undefined) return String(value).slice(0, MAX_TEXT);
  if (text.length <= MAX_TEXT) return value;
  return `${text.slice(0, MAX_TEXT)}… [truncated ${text.length - MAX_TEXT} chars]`;
}

/** How a trigger reads in an event or a list: `cron 30 14 * * 1-5 (America/New_York)`, `every 5m`, `at 2026-12-24T18:00:00 (UTC)`. */
export function describeTrigger(trigger: Trigger): string {
  if (trigger.kind === 'interval') return `every ${trigger.expression}`;
  return `${trigger.kind === 'cron' ? 'cron' : 'at'} ${trigger.expression} (${trigger.timezone})`;
}

function errorParts(error: unknown): { error: string; traceback?: string } {
  if (error instanceof Error) {
    const message = error.message || error.name;
    return error.stack ? { error: String(bounded(message)), traceback: String(bounded(error.stack)) } : { error: String(bounded(message)) };
  }
  return { error: String(bounded(typeof error === 'string' ? error : JSON.stringify(error) ?? String(error))) };
}

/**
 * The catalog event for one outcome of a schedule's run: `job.executed` (duration in seconds, result),
 * `job.failed` (error, traceback) or `job.missed` (scheduled_start). `job_id` and `job_name` are the
 * schedule's id, so alerts, repeat suppression and recovered notices follow the schedule.
 */
export function runEvent(schedule: { id: string; method: string; trigger: Trigger }, outcome: RunOutcome, now: number): RunEvent {
  const base = { job_id: schedule.id, job_name: schedule.id, method: schedule.method, trigger: describeTrigger(schedule.trigger), timestamp: new Date(now).toISOString() };
  if (outcome.kind === 'missed') {
    const data: Record<string, unknown> = { ...base, scheduled_start: new Date(outcome.scheduledAt).toISOString(), late_s: Math.round(outcome.lateMs / 1000) };
    if (outcome.count > 1) {
      data.missed_runs = outcome.atLeast ? `at least ${outcome.count}` : outcome.count;
      data.last_scheduled_start = new Date(outcome.lastScheduledAt).toISOString();
    }
    return { topic: 'job.missed', data };
  }
  const run: Record<string, unknown> = { scheduled_start: new Date(outcome.run.scheduledAt).toISOString() };
  if (outcome.run.reason !== 'schedule') run.run = outcome.run.reason;
  if (outcome.run.coalesced > 1) run.coalesced_runs = outcome.run.coalesced;
  const duration = Math.round(outcome.durationMs) / 1000;
  if (outcome.kind === 'executed') return { topic: 'job.executed', data: { ...base, duration, result: bounded(outcome.result), ...run } };
  return { topic: 'job.failed', data: { ...base, duration, ...errorParts(outcome.error), ...run } };
}
