import { endpointsOf } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { collectOnScrape } from './observability/collect.ts';
import { HealthServer, type HealthReport } from './observability/health.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { BoundedQueue } from './pipeline/bounded-queue.ts';
import { Dispatcher } from './pipeline/dispatcher.ts';
import type { CoreModuleContext, ModuleCleanup, ModuleDefinition } from './pipeline/module.ts';
import { loadModules, runCleanups, setupModules, type LoadedModule } from './pipeline/modules.ts';
import { HandlerRegistry, type HandlerInfo } from './pipeline/registry.ts';
import type { ZmqEvent } from './pipeline/event.ts';
import { Subscriber, type EndpointProblem, type Handover, type ListenerState, type MalformedReport } from './transport/subscriber.ts';
import { LogThrottle } from './observability/log-throttle.ts';

type NoExtensions = Record<never, never>;

/** How the app adds its extensions (X) to each module's context; required when X has members. */
export type ContextExtensionOption<X extends object> = NoExtensions extends X
  ? { extendContext?: (core: CoreModuleContext<X>) => X }
  : { extendContext: (core: CoreModuleContext<X>) => X };

/** Options for {@link App}. */
export type AppOptions<X extends object = object> = {
  config: Config;
  /** Directory that relative `modules:` paths are resolved against (the config file's); default the working directory. */
  baseDir?: string;
  logger?: Logger;
  metrics?: Metrics;
  /** Modules the program provides, set up before the ones the config lists. */
  modules?: readonly ModuleDefinition<X>[];
  /** Serve /healthz and /metrics; default `config.http.enabled`. */
  http?: boolean;
  /** More sections for /healthz (e.g. the Discord side), computed on each request; they cannot replace the app's own. */
  healthDetails?: () => Record<string, unknown>;
} & ContextExtensionOption<X>;

/** One publisher as `/zmq_status` shows it. */
export interface PublisherStats {
  src: string;
  /** Run id of its last message (one per publisher start), when its envelopes carry one. */
  run?: string;
  /** False when it sends no sequence numbers (ScheduleZero's broker): what it lost cannot be known. */
  lossDetection: boolean;
  /** Null without sequence numbers. */
  lastSeq: number | null;
  lastEventAgeSeconds: number;
  received: number;
  /** Null when loss detection is unavailable: not "0 lost". */
  lost: number | null;
  /** Events it sent before we connected to it (first seq seen − 1, per run); not lost. */
  beforeConnect: number;
  gaps: number;
  restarts: number;
}

export type { ListenerState } from './transport/subscriber.ts';

/** Everything `/zmq_status` shows. received = dispatched + dropped.total + queue.depth, always. */
export interface AppStatus {
  listener: {
    state: ListenerState;
    endpoints: string[];
    connected: string[];
    topics: string[];
    /** Times the listener was restarted with restartListener() (its own recoveries not included). */
    restarts: number;
    /** Endpoints that are not PUB sockets (e.g. ScheduleZero's registration REP), with what to do. */
    problems: EndpointProblem[];
  };
  queue: { depth: number; capacity: number; byPriority: Record<number, number> };
  counts: {
    received: number;
    dispatched: number;
    dropped: { overflow: number; malformed: number; shutdown: number; total: number };
    /** Events the network lost (publisher sequence gaps), from publishers that send sequence numbers. */
    lost: number;
    /** Publishers seen that send no sequence numbers: their losses are not in `lost`. */
    unsequencedPublishers: number;
    /** Events publishers sent before we connected to them; not lost. */
    beforeConnect: number;
    unhandled: number;
    handlerErrors: number;
    /** Malformed messages by kind, salvaged ones included. */
    malformed: Record<string, number>;
  };
  /** Events whose handlers are running now. */
  inFlight: number;
  modules: string[];
  handlers: HandlerInfo[];
  publishers: PublisherStats[];
  /** Seconds since the last event; null before the first. */
  lastEventAgeSeconds: number | null;
  uptimeSeconds: number;
  /** Base URL of /healthz and /metrics, when serving. */
  httpUrl?: string;
}

