import { jobFailedEmbed, recoveredEmbed } from '../discord/embeds/index.ts';
import type { DiscordExtensions } from '../discord/module-context.ts';
import { defineModule, type ModuleDefinition } from '../pipeline/module.ts';
import { AlertState } from './alert-state.ts';
import { systemClock } from './clock.ts';
import { compactError } from './compact.ts';
import { FailureTracker } from './failure-tracker.ts';
import { jobKey } from './job-key.ts';
import { eventLabel } from './label.ts';
import type { BuiltInOptions } from './options.ts';
import { RepeatAlerts } from './repeat-alerts.ts';
import { channelFor } from './routing.ts';
import { shouldPost } from './severity.ts';
import { SkipReporter } from './skip-reporter.ts';

// How long shutdown waits for repeat-series sends and edits at most (within shutdown.drain_timeout_ms).
const SHUTDOWN_WAIT_MS = 5_000;

/**
 * Built-in module `failure-alerts`: each `job.failed` becomes an alert in the failure channel
 * (notification_channels.job_failed), a job that keeps failing within `alerts.repeat_window_s`
 * has its alert edited with the count and last error instead of a new one per failure
 * (RepeatAlerts), and a failing job's next successful run posts a "recovered" notice there.
 * Registers nothing when no failure channel is set.
 */
export function failureAlertsModule(options: BuiltInOptions = {}): ModuleDefinition<DiscordExtensions> {
  return defineModule<DiscordExtensions>({
    name: 'failure-alerts',
    setup(ctx) {
      const { notification_channels: channels, filters, alerts } = ctx.config;
      const target = channelFor('job_failed', channels);
      if (target === undefined) return;
      const clock = options.clock ?? systemClock;
      const skips = new SkipReporter(ctx.logger, options.metrics);
      const state = options.store ? new AlertState(options.store) : undefined;
      const tracker = new FailureTracker({ maxJobs: alerts.max_tracked_jobs, memoryMs: alerts.recovery_window_s * 1000, ...(state ? { state } : {}) });
      const repeats = alerts.suppress_repeats
        ? new RepeatAlerts({
            poster: ctx,
            windowMs: alerts.repeat_window_s * 1000,
            renotifyMs: alerts.repeat_renotify_s * 1000,
            maxSeries: alerts.max_tracked_jobs,
            now: () => clock.now(),
            logger: ctx.logger,
            ...(state ? { state } : {}),
          })
        : undefined;
      if (!shouldPost({ topic: 'job.failed', data: {} }, filters)) {
        ctx.logger.warn({ min_severity: filters.min_severity }, 'filters.min_severity is above "error": job failures are not posted');
      }

      ctx.on('job.failed', (event) => {
        // The prefix also matches longer topics (job.failed_x): those are ordinary notices.
        if (event.topic !== 'job.failed') return;
        if (!shouldPost(event, filters)) {
          skips.skip(event.topic, 'job_failed', 'filtered');
          return;
        }
        const key = jobKey(event.data);
        if (key !== undefined) tracker.failed(key, target.channelId, compactError(event.data.error), clock.now());
        if (repeats) {
          repeats.failed(event, target.channelId, key);
          return;
        }
        const label = eventLabel(event);
        return ctx.post(target.channelId, jobFailedEmbed(event), label === undefined ? { event } : { event, label });
      });

      // A success ends the job's repeat series and, when it was failing, is reported as a recovery.
      // The notice ranks as the failure it resolves, which passed the same filters.
      ctx.on('job.executed', (event) => {
        if (event.topic !== 'job.executed') return;
        const key = jobKey(event.data);
        if (key === undefined) return;
        const failures = tracker.succeeded(key, clock.now());
        if (failures === undefined) return;
        repeats?.end(key);
        if (!alerts.recovered_notices) return;
        const embed = recoveredEmbed(event, { count: failures.count, firstAt: failures.firstAt, lastError: failures.lastError });
        const label = eventLabel(event);
        return ctx.post(failures.channelId, embed, label === undefined ? { event, topic: 'job.recovered' } : { event, topic: 'job.recovered', label });
      });

      // Cleanups run before the Outbox drains: hand over the failures held for an edit while it still accepts them.
      if (!repeats) return;
      return async () => {
        const idle = await repeats.idle(Math.min(SHUTDOWN_WAIT_MS, ctx.config.shutdown.drain_timeout_ms / 2));
        if (!idle) ctx.logger.warn(repeats.stats(), 'shutdown: repeated-failure alerts still in flight; the Outbox drain settles them');
      };
    },
  });
}
