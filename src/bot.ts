import { Events, type Client, type Interaction, type REST } from 'discord.js';
import { App, type StopResult } from './app.ts';
import type { LoadedConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { createDiscordClient, loginClient } from './discord/client.ts';
import { commands, interactionRouter, registerCommands, type RegisteredCommands } from './discord/commands/index.ts';
import { discordExtensions, type DiscordExtensions } from './discord/module-context.ts';
import { createOutboxRest, Outbox } from './discord/outbox/index.ts';
import { startSandboxMode, type RunningSandbox } from './discord/sandbox-mode.ts';
import { builtInModules } from './handlers/index.ts';
import logEvents from './handlers/log-events.ts';
import { JobSide } from './jobs/job-side.ts';
import { devAlertsModule } from './jobs/scheduler/dev-alerts.ts';
import { JobScheduler } from './jobs/scheduler/job-scheduler.ts';
import { methodProblem } from './jobs/scheduler/method-check.ts';
import { jobCallEmbed } from './discord/embeds/job-call.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import type { ModuleDefinition } from './pipeline/module.ts';
import { openStore, type Store } from './store/index.ts';

/** How long a stopping bot waits for scheduled runs in progress before it drains the queue. */
const SCHEDULED_RUNS_GRACE_MS = 2_000;

/** How a {@link Bot} is set up. */
export interface BotOptions {
  loaded: LoadedConfig;
  logger?: Logger;
  metrics?: Metrics;
  /** Modules set up after the built-in ones (failure alerts, notices, heartbeat watchdog), for programs that embed the bot and tests. */
  modules?: readonly ModuleDefinition<DiscordExtensions>[];
  /** Where the sandbox token variable is read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Exit status of `zmq-notify start` when the drain bound was reached with work left
 * (EX_TEMPFAIL, "try again later"): what the Outbox still held stays in the spool for the next start.
 */
export const EXIT_DRAIN_INCOMPLETE = 75;

/** What {@link Bot.stop} did. */
export interface BotStopResult {
  /** True when the queue and the Outbox both emptied within the bound. */
  drained: boolean;
  /** What the bound left: events kept in the spool (the next start sends them) and events lost (never dispatched, or not spooled with storage.path ":memory:"). */
  left: { spooled: number; lost: number };
  queue: StopResult;
  outbox: {
    drained: boolean;
    /** Events waiting in the Outbox once the queue was drained. */
    pendingAtDrain: number;
    /** Of those, events the bound left undelivered and lost (counted undeliverable, reason `shutdown`): only with storage.path ":memory:". */
    abandoned: number;
    /** Of those, events the bound left in the spool: the next start sends them. */
    kept: number;
  };
  elapsedMs: number;
}

/** The running parts, created by start() once the Discord API's address is known. */
interface Parts {
  client: Client;
  store: Store;
  outboxRest: REST;
  outbox: Outbox;
  app: App<DiscordExtensions>;
  jobs: JobSide;
  schedules: JobScheduler;
  onInteraction: (interaction: Interaction) => void;
}

/**
 * The product, composed: the event pipeline (App) whose modules post through the Outbox to Discord,
 * the discord.js client, the slash commands, and — with no bot token — the sandbox Discord server.
 * `zmq-notify start` is this plus signal handling.
 * @example
 * import { Bot, loadConfig } from 'zmq-notify';
 *
 * const bot = new Bot({ loaded: loadConfig('bot.yaml'), modules: [myModule] });
 * await bot.start();
 * process.once('SIGTERM', async () => {
 *   const result = await bot.stop();   // drains the queue and the Outbox within shutdown.drain_timeout_ms
 *   process.exit(result.drained ? 0 : 1);
 * });
 */
export class Bot {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** `sandbox` when no bot token is set: the bot logs into a local Discord it starts itself. */
  readonly mode: 'discord' | 'sandbox';
  /** The commands registered at start (sandbox mode only; against Discord, `deploy-commands` does it). */
  registered?: RegisteredCommands;
  private readonly options: BotOptions;
  private parts?: Parts;
  private running?: RunningSandbox;
  private stopping?: Promise<BotStopResult>;

  constructor(options: BotOptions) {
    this.options = options;
    this.config = options.loaded.config;
    this.logger = options.logger ?? createLogger({ level: this.config.log_level });
    this.metrics = options.metrics ?? new Metrics();
    this.mode = options.loaded.secrets.discordToken ? 'discord' : 'sandbox';
  }

  /**
   * Starts the sandbox (sandbox mode), logs in, registers the commands (sandbox mode), then starts
   * the pipeline. Rejects when Discord refuses the token or a module fails to load or set up; call
   * stop() then, to release what had started.
   * @example
   * const bot = new Bot({ loaded: loadConfig('bot.yaml') });
   * try {
   *   await bot.start();
   * } catch (err) {
   *   await bot.stop();
   *   throw err;
   * }
   * console.log(bot.mode === 'sandbox' ? `sandbox Discord: ${bot.sandbox?.url}/` : 'logged in to Discord');
   */
  async start(): Promise<void> {
    if (this.parts) throw new Error('Bot.start: already started');
    const { config } = this;
    let token = this.options.loaded.secrets.discordToken;
    let apiUrl = config.discord.api_url;
    let tokenSource = `$${config.discord.token_env}`;
    if (this.mode === 'sandbox') {
      this.logger.info(`no bot token in $${config.discord.token_env}: running in sandbox mode against a local Discord`);
      this.running = await startSandboxMode(config, this.logger.child({ component: 'sandbox' }), this.options.env);
      ({ token, apiUrl } = this.running.address);
      tokenSource = 'the sandbox';
    }
    const parts = this.compose(apiUrl);
    this.parts = parts;
    const client = await loginClient(parts.client, token ?? '', { tokenSource, logger: this.logger.child({ component: 'discord' }) });
    parts.outboxRest.setToken(token ?? '');
    parts.outbox.resume();
    if (this.running) {
      const guildId = this.running.server.state().guild.id;
      this.registered = await registerCommands(client.rest, { applicationId: client.application.id, guildId, commands });
      this.logger.info({ guildId, commands: this.registered.commands.map((c) => c.name) }, 'slash commands registered in the sandbox guild');
    }
    await parts.jobs.start();
    await parts.app.start();
    // After the app, so the first runs' events have a pipeline to enter.
    parts.schedules.start();
  }

  /**
   * Stops intake, drains the queue, then the Outbox in what is left of shutdown.drain_timeout_ms
   * (one bound for both), logs out and stops the sandbox. Calling it again returns the same result.
   */
  stop(): Promise<BotStopResult> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** The event pipeline (after start). */
  get app(): App<DiscordExtensions> {
    return this.started().app;
  }

  /** The Outbox every module posts through (after start). */
  get outbox(): Outbox {
    return this.started().outbox;
  }

  /** The embedded database (storage.path) the Outbox spool and the alert series live in (after start). */
  get store(): Store {
    return this.started().store;
  }

  /** The job side: JobRegistry, sprockets, ScheduleZero handler (after start). */
  get jobs(): JobSide {
    return this.started().jobs;
  }

  /** The bot's own scheduler: config and Discord schedules (after start). */
  get schedules(): JobScheduler {
    return this.started().schedules;
  }

  /** The discord.js client (after start). */
  get client(): Client {
    return this.started().client;
  }

  /** The sandbox the bot logged into, in sandbox mode once started. */
  get sandbox(): { url: string; token: string; server: RunningSandbox['server'] } | undefined {
    const running = this.running;
    return running && { url: running.address.url, token: running.address.token, server: running.server };
  }

  /** Base URL of /healthz and /metrics ('' before start or when not serving). */
  get httpUrl(): string {
    return this.parts?.app.httpUrl ?? '';
  }

  private started(): Parts {
    if (!this.parts) throw new Error('the bot has not been started');
    return this.parts;
  }

  private compose(apiUrl: string | null | undefined): Parts {
    const { config, logger, metrics } = this;
    const client = createDiscordClient(apiUrl);
    const store = openStore({ path: config.storage.path, baseDir: this.options.loaded.baseDir, logger: logger.child({ component: 'store' }) });
    // The Outbox has a REST client of its own with retries off: it is the one owner of message retries.
    const outboxRest = createOutboxRest(apiUrl);
    const outbox = new Outbox({
      rest: outboxRest,
      metrics,
      logger: logger.child({ component: 'outbox' }),
      store,
      perChannelPending: config.outbox.per_channel_pending,
      retryBaseDelayMs: config.outbox.retry_base_delay_ms,
      retryMaxDelayMs: config.outbox.retry_max_delay_ms,
      probeBaseDelayMs: config.outbox.probe_base_delay_ms,
      probeMaxDelayMs: config.outbox.probe_max_delay_ms,
      maxAgeMs: config.outbox.max_age,
      fallbackChannelId: config.notification_channels.fallback ?? null,
      // What the previous run left in the spool waits until the token is set.
      paused: true,
    });
    const extensions = discordExtensions(outbox, client);
    const auditChannel = config.notification_channels.jobs;
    const jobs = new JobSide({
      config,
      baseDir: this.options.loaded.baseDir,
      discord: () => client,
      logger,
      metrics,
      ...(auditChannel ? { audit: (record) => outbox.post(auditChannel, { embed: jobCallEmbed(record), topic: 'job.call', label: record.method }) } : {}),
      // Job messages go out through the client's REST, in each channel's turn with the Outbox's sends.
      channelTurn: (channelId, request) => outbox.inChannelTurn(channelId, request),
    });
    outbox.observe(client.rest);
    const schedules: JobScheduler = new JobScheduler({
      config,
      logger: logger.child({ component: 'scheduler' }),
      store,
      call: (method, params, signal) => jobs.registry.call(method, params, { signal, source: 'scheduler', dedupe: false }),
      emit: (event) => app.inject(event),
      checkMethod: (method, params) => methodProblem(jobs.registry, method, params),
      methodNames: () => jobs.registry.methodNames(),
    });
    const app: App<DiscordExtensions> = new App<DiscordExtensions>({
      config,
      baseDir: this.options.loaded.baseDir,
      logger,
      metrics,
      // Every event in the log too, when the level asks for that much detail.
      modules: [
        // The App (and its Subscriber) exists by the time any watchdog deadline passes.
        ...builtInModules(config, { metrics, store, lastHeardFrom: (src) => this.parts?.app.lastHeardFrom(src) }),
        devAlertsModule((id) => schedules.get(id)?.payload.sendAlert === true),
        ...(logger.isLevelEnabled('debug') ? [logEvents] : []),
        ...(this.options.modules ?? []),
      ],
      extendContext: () => extensions,
      healthDetails: () => {
        const jobsHealth = jobs.health();
        return {
          ...jobsHealth,
          // A channel the Outbox cannot post to makes /healthz 503 too, with the reason.
          reasons: [...jobsHealth.reasons, ...outbox.problems()],
          discord: {
            mode: this.mode,
            logged_in: client.isReady(),
            user: client.user?.tag ?? null,
            outbox_pending: outbox.pending(),
            unavailable_channels: Object.keys(outbox.unavailableChannels()),
            channels: outbox.channels(),
          },
        };
      },
    });
    const route = interactionRouter({ app, outbox, metrics, jobs, schedules, logger: logger.child({ component: 'commands' }) });
    const onInteraction = (interaction: Interaction): void => void route(interaction);
    client.on(Events.InteractionCreate, onInteraction);
    return { client, store, outboxRest, outbox, app, jobs, schedules, onInteraction };
  }

  private async shutdown(): Promise<BotStopResult> {
    const started = Date.now();
    const bound = this.config.shutdown.drain_timeout_ms;
    const result: BotStopResult = {
      drained: true,
      left: { spooled: 0, lost: 0 },
      queue: { drained: true, droppedOnShutdown: 0 },
      outbox: { drained: true, pendingAtDrain: 0, abandoned: 0, kept: 0 },
      elapsedMs: 0,
    };
    const parts = this.parts;
    if (parts) {
      // No new scheduled runs; those running get a part of the bound, and their events still enter the queue.
      await parts.schedules.stop(Math.min(SCHEDULED_RUNS_GRACE_MS, bound));
      // No new job calls while the rest shuts down; ScheduleZero is told the bot is offline.
      await parts.jobs.stop();
      // Intake stops first; /healthz and /metrics keep serving until the very end.
      result.queue = await parts.app.stop({ drainTimeoutMs: bound, keepHttp: true });
      const left = Math.max(0, bound - (Date.now() - started));
      const pendingAtDrain = parts.outbox.pending();
      if (pendingAtDrain > 0) this.logger.info({ pending: pendingAtDrain, drainTimeoutMs: left }, 'draining the Outbox');
      const abandonedBefore = await this.metrics.value(this.metrics.eventsUndeliverable, { reason: 'shutdown' });
      const drain = await parts.outbox.drain(left);
      const abandoned = (await this.metrics.value(this.metrics.eventsUndeliverable, { reason: 'shutdown' })) - abandonedBefore;
      result.outbox = { drained: drain.drained, pendingAtDrain, abandoned, kept: drain.kept };
      parts.outboxRest.clearHashSweeper();
      parts.outboxRest.clearHandlerSweeper();
      parts.jobs.close();
      parts.client.off(Events.InteractionCreate, parts.onInteraction);
      await parts.client.destroy();
      parts.store.close();
    }
    await this.running?.server.stop();
    result.drained = result.queue.drained && result.outbox.drained;
    result.left = { spooled: result.outbox.kept, lost: result.queue.droppedOnShutdown + result.outbox.abandoned };
    result.elapsedMs = Date.now() - started;
    const log = { ...result };
    if (result.drained) this.logger.info(log, 'bot stopped: queue and Outbox drained');
    else {
      this.logger.warn(
        log,
        `bot stopped: the drain bound of ${bound} ms was reached; ${result.left.spooled} event(s) stay in the spool for the next start, ${result.left.lost} lost`,
      );
    }
    await parts?.app.closeHttp();
    return result;
  }
}