/** What {@link App.restartListener} did. */
export interface ListenerRestart {
  /** The listener's state afterwards. */
  state: ListenerState;
  /** How the old socket was retired: `caught-up` and `quiet` mean nothing in flight was dropped (see Subscriber.restart). */
  handover: Handover['how'];
  /** How long the handover from the old socket to the new one took, ms (the wait for endpoints that were down not included). */
  tookMs: number;
  /** Messages read from the old socket while the new one connected, and messages the new one received meanwhile. */
  fromOldSocket: number;
  held: number;
  /** Messages both sockets received, delivered once. */
  duplicates: number;
  /** Each endpoint, and whether the new socket had connected to it when the result was taken. */
  endpoints: { endpoint: string; connected: boolean }[];
  /** Events queued when the restart began: a restart keeps them queued, and they go on being dispatched. */
  kept: number;
  /** Events the publishers' sequence numbers showed lost between the start of the restart and the result. */
  lost: number;
}

/** Options for {@link App.restartListener}. */
export interface RestartOptions {
  /** How long to wait for the new socket to connect every endpoint before reporting, ms (default 2,000; 0 reports at once). */
  connectTimeoutMs?: number;
  /** Bound of the handover from the old socket to the new one, ms (default 2,000). */
  handoverTimeoutMs?: number;
}

/** What {@link App.stop} did. */
export interface StopResult {
  /** True when every queued event was dispatched and every handler finished within the bound. */
  drained: boolean;
  /** Events still queued at the bound, dropped with reason `shutdown`. */
  droppedOnShutdown: number;
}

const DEFAULT_CONNECT_WAIT_MS = 2_000;

type Phase = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The bot's event pipeline, composed: Subscriber → BoundedQueue → Dispatcher → module handlers,
 * with metrics and the health endpoint. `X` is what the program adds to every module's context.
 */
export class App<X extends object = object> {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly registry = new HandlerRegistry<X>();
  private readonly queue: BoundedQueue<ZmqEvent>;
  private readonly dispatcher: Dispatcher<X>;
  private readonly subscriber: Subscriber;
  private readonly options: AppOptions<X>;
  private readonly health?: HealthServer;
  private readonly overflowLog = new LogThrottle(10_000);
  private phase: Phase = 'new';
  private startedAt = Date.now();
  private stopping?: Promise<StopResult>;
  private moduleNames: string[] = [];
  private cleanups: { module: string; cleanup: ModuleCleanup }[] = [];
  private counts = { received: 0, droppedMalformed: 0, droppedShutdown: 0, restarts: 0 };
  /** events_received_total bound to each subscribed prefix ('' included) once, not per event. */
  private readonly receivedByPrefix = new Map<string, { inc(): void }>();

  constructor(options: AppOptions<X>) {
    this.options = options;
    const { config } = options;
    this.config = config;
    this.logger = options.logger ?? createLogger({ level: config.log_level });
    this.metrics = options.metrics ?? new Metrics();
    this.queue = new BoundedQueue<ZmqEvent>({
      capacity: config.queue.capacity,
      priorities: config.queue.priorities,
      defaultPriority: config.queue.default_priority,
      onDrop: (event) => this.onOverflow(event),
    });
    this.dispatcher = new Dispatcher<X>({
      queue: this.queue,
      registry: this.registry,
      logger: this.logger.child({ component: 'dispatcher' }),
      metrics: this.metrics,
      concurrency: config.dispatcher.concurrency,
      handlerTimeoutMs: config.dispatcher.handler_timeout_ms,
      abandonAfterMs: config.dispatcher.abandon_after_ms,
      maxEventsPerSecond: config.dispatcher.max_events_per_second,
    });
    this.subscriber = new Subscriber({
      endpoints: endpointsOf(config),
      topics: config.topics,
      receiveHwm: config.subscriber.receive_hwm,
      reconnectIntervalMs: config.subscriber.reconnect_interval_ms,
      reconnectMaxIntervalMs: config.subscriber.reconnect_max_interval_ms,
      maxPayloadBytes: config.subscriber.max_payload_bytes,
      logger: this.logger.child({ component: 'subscriber' }),
    });
    for (const prefix of ['', ...this.subscriber.topics]) this.receivedByPrefix.set(prefix, this.metrics.eventsReceived.labels(prefix));
    this.subscriber.on('event', (event) => this.onEvent(event));
    this.subscriber.on('malformed', (report) => this.onMalformed(report));
    this.subscriber.on('gap', ({ lost }) => this.metrics.eventsLost.inc(lost));
    this.subscriber.on('before-connect', ({ count }) => this.metrics.eventsBeforeConnect.inc(count));
    this.subscriber.on('publisher-restart', ({ lost }) => {
      this.metrics.publisherRestarts.inc();
      if (lost > 0) this.metrics.eventsLost.inc(lost);
    });
    this.subscriber.on('state', (state) => this.metrics.listenerUp.set(state === 'running' ? 1 : 0));

    this.metrics.queueCapacity.set(this.queue.capacity);
    collectOnScrape(this.metrics.queueDepth, () => this.queue.size + this.dispatcher.stats().waiting);
    collectOnScrape(this.metrics.listenerUp, () => (this.subscriber.state === 'running' ? 1 : 0));

    if (options.http ?? config.http.enabled) {
      this.health = new HealthServer({
        host: config.http.host,
        port: config.http.port,
        metrics: this.metrics,
        report: () => {
          const details = options.healthDetails?.() ?? {};
          const own = this.healthReport();
          // Both sides may say why the bot cannot do its job; /healthz lists every reason.
          const reasons = [...(Array.isArray(details.reasons) ? (details.reasons as string[]) : []), ...(own.reasons ?? [])];
          return { ...details, ...own, reasons };
        },
        logger: this.logger.child({ component: 'http' }),
      });
    }
  }

