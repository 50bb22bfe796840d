import type { Config } from '../../config/schema.ts';
import { systemClock, type Clock } from '../../handlers/clock.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Store } from '../../store/index.ts';
import { runEvent, SCHEDULER_SOURCE, type RunEvent } from './run-events.ts';
import { planSchedules, policyOf, triggerKey, type ScheduleDefinition } from './schedule.ts';
import { ScheduleStore, type StoredSchedule } from './schedule-store.ts';
import { Scheduler, type JobView, type RunOutcome, type ScheduledJob } from './scheduler.ts';
import { createTrigger, TriggerError } from './trigger.ts';

/** Schedules kept at most (config and Discord together), so `/schedule add` cannot grow the store without bound. */
export const MAX_SCHEDULES = 500;

/** Runs a job method as the registry would for any caller; rejects with the method's error. */
export type MethodCall = (method: string, params: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>;

/** Options for {@link JobScheduler}. */
export interface JobSchedulerOptions {
  config: Config;
  logger: Logger;
  /** Runs a schedule's job method (the JobRegistry's `call`). */
  call: MethodCall;
  /** Hands each run's catalog event to the pipeline (the App's `inject`); false when it could not be taken. */
  emit: (event: RunEvent & { src: string }) => boolean;
  /** Where schedules added from Discord and every schedule's last and next run are kept; none = memory only. */
  store?: Store;
  /** Why a method or its params cannot be used (unknown method, bad params); undefined when they can. */
  checkMethod?: (method: string, params: Record<string, unknown>) => string | undefined;
  /** The job methods a schedule may run, for autocomplete. */
  methodNames?: () => string[];
  clock?: Clock;
}

/** A schedule as `/schedule list` and the CLI show it: its definition and where its runs stand. */
export type ScheduleView = JobView<ScheduleDefinition>;

/** Raised for a schedule that cannot be added or changed; the message says why, for the person who asked. */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/**
 * The bot's own scheduler: the config's `schedules:` and those added from Discord, each running a
 * job method of the sprocket registry on its trigger; each run becomes a `job.executed`,
 * `job.failed` or `job.missed` event in the pipeline. Schedules and their last and next runs live
 * in the store, so a restart resumes them and the misfire policy meets what fell due meanwhile.
 *
 * @example
 * const schedules = new JobScheduler({ config, logger, store, call: (m, p, signal) => registry.call(m, p, { signal, source: 'scheduler', dedupe: false }), emit: (e) => app.inject(e) });
 * schedules.start();
 */
export class JobScheduler {
  private readonly options: JobSchedulerOptions;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler<ScheduleDefinition>;
  private readonly store?: ScheduleStore;
  private readonly controller = new AbortController();
  private started = false;

  constructor(options: JobSchedulerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    if (options.store) this.store = new ScheduleStore(options.store);
    this.scheduler = new Scheduler<ScheduleDefinition>({
      clock: this.clock,
      logger: options.logger,
      run: (job) => options.call(job.payload.method, job.payload.params, this.controller.signal),
      report: (job, outcome) => this.report(job, outcome),
      onChange: (view) => this.store?.update(view.id, view),
    });
  }

  /**
   * Loads the schedules — stored ones first, then the config's, which win for their ids — and starts
   * running them. What fell due while the bot was down meets each schedule's misfire policy now.
   */
  start(): void {
    if (this.started) throw new Error('JobScheduler.start: already started');
    this.started = true;
    const { config, logger } = this.options;
    const now = this.clock.now();
    const stored = new Map<string, StoredSchedule>();
    if (this.store) {
      const { schedules, unreadable } = this.store.load();
      for (const s of schedules) stored.set(s.definition.id, s);
      if (unreadable.length > 0) logger.warn({ schedules: unreadable }, `${unreadable.length} stored schedule(s) could not be read and were skipped`);
    }
    const plan = planSchedules(config, stored);
    for (const id of plan.forget) {
      // Gone from the config file: the file is the truth for its schedules.
      this.store?.delete(id);
      logger.info({ schedule: id }, `schedule "${id}" is no longer in the config; forgotten`);
    }
    for (const { definition, stored: previous } of plan.install) {
      try {
        this.install(definition, previous, now, definition.origin === 'config');
      } catch (err) {
        // A stored schedule this version cannot read (e.g. a zone the runtime no longer knows) must not stop the bot.
        if (!(err instanceof ScheduleError)) throw err;
        logger.error({ schedule: definition.id, trigger: definition.trigger }, `schedule "${definition.id}" cannot be scheduled and is skipped: ${err.message}`);
      }
    }
    this.scheduler.start();
    const list = this.scheduler.list();
    logger.info(
      { schedules: list.map((v) => ({ id: v.id, next: v.nextRunAt === null ? null : new Date(v.nextRunAt).toISOString(), paused: v.paused })) },
      `scheduler started with ${list.length} schedule(s)`,
    );
  }

  /** Stops starting runs; waits at most `timeoutMs` for those in progress, then signals them to stop. True when all settled. */
  async stop(timeoutMs: number): Promise<boolean> {
    const settled = await this.scheduler.stop(timeoutMs);
    this.controller.abort(new Error('the bot is stopping'));
    this.options.store?.flush();
    return settled;
  }

  /** Adds a schedule from Discord; throws {@link ScheduleError} for a bad trigger, method or params, or a taken id. */
  add(definition: ScheduleDefinition): ScheduleView {
    const existing = this.scheduler.get(definition.id);
    if (existing) throw new ScheduleError(`a schedule "${definition.id}" exists already (${existing.payload.origin === 'config' ? 'from the config file' : 'added from Discord'}); remove it first or pick another id`);
    if (this.scheduler.list().length >= MAX_SCHEDULES) throw new ScheduleError(`there are ${MAX_SCHEDULES} schedules already, the most this bot keeps; remove some first`);
    this.check(definition);
    const view = this.install(definition, undefined, this.clock.now(), true);
    this.options.logger.info({ schedule: definition.id, method: definition.method, trigger: definition.trigger, by: definition.createdBy }, `schedule "${definition.id}" added`);
    return view;
  }

  /** Throws {@link ScheduleError} when a definition's trigger, method or params cannot be used. */
  check(definition: ScheduleDefinition): void {
    try {
      createTrigger(definition.trigger);
    } catch (err) {
      if (err instanceof TriggerError) throw new ScheduleError(err.message);
      throw err;
    }
    const problem = this.options.checkMethod?.(definition.method, definition.params);
    if (problem) throw new ScheduleError(problem);
  }

  /** Removes a schedule added from Discord (config schedules are removed from the file). */
  remove(id: string): ScheduleView {
    const view = this.require(id);
    if (view.payload.origin === 'config') throw new ScheduleError(`"${id}" is defined in the config file, which is read again at every start; remove it there, or pause it`);
    this.scheduler.remove(id);
    this.store?.delete(id);
    this.options.logger.info({ schedule: id }, `schedule "${id}" removed`);
    return view;
  }

  /** Pauses a schedule (kept across restarts) until it is resumed. */
  pause(id: string): ScheduleView {
    this.require(id);
    return this.scheduler.pause(id);
  }

  /** Resumes a paused schedule from its next time after now. */
  resume(id: string): ScheduleView {
    this.require(id);
    return this.scheduler.resume(id);
  }

  /** Runs a schedule now; resolves with the outcome once it settled, or `skipped` at max_instances. */
  runNow(id: string): Promise<RunOutcome | 'skipped'> {
    this.require(id);
    return this.scheduler.runNow(id);
  }

  /** The job methods a schedule may run (the registry's), sorted. */
  methodNames(): string[] {
    return this.options.methodNames?.() ?? [];
  }

  /** One schedule, or undefined. */
  get(id: string): ScheduleView | undefined {
    return this.scheduler.get(id);
  }

  /** Every schedule, soonest next run first. */
  list(): ScheduleView[] {
    return this.scheduler.list();
  }

  private require(id: string): ScheduleView {
    const view = this.scheduler.get(id);
    if (!view) throw new ScheduleError(`there is no schedule "${id}"; /schedule list shows them`);
    return view;
  }

  // Puts a definition into the scheduler, resuming its stored state when the trigger is unchanged.
  private install(definition: ScheduleDefinition, stored: StoredSchedule | undefined, now: number, save: boolean): ScheduleView {
    const same = stored !== undefined && stored.triggerKey === triggerKey(definition.trigger);
    const anchor = same ? stored.anchor : now;
    let trigger;
    try {
      trigger = createTrigger(definition.trigger, anchor);
    } catch (err) {
      if (err instanceof TriggerError) throw new ScheduleError(err.message);
      throw err;
    }
    const resume = same ? { nextRunAt: stored.nextRunAt, lastRunAt: stored.lastRunAt, paused: stored.paused } : { paused: stored?.paused ?? false, lastRunAt: stored?.lastRunAt ?? null };
    if (stored && !same) this.options.logger.info({ schedule: definition.id }, `schedule "${definition.id}": its trigger changed, so its next run is computed afresh`);
    const view = this.scheduler.add({ id: definition.id, trigger, policy: policyOf(definition, this.options.config.scheduler.job_defaults), payload: definition }, resume);
    if (save || !same) this.store?.save(definition, anchor, view);
    const problem = this.options.checkMethod?.(definition.method, definition.params);
    if (problem) this.options.logger.error({ schedule: definition.id, method: definition.method }, `schedule "${definition.id}" cannot run as it is: ${problem}; each run will fail until this is fixed`);
    return view;
  }

  private report(job: ScheduledJob<ScheduleDefinition>, outcome: RunOutcome): void {
    const definition = job.payload;
    const event = runEvent({ id: definition.id, method: definition.method, trigger: job.trigger }, outcome, this.clock.now());
    const level = outcome.kind === 'executed' ? 'info' : 'warn';
    this.options.logger[level]({ schedule: definition.id, topic: event.topic, ...pick(event.data, ['scheduled_start', 'duration', 'error', 'missed_runs']) }, `schedule "${definition.id}": ${event.topic}`);
    if (!this.options.emit({ ...event, src: SCHEDULER_SOURCE })) {
      this.options.logger.warn({ schedule: definition.id, topic: event.topic }, `schedule "${definition.id}": its ${event.topic} event could not enter the pipeline (the bot is stopping)`);
    }
  }
}

function pick(data: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (data[key] !== undefined) out[key] = data[key];
  return out;
}
