import { embedForEvent } from '../../discord/embeds/index.ts';
import type { DiscordExtensions } from '../../discord/module-context.ts';
import { defineModule, type ModuleDefinition } from '../../pipeline/module.ts';
import { SCHEDULER_SOURCE } from './run-events.ts';

const RUN_TOPICS: ReadonlySet<string> = new Set(['job.executed', 'job.failed', 'job.missed']);

/**
 * Module `scheduler-dev-alerts`: each run of a schedule with `send_alert` (seed 004's per-job
 * success/failure alert) is also posted to `scheduler.dev_channel`, besides wherever the routing
 * sends it. Only the bot's own scheduler's events count; a ScheduleZero job with the same id does not.
 */
export function devAlertsModule(sendsAlert: (scheduleId: string) => boolean): ModuleDefinition<DiscordExtensions> {
  return defineModule<DiscordExtensions>({
    name: 'scheduler-dev-alerts',
    setup(ctx) {
      const channel = ctx.config.scheduler.dev_channel;
      if (!channel) {
        if (ctx.config.schedules.some((s) => s.send_alert)) ctx.logger.warn('schedules ask for send_alert but scheduler.dev_channel is not set: those alerts go nowhere');
        return;
      }
      ctx.on('job.', async (event) => {
        if (event.meta.src !== SCHEDULER_SOURCE || !RUN_TOPICS.has(event.topic)) return;
        const id = typeof event.data.job_id === 'string' ? event.data.job_id : undefined;
        if (id === undefined || !sendsAlert(id)) return;
        await ctx.post(channel, embedForEvent(event), { event, label: id });
      });
    },
  });
}