  /** Loads and sets up the modules, then starts the health endpoint, the dispatcher and the listener. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error(`App.start: already ${this.phase}`);
    this.phase = 'starting';
    this.startedAt = Date.now();
    try {
      const builtIn: LoadedModule<X>[] = (this.options.modules ?? []).map((definition) => ({ definition }));
      const configured = await loadModules<X>(this.config.modules, this.options.baseDir ?? process.cwd());
      const extend = this.options.extendContext ?? ((): X => ({}) as X);
      const setUp = await setupModules([...builtIn, ...configured], { registry: this.registry, config: this.config, logger: this.logger, extend });
      this.moduleNames = setUp.names;
      this.cleanups = setUp.cleanups;
      this.logger.info({ modules: this.moduleNames, handlers: this.registry.list().map((h) => h.name) }, 'modules set up');
      if (this.health) {
        const url = await this.health.start();
        this.logger.info({ url, metrics: `${url}/metrics`, healthz: `${url}/healthz` }, `metrics at ${url}/metrics, health at ${url}/healthz`);
      }
      this.dispatcher.start();
      await this.subscriber.start();
      this.phase = 'running';
    } catch (err) {
      this.dispatcher.stop();
      await this.health?.stop();
      await this.runCleanups();
      this.phase = 'stopped';
      throw err;
    }
  }

  /**
   * Stops intake, dispatches what is queued within `drainTimeoutMs` (default
   * config.shutdown.drain_timeout_ms), drops the rest with reason `shutdown`, then runs module
   * cleanups and closes the health endpoint, unless `keepHttp` (then {@link App.closeHttp} does,
   * so /healthz and /metrics serve until the program's own shutdown ends). Calling it again
   * returns the same result.
   */
  stop(options: { drainTimeoutMs?: number; keepHttp?: boolean } = {}): Promise<StopResult> {
    this.stopping ??= this.shutdown(options.drainTimeoutMs ?? this.config.shutdown.drain_timeout_ms, options.keepHttp ?? false);
    return this.stopping;
  }

  /** Closes /healthz and /metrics (after `stop({ keepHttp: true })`); harmless when not serving. */
  async closeHttp(): Promise<void> {
    await this.health?.stop();
  }

  /**
   * Restarts the ZeroMQ listener with a fresh socket, connected before the old one is closed, so
   * nothing in flight is lost; queued events stay queued and keep being dispatched. Resolves once
   * the new socket has connected every endpoint or `connectTimeoutMs` has passed, with what was
   * kept and lost; rejects when the new socket cannot be opened (the old one then keeps running).
   * @example
   * const { state, kept, endpoints } = await app.restartListener({ connectTimeoutMs: 2_000 });
   */
  async restartListener(options: RestartOptions = {}): Promise<ListenerRestart> {
    if (this.phase !== 'running') throw new Error(`cannot restart the listener: the app is ${this.phase}`);
    this.logger.info('restarting the ZeroMQ listener');
    const kept = this.queue.size;
    const lostBefore = this.subscriber.stats().lost;
    this.counts.restarts++;
    const handover = await this.subscriber.restart(options.handoverTimeoutMs);
    await this.connections(options.connectTimeoutMs ?? DEFAULT_CONNECT_WAIT_MS);
    const { connected, lost } = this.subscriber.stats();
    const live = new Set(connected);
    return {
      state: this.subscriber.state,
      handover: handover.how,
      tookMs: handover.tookMs,
      fromOldSocket: handover.fromOldSocket,
      held: handover.held,
      duplicates: handover.duplicates,
      endpoints: this.subscriber.endpoints.map((endpoint) => ({ endpoint, connected: live.has(endpoint) })),
      kept,
      lost: lost - lostBefore,
    };
  }

