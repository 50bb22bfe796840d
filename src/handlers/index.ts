import type { Config } from '../config/schema.ts';
import type { DiscordExtensions } from '../discord/module-context.ts';
import type { ModuleDefinition } from '../pipeline/module.ts';
import { failureAlertsModule } from './failure-alerts.ts';
import { noticesModule } from './notices.ts';
import type { BuiltInOptions } from './options.ts';
import { schedulerWatchdogModule } from './scheduler-watchdog.ts';

export type { BuiltInOptions } from './options.ts';
export { systemClock, type Clock, type TimerHandle } from './clock.ts';
export { routeOf, channelFor, routeChannels, type RouteName, type ChannelKey } from './routing.ts';
export { severityOf, shouldPost, isFailureOrResolution, topicSeverity, noticeSeverity, severityRank, type NoticeKind, type Postable, type NotificationFilters } from './severity.ts';

/**
 * The bot's built-in handler modules, for `App<DiscordExtensions>`'s `modules`: failure alerts
 * (with repeat suppression and recovered notices), the notices of every other catalog event, and
 * the heartbeat watchdog. Each reads its settings from the context's config when set up and
 * registers nothing when nothing is configured for it. `config` is the configuration the app runs
 * with; pass `options.metrics` (the App's) so skipped events are counted.
 */
export function builtInModules(config: Config, options: BuiltInOptions = {}): ModuleDefinition<DiscordExtensions>[] {
  const modules = [failureAlertsModule(options), noticesModule(options)];
  const timeout = config.alerts.heartbeat_timeout_s;
  if (timeout !== null && timeout > 0) modules.push(schedulerWatchdogModule(options));
  return modules;
}
