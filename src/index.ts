// The package's public API: `import { defineModule, App, EventPublisher, ... } from 'zmq-notify'`.
export {
  App,
  type AppOptions,
  type AppStatus,
  type ContextExtensionOption,
  type ListenerRestart,
  type PublisherStats,
  type RestartOptions,
  type StopResult,
} from './app.ts';
export * from './pipeline/index.ts';
export * from './transport/index.ts';
export * from './config/index.ts';
export { createLogger, moduleLogger, type Logger, type LoggerSettings } from './observability/logger.ts';
export { Metrics, type DropReason, type UndeliverableReason } from './observability/metrics.ts';
export { HealthServer, type HealthReport, type HealthServerOptions, type PublisherHealth } from './observability/health.ts';
export { Bot, EXIT_DRAIN_INCOMPLETE, type BotOptions, type BotStopResult } from './bot.ts';
export type { DiscordExtensions, PostMessage, PostOptions, SendOptions } from './discord/module-context.ts';
export {
  defineSprocket,
  InvalidSprocketError,
  JobRefusedError,
  type JobContext,
  type JobMethodDefinition,
  type SprocketConfig,
  type SprocketDefinition,
} from './jobs/sprocket.ts';
export { JobRegistry, JobCallError, type JobCallOptions, type JobCallRecord, type JobOutcome, type JobRegistryOptions } from './jobs/registry.ts';
export { discordId, discordIds } from './jobs/params.ts';