  /**
   * Puts an event the bot produced itself (a scheduled job's run) through the pipeline exactly like
   * one received from a publisher: counted, queued, dispatched to the same handlers. False (and
   * nothing queued) unless the app is running.
   * @example
   * app.inject({ topic: 'job.failed', data: { job_id: 'daily_report', error: 'boom' }, src: 'zmq-notify/scheduler' });
   */
  inject(event: { topic: string; data: Record<string, unknown>; src: string }): boolean {
    if (this.phase !== 'running') return false;
    const now = Date.now();
    this.onEvent({ topic: event.topic, data: event.data, meta: { src: event.src, ts: new Date(now).toISOString(), receivedAt: now } });
    return true;
  }

  /** When anything was last received from publisher `src` (ms since the epoch), read before the queue; undefined when never. */
  lastHeardFrom(src: string): number | undefined {
    return this.subscriber.lastHeardFrom(src);
  }

  /** Events waiting in the queue now. */
  get queued(): number {
    return this.queue.size;
  }

  /** A snapshot of everything `/zmq_status` shows. */
  status(): AppStatus {
    const now = Date.now();
    const sub = this.subscriber.stats();
    const dispatcher = this.dispatcher.stats();
    const dropped = { overflow: this.queue.dropped, malformed: this.counts.droppedMalformed, shutdown: this.counts.droppedShutdown, total: 0 };
    dropped.total = dropped.overflow + dropped.malformed + dropped.shutdown;
    const status: AppStatus = {
      listener: {
        state: this.subscriber.state,
        endpoints: [...this.subscriber.endpoints],
        connected: sub.connected,
        topics: [...this.subscriber.topics],
        restarts: this.counts.restarts,
        problems: sub.problems,
      },
      // Events the rate cap holds were taken from the queue but not yet dispatched: still queued.
      queue: { depth: this.queue.size + dispatcher.waiting, capacity: this.queue.capacity, byPriority: this.queue.sizeByPriority() },
      counts: {
        received: this.counts.received,
        dispatched: dispatcher.dispatched,
        dropped,
        lost: sub.lost,
        beforeConnect: sub.beforeConnect,
        unsequencedPublishers: 0,
        unhandled: dispatcher.unhandled,
        handlerErrors: dispatcher.handlerErrors,
        malformed: sub.malformed,
      },
      inFlight: dispatcher.inFlight,
      modules: [...this.moduleNames],
      handlers: this.registry.list(),
      publishers: this.subscriber.publishers().map((p) => ({
        src: p.src,
        ...(p.run !== undefined && { run: p.run }),
        lossDetection: p.sequenced,
        lastSeq: p.sequenced ? p.lastSeq : null,
        lastEventAgeSeconds: ageSeconds(now, p.lastReceivedAt),
        received: p.received,
        lost: p.sequenced ? p.lost : null,
        beforeConnect: p.beforeConnect,
        gaps: p.gaps,
        restarts: p.restarts,
      })),
      lastEventAgeSeconds: sub.lastEventAt === undefined ? null : ageSeconds(now, sub.lastEventAt),
      uptimeSeconds: ageSeconds(now, this.startedAt),
    };
    status.counts.unsequencedPublishers = status.publishers.filter((p) => !p.lossDetection).length;
    if (this.health?.url) status.httpUrl = this.health.url;
    return status;
  }

  /** Base URL of /healthz and /metrics once started (empty when not serving). */
  get httpUrl(): string {
    return this.health?.url ?? '';
  }

