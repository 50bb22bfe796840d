import type { Client } from 'discord.js';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { JobRegistry, type JobCallRecord } from './registry.ts';
import type { ChannelTurn } from './sprocket.ts';
import { ScheduleZeroHandler, type JobHandlerStatus } from './schedulezero-handler.ts';
import { SprocketManager, sprocketEntries } from './sprocket-manager.ts';

/** Options for {@link JobSide}. */
export interface JobSideOptions {
  config: Config;
  /** Directory `sprockets:` file paths are relative to (the config file's). */
  baseDir: string;
  discord: () => Client;
  logger: Logger;
  metrics?: Metrics;
  /** Called for every finished job call (the `notification_channels.jobs` audit line). */
  audit?: (record: JobCallRecord) => void;
  /** Paces job messages with the Outbox's sends per channel. */
  channelTurn?: ChannelTurn;
}

/**
 * The bot's job side, composed: the JobRegistry with the configured sprockets, and — when
 * `schedulezero:` is set — the ScheduleZero handler (job endpoint + registration).
 */
export class JobSide {
  readonly registry: JobRegistry;
  readonly sprockets: SprocketManager;
  readonly handler?: ScheduleZeroHandler;

  constructor(options: JobSideOptions) {
    const { config, logger, metrics } = options;
    const settings = config.schedulezero ?? undefined;
    this.registry = new JobRegistry({
      discord: options.discord,
      logger: logger.child({ component: 'jobs' }),
      ...(metrics ? { metrics } : {}),
      ...(options.channelTurn ? { channelTurn: options.channelTurn } : {}),
      ...(settings ? { jobTimeoutMs: settings.job_timeout_ms, maxConcurrent: settings.max_concurrent_jobs, dedupeWindowMs: settings.dedupe_window_s * 1000 } : {}),
    });
    if (options.audit) this.registry.on('call', options.audit);
    this.sprockets = new SprocketManager(this.registry, sprocketEntries(config), options.baseDir, logger.child({ component: 'sprockets' }));
    if (settings) this.handler = new ScheduleZeroHandler({ settings, registry: this.registry, logger, ...(metrics ? { metrics } : {}) });
  }

  /** Loads the sprockets, then (with schedulezero:) binds the job endpoint and starts registering. */
  async start(): Promise<void> {
    await this.sprockets.start();
    await this.handler?.start();
  }

  /** Stops taking jobs: reports offline and closes the job endpoint. Running calls keep running until {@link close}. */
  async stop(): Promise<void> {
    await this.handler?.stop();
  }

  /** Aborts the calls still running (the bot is about to log out). */
  close(): void {
    this.registry.close();
  }

  /** The job handler's state for /healthz, and why it makes the bot unhealthy (not registered). */
  health(): { jobs: (JobHandlerStatus & { enabled: true }) | { enabled: false; methods: string[] }; reasons: string[] } {
    if (!this.handler) return { jobs: { enabled: false, methods: this.registry.methodNames() }, reasons: [] };
    const status = this.handler.status();
    const reg = status.registration;
    const reasons =
      reg.state === 'registered' || reg.state === 'stopped'
        ? []
        : [`not registered with the ScheduleZero server at ${reg.server} (${reg.state}${reg.lastError ? `: ${reg.lastError}` : ''})`];
    return { jobs: { enabled: true, ...status }, reasons };
  }
}
