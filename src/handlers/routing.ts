import type { Config } from '../config/schema.ts';

/** A `notification_channels` key. */
export type ChannelKey = keyof Config['notification_channels'];

/** Where a kind of notification goes. */
export type RouteName = 'job_failed' | 'job_notices' | 'handler_notices' | 'scheduler_notices' | 'scheduler_health';

/**
 * The channels each route posts to, in order of preference: the first one configured is used.
 * Scheduler notices fall back to the handler-status channel (the Python cog had no scheduler
 * channel). The watchdog's "silent"/"back" fall back further, to the failure channel: a silent
 * scheduler means job failures may not be reported at all, so it must reach someone.
 */
export const routeChannels: Readonly<Record<RouteName, readonly ChannelKey[]>> = {
  job_failed: ['job_failed'],
  job_notices: ['job_executed'],
  handler_notices: ['handler_status'],
  scheduler_notices: ['scheduler', 'handler_status'],
  scheduler_health: ['scheduler', 'handler_status', 'job_failed'],
};

/**
 * The route of a topic: `job.failed` and `job.missed` (a run that never happened) → job_failed; any other `job.*` (executed, scheduled,
 * removed, …) → job_notices; `handler.*` → handler_notices; `scheduler.*` → scheduler_notices,
 * except `scheduler.heartbeat`, which is never posted (the watchdog reads it). Undefined for
 * anything else: the built-in modules leave it to other modules.
 */
export function routeOf(topic: string): RouteName | 'heartbeat' | undefined {
  if (topic === 'job.failed' || topic === 'job.missed') return 'job_failed';
  if (topic.startsWith('job.')) return 'job_notices';
  if (topic.startsWith('handler.')) return 'handler_notices';
  if (topic === 'scheduler.heartbeat') return 'heartbeat';
  if (topic.startsWith('scheduler.')) return 'scheduler_notices';
  return undefined;
}

/** The channel a route posts to, and which `notification_channels` key it came from; undefined when none is set. */
export function channelFor(route: RouteName, channels: Config['notification_channels']): { channelId: string; key: ChannelKey } | undefined {
  for (const key of routeChannels[route]) {
    const channelId = channels[key];
    if (channelId !== undefined && channelId !== null) return { channelId, key };
  }
  return undefined;
}

/** Topics of each route, as operators read them in logs and docs. */
export const routeTopics: Readonly<Record<RouteName, string>> = {
  job_failed: 'job.failed, job.missed',
  job_notices: 'job.executed, job.scheduled, job.removed (and other job.* topics)',
  handler_notices: 'handler.*',
  scheduler_notices: 'scheduler.started, scheduler.stopped (and other scheduler.* topics but heartbeats)',
  scheduler_health: 'the heartbeat watchdog\'s "scheduler silent" / "scheduler back" alerts',
};