  // Resolves once every endpoint is connected, or after `timeoutMs`.
  private connections(timeoutMs: number): Promise<void> {
    const subscriber = this.subscriber;
    const all = (): boolean => subscriber.stats().connected.length >= subscriber.endpoints.length;
    if (all() || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        subscriber.off('connection', check);
        resolve();
      };
      const check = (): void => {
        if (all()) done();
      };
      const timer = setTimeout(done, timeoutMs);
      subscriber.on('connection', check);
    });
  }

  private healthReport(): HealthReport {
    const stats = this.status();
    const { problems, endpoints } = stats.listener;
    // Not a PUB on every endpoint: nothing can ever arrive, which a restart does not change.
    const reasons = problems.length > 0 && problems.length === endpoints.length ? problems.map((p) => p.message) : [];
    if (this.phase === 'stopping' || this.phase === 'stopped') reasons.push('shutting down: intake stopped, draining what is pending');
    return {
      reasons,
      listener: stats.listener,
      queue: { depth: stats.queue.depth, capacity: stats.queue.capacity },
      last_event_age_seconds: stats.lastEventAgeSeconds,
      publishers: stats.publishers.map((p) => ({
        src: p.src,
        ...(p.run !== undefined && { run: p.run }),
        loss_detection: p.lossDetection ? 'sequence numbers' : 'unavailable: this publisher sends no sequence numbers',
        last_seq: p.lastSeq,
        last_event_age_seconds: p.lastEventAgeSeconds,
        received: p.received,
        lost: p.lost,
        before_connect: p.beforeConnect,
        gaps: p.gaps,
        restarts: p.restarts,
      })),
      uptime_seconds: stats.uptimeSeconds,
    };
  }

  // The receive hot path: count, queue, wake the dispatcher.
  private onEvent(event: ZmqEvent): void {
    this.counts.received++;
    this.countReceived(event.topic);
    this.queue.push(event);
    this.dispatcher.notify();
  }

  // Salvaged messages arrive again as `event`; only unusable ones are counted here as received.
  private onMalformed(report: MalformedReport): void {
    this.metrics.framesMalformed.inc({ kind: report.kind });
    if (!report.dropped) return;
    this.counts.received++;
    this.counts.droppedMalformed++;
    this.countReceived(report.topic ?? '');
    this.metrics.eventsDropped.inc({ reason: 'malformed' });
  }

  private onOverflow(event: ZmqEvent): void {
    this.metrics.eventsDropped.inc({ reason: 'overflow' });
    const decision = this.overflowLog.hit('overflow', Date.now());
    if (decision.log) {
      this.logger.warn(
        { topic: event.topic, capacity: this.queue.capacity, droppedSinceLastLog: decision.suppressed, droppedTotal: this.queue.dropped },
        'queue full: dropped the lowest-priority oldest event; further drops are counted and logged at most every 10 s',
      );
    }
  }

  private countReceived(topic: string): void {
    const prefix = this.prefixLabel(topic);
    const counter = this.receivedByPrefix.get(prefix);
    if (counter) counter.inc();
    else this.metrics.eventsReceived.inc({ topic_prefix: prefix });
  }

  // The received counter is labelled by the subscribed topic the event matched (bounded by the
  // config), never by the topic itself, which comes from the network.
  private prefixLabel(topic: string): string {
    let best = '';
    for (const prefix of this.subscriber.topics) {
      if (prefix.length > best.length && topic.startsWith(prefix)) best = prefix;
    }
    return best;
  }

  private async shutdown(drainTimeoutMs: number, keepHttp: boolean): Promise<StopResult> {
    const wasRunning = this.phase === 'running';
    this.phase = 'stopping';
    await this.subscriber.stop();
    let drained = true;
    let droppedOnShutdown = 0;
    if (wasRunning) {
      this.logger.info({ queued: this.queue.size, inFlight: this.dispatcher.stats().inFlight, drainTimeoutMs }, 'intake stopped; draining the queue');
      drained = await this.dispatcher.drain(drainTimeoutMs);
    }
    this.dispatcher.stop();
    droppedOnShutdown = this.queue.clear() + this.dispatcher.discardWaiting();
    if (droppedOnShutdown > 0) {
      this.counts.droppedShutdown += droppedOnShutdown;
      this.metrics.eventsDropped.inc({ reason: 'shutdown' }, droppedOnShutdown);
    }
    await this.runCleanups();
    if (!keepHttp) await this.health?.stop();
    this.phase = 'stopped';
    const { dispatched, inFlight } = this.dispatcher.stats();
    const log = { drained, droppedOnShutdown, dispatched, stillRunning: inFlight };
    if (drained) this.logger.info(log, 'stopped: queue drained');
    else this.logger.warn(log, `stopped: drain bound of ${drainTimeoutMs} ms reached`);
    return { drained, droppedOnShutdown };
  }

  private async runCleanups(): Promise<void> {
    const cleanups = this.cleanups;
    this.cleanups = [];
    await runCleanups(cleanups, this.logger);
  }
}

function ageSeconds(now: number, then: number): number {
  return Math.max(0, Math.round((now - then) / 100) / 10);
}
