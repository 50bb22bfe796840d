// An example handler module that posts to Discord, as a third-party module would: through
// ctx.on and ctx.post only. List it in a config file to load it at start:
//   modules: [./examples/modules/slow-runs.ts]     (relative to the config file's directory)
// CI loads it through the bot (test/e2e/example-modules.test.ts) and checks what it posts.
import { defineModule, type DiscordExtensions } from 'zmq-notify';

/** A run that took longer than this many seconds gets a notice. */
export const SLOW_RUN_SECONDS = 300;

/** Posts a "slow run" notice to the job_executed channel for each job.executed that took longer than five minutes. */
export default defineModule<DiscordExtensions>({
  name: 'slow-runs',
  setup(ctx) {
    const channel = ctx.config.notification_channels.job_executed;
    if (!channel) {
      ctx.logger.warn('slow-runs: notification_channels.job_executed is not set, so there is nowhere to post');
      return;
    }
    ctx.on('job.executed', async (event) => {
      // The scheduler reports `duration` in seconds; anything else (missing, a string) is not a slow run.
      const seconds = event.data.duration;
      if (typeof seconds !== 'number' || !(seconds > SLOW_RUN_SECONDS)) return;
      const job = typeof event.data.job_name === 'string' ? event.data.job_name : String(event.data.job_id ?? 'a job');
      await ctx.post(
        channel,
        { title: `🐢 Slow run: ${job}`, description: `took ${Math.round(seconds)} s, over the ${SLOW_RUN_SECONDS} s this module watches for`, color: 0xe67e22 },
        { event, label: job },
      );
    });
  },
});
