import type { Severity } from '../config/schema.ts';
import { pingHealth } from '../discord/embeds/index.ts';

/** Severities from least to most severe; `filters.min_severity` posts what ranks at or above it. */
export const severityRank: Readonly<Record<Severity, number>> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

/** The notices the built-in modules make up themselves (they are not topics a scheduler sends). */
export type NoticeKind = 'recovered' | 'scheduler_silent' | 'scheduler_back';

/** What the filters judge: a scheduler event, or one of the modules' own notices. */
export type Postable = { readonly topic: string; readonly data: Readonly<Record<string, unknown>> } | { readonly notice: NoticeKind };

/** The built-in filters, as `filters:` configures them. */
export interface NotificationFilters {
  notify_only_on_failure: boolean;
  min_severity: Severity;
}

/**
 * The severity of each catalog topic. `handler.ping` is not here: it depends on its status. Topics
 * not listed (and not pings) are `info`.
 */
export const topicSeverity: Readonly<Record<string, Severity>> = {
  'job.failed': 'error',
  'job.missed': 'error',
  'job.executed': 'info',
  'job.removed': 'info',
  'job.cancelled': 'info',
  'job.scheduled': 'debug',
  // ScheduleZero's broker sends every step of a run and of its task; only outcomes are news.
  'job.added': 'debug',
  'job.started': 'debug',
  'job.updated': 'debug',
  'job.run_removed': 'debug',
  'job.task_added': 'debug',
  'job.task_updated': 'debug',
  'job.task_removed': 'debug',
  'handler.registered': 'info',
  'handler.unregistered': 'warning',
  'scheduler.started': 'info',
  'scheduler.stopped': 'warning',
  'scheduler.heartbeat': 'debug',
};

/**
 * The severity of the modules' own notices. A resolution ("recovered", "scheduler back") ranks as
 * the alert it resolves, so whoever saw the alert under `min_severity` also sees it resolved.
 */
export const noticeSeverity: Readonly<Record<NoticeKind, Severity>> = {
  recovered: 'error',
  scheduler_silent: 'error',
  scheduler_back: 'error',
};

/** How severe an event or notice is (see {@link topicSeverity} and {@link noticeSeverity}). */
export function severityOf(subject: Postable): Severity {
  if ('notice' in subject) return noticeSeverity[subject.notice];
  if (subject.topic === 'handler.ping') {
    const health = pingHealth(subject.data.status);
    return health === 'healthy' || health === 'none' ? 'debug' : 'warning';
  }
  return Object.hasOwn(topicSeverity, subject.topic) ? (topicSeverity[subject.topic] as Severity) : 'info';
}

const FAILURE_TOPICS = new Set(['job.failed', 'job.missed', 'scheduler.stopped']);

/**
 * Whether `notify_only_on_failure` lets it through: job failures (and the edits of a repeat
 * series), missed runs, a scheduler that went silent or stopped, and the resolutions of these ("recovered",
 * "scheduler back"). A stopped scheduler counts because it disarms the watchdog: without it, a
 * scheduler that stops would never be mentioned.
 */
export function isFailureOrResolution(subject: Postable): boolean {
  if ('notice' in subject) return true;
  return FAILURE_TOPICS.has(subject.topic);
}

/** Whether the filters let an event or notice be posted. */
export function shouldPost(subject: Postable, filters: NotificationFilters): boolean {
  if (filters.notify_only_on_failure && !isFailureOrResolution(subject)) return false;
  return severityRank[severityOf(subject)] >= severityRank[filters.min_severity];
}
