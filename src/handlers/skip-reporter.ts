import type { Logger } from '../observability/logger.ts';
import type { Metrics, SkipReason } from '../observability/metrics.ts';
import { routeChannels, routeTopics, type RouteName } from './routing.ts';

// Topics come from the network: remember only so many for "logged once per topic".
const MAX_TOPICS_LOGGED = 256;
const MAX_TOPIC_LENGTH = 200;

/**
 * Accounts for events a built-in module deliberately does not post: counted in
 * `zmq_notify_events_skipped_total{reason,route}` and logged once per topic and reason (a missing
 * channel as a warning, a filter at debug level), so nothing is dropped silently.
 */
export class SkipReporter {
  private readonly seen = new Set<string>();
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** Counts one skipped event and logs it if it is the first of its topic and reason. */
  skip(topic: string, route: RouteName, reason: SkipReason): void {
    this.metrics?.eventsSkipped.inc({ reason, route });
    const countKey = `${reason}:${route}`;
    this.counts.set(countKey, (this.counts.get(countKey) ?? 0) + 1);
    const shown = topic.slice(0, MAX_TOPIC_LENGTH);
    const key = `${reason}\u0000${shown}`;
    if (this.seen.has(key) || this.seen.size >= MAX_TOPICS_LOGGED) return;
    this.seen.add(key);
    if (reason === 'no_channel') {
      this.logger.warn(
        { topic: shown, route, reason, channels: routeChannels[route] },
        `"${shown}" events are not posted: no channel is set for them (notification_channels.${routeChannels[route].join(' or ')}); they are counted in zmq_notify_events_skipped_total{reason="no_channel"}`,
      );
    } else {
      this.logger.debug({ topic: shown, route, reason }, `"${shown}" events are filtered out by filters: (counted in zmq_notify_events_skipped_total{reason="filtered"})`);
    }
  }

  /** Skipped events so far by `reason:route`, for logs and tests. */
  totals(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** Warns at start-up about each route with no channel: which topics will not be posted and which keys would fix it. */
export function warnUnrouted(logger: Logger, routes: readonly RouteName[]): void {
  for (const route of routes) {
    logger.warn(
      { route, channels: routeChannels[route] },
      `not posted: ${routeTopics[route]}; set notification_channels.${routeChannels[route].join(' or ')} to post them`,
    );
  }
}
