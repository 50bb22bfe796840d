import { embedForEvent } from '../discord/embeds/index.ts';
import type { DiscordExtensions } from '../discord/module-context.ts';
import { defineModule, type ModuleDefinition } from '../pipeline/module.ts';
import type { ZmqEvent } from '../pipeline/event.ts';
import { eventLabel } from './label.ts';
import type { BuiltInOptions } from './options.ts';
import { channelFor, routeOf, type RouteName } from './routing.ts';
import { shouldPost } from './severity.ts';
import { SkipReporter, warnUnrouted } from './skip-reporter.ts';

const ROUTES: readonly RouteName[] = ['job_failed', 'job_notices', 'handler_notices', 'scheduler_notices'];

/** The topic prefixes the built-in notifications cover (see routeOf). */
export const NOTICE_PREFIXES = ['job.', 'handler.', 'scheduler.'] as const;

/**
 * Built-in module `notices`: posts each `job.*`, `handler.*` and `scheduler.*` event to the
 * channel its route names (routeOf / routeChannels), through the `filters:`; `job.missed` goes to
 * the failure channel. Job failures are left to `failure-alerts` when it runs (a failure channel is set) and heartbeats to the watchdog.
 * Whatever it does not post is counted and logged (SkipReporter); with no channel set at all it
 * registers nothing.
 */
export function noticesModule(options: BuiltInOptions = {}): ModuleDefinition<DiscordExtensions> {
  return defineModule<DiscordExtensions>({
    name: 'notices',
    setup(ctx) {
      const { notification_channels: channels, filters } = ctx.config;
      const unrouted = ROUTES.filter((route) => channelFor(route, channels) === undefined);
      if (unrouted.length === ROUTES.length) {
        ctx.logger.warn('no notification_channels are set: the built-in notifications post nothing (events without another handler are counted as unhandled)');
        return;
      }
      warnUnrouted(ctx.logger, unrouted);
      const skips = new SkipReporter(ctx.logger, options.metrics);
      const failureAlertsPost = channelFor('job_failed', channels) !== undefined;

      const notice = async (event: ZmqEvent): Promise<void> => {
        const route = routeOf(event.topic);
        if (route === undefined || route === 'heartbeat') return;
        // failure-alerts posts job.failed itself (repeat series, recoveries); a missed run is posted here.
        if (event.topic === 'job.failed' && failureAlertsPost) return;
        const target = channelFor(route, channels);
        if (target === undefined) {
          skips.skip(event.topic, route, 'no_channel');
          return;
        }
        if (!shouldPost(event, filters)) {
          skips.skip(event.topic, route, 'filtered');
          return;
        }
        const label = eventLabel(event);
        await ctx.post(target.channelId, embedForEvent(event), label === undefined ? { event } : { event, label });
      };
      for (const prefix of NOTICE_PREFIXES) ctx.on(prefix, notice);
    },
  });
}
