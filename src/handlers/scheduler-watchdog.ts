import { schedulerBackEmbed, schedulerSilentEmbed } from '../discord/embeds/index.ts';
import type { DiscordExtensions } from '../discord/module-context.ts';
import { defineModule, type ModuleDefinition } from '../pipeline/module.ts';
import { scalarText } from '../shared/json.ts';
import { systemClock } from './clock.ts';
import { HeartbeatWatchdog, type SchedulerIdentity } from './heartbeat-watchdog.ts';
import type { BuiltInOptions } from './options.ts';
import { channelFor } from './routing.ts';
import { shouldPost } from './severity.ts';
import { warnUnrouted } from './skip-reporter.ts';

/**
 * Built-in module `scheduler-watchdog`: a scheduler that sent `scheduler.heartbeat` and then
 * none for `alerts.heartbeat_timeout_s` is reported silent (and back when heard from again) in
 * the scheduler channel (else handler status, else failures). `scheduler.stopped` disarms it.
 * Registers nothing when the timeout is null/0 or no channel is set; its cleanup clears the timers.
 */
export function schedulerWatchdogModule(options: BuiltInOptions = {}): ModuleDefinition<DiscordExtensions> {
  return defineModule<DiscordExtensions>({
    name: 'scheduler-watchdog',
    setup(ctx) {
      const { notification_channels: channels, filters, alerts } = ctx.config;
      const timeoutS = alerts.heartbeat_timeout_s;
      if (timeoutS === null || timeoutS <= 0) return;
      const target = channelFor('scheduler_health', channels);
      if (target === undefined) {
        warnUnrouted(ctx.logger, ['scheduler_health']);
        return;
      }
      if (!shouldPost({ notice: 'scheduler_silent' }, filters)) {
        ctx.logger.warn({ min_severity: filters.min_severity }, 'filters.min_severity is above "error": the heartbeat watchdog is off');
        return;
      }
      const watchdog = new HeartbeatWatchdog({
        timeoutMs: timeoutS * 1000,
        maxSchedulers: alerts.max_watched_schedulers,
        clock: options.clock ?? systemClock,
        ...(options.lastHeardFrom && { lastHeardFrom: options.lastHeardFrom }),
        onAlert: ({ kind, scheduler }) => {
          const embed = kind === 'silent' ? schedulerSilentEmbed(scheduler) : schedulerBackEmbed(scheduler);
          const label = (scheduler.deployment ?? scheduler.src)?.slice(0, 100);
          const options = { topic: `scheduler.${kind}`, receivedAt: scheduler.now };
          ctx.post(target.channelId, embed, label === undefined ? options : { ...options, label }).catch((err: unknown) => ctx.logger.error({ err }, 'could not hand the watchdog alert to the Outbox'));
          const log = { deployment: scheduler.deployment, src: scheduler.src, silentForMs: scheduler.silentForMs };
          if (kind === 'silent') ctx.logger.warn(log, 'scheduler silent: no heartbeat within heartbeat_timeout_s');
          else ctx.logger.info(log, 'scheduler heard from again');
        },
        onEvicted: (key) =>
          ctx.logger.warn({ scheduler: key, max: alerts.max_watched_schedulers }, 'more schedulers than alerts.max_watched_schedulers: the least recently heard are no longer watched'),
      });

      ctx.on('scheduler.', (event) => {
        const identity: SchedulerIdentity = {};
        const deployment = scalarText(event.data.deployment);
        if (deployment !== undefined) identity.deployment = deployment;
        if (event.meta.src !== undefined) identity.src = event.meta.src;
        const at = event.meta.receivedAt;
        if (event.topic === 'scheduler.heartbeat') watchdog.heartbeat(identity, at);
        else if (event.topic === 'scheduler.stopped') watchdog.stopped(identity, at);
        else watchdog.alive(identity, at);
      });
      return () => watchdog.close();
    },
  });
}
