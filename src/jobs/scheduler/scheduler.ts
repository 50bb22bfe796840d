import type { Clock, TimerHandle } from '../../handlers/clock.ts';
import type { Logger } from '../../observability/logger.ts';
import { walkDue } from './due.ts';
import type { Trigger } from './trigger.ts';

/** How one job behaves when runs are late or overlap (the `job_defaults` of the config, per job). */
export interface RunPolicy {
  /** Several late runs become one catch-up run instead of one `job.missed` each. */
  coalesce: boolean;
  /** Runs of this job at the same time at most; a run due beyond that is skipped, counted and logged. */
  maxInstances: number;
  /** A run starting later than this after its time is missed (unless coalesced); null = never too late. */
  misfireGraceMs: number | null;
}

/** A job as the Scheduler runs it: an id, a trigger, a policy, and what to run. */
export interface ScheduledJob<P = unknown> {
  id: string;
  trigger: Trigger;
  policy: RunPolicy;
  /** Whatever the runner needs (method and params); the Scheduler only hands it back. */
  payload: P;
}

/** Why a run started. */
export type RunReason = 'schedule' | 'catch-up' | 'manual';

/** One run as the runner is asked to do it. */
export interface RunRequest {
  /** When the run should have started (epoch ms); for a manual run, when it was asked for. */
  scheduledAt: number;
  reason: RunReason;
  /** Late runs folded into this one by `coalesce` (1 for a run on time). */
  coalesced: number;
}

/** What happened to a run, as the Scheduler reports it. */
export type RunOutcome =
  | { kind: 'executed'; run: RunRequest; startedAt: number; durationMs: number; result: unknown }
  | { kind: 'failed'; run: RunRequest; startedAt: number; durationMs: number; error: unknown }
  /** Runs that never started: `scheduledAt` of the first, `count` of them (`atLeast` when a long walk jumped some), the last in `lastScheduledAt`. */
  | { kind: 'missed'; scheduledAt: number; lastScheduledAt: number; count: number; atLeast: boolean; lateMs: number };

/** A job's state as `/schedule list`, the store and the CLI see it. */
export interface JobView<P = unknown> {
  id: string;
  trigger: Trigger;
  policy: RunPolicy;
  payload: P;
  paused: boolean;
  /** Next run time (epoch ms); null when the trigger has no more (a one-shot that ran). */
  nextRunAt: number | null;
  lastRunAt: number | null;
  running: number;
  counts: { runs: number; failed: number; missed: number; skipped: number };
}

/** Where a job's schedule resumes: what the store remembered, or nothing for a new job. */
export interface JobResume {
  nextRunAt?: number | null;
  lastRunAt?: number | null;
  paused?: boolean;
}

/** Options for {@link Scheduler}. */
export interface SchedulerOptions<P> {
  clock: Clock;
  logger: Logger;
  /** Runs one job; a rejection is the run's failure. */
  run: (job: ScheduledJob<P>, request: RunRequest) => Promise<unknown>;
  /** Told of every run's outcome, in order per job. */
  report: (job: ScheduledJob<P>, outcome: RunOutcome) => void;
  /** Told whenever a job's next or last run time or paused state changes (to persist it). */
  onChange?: (view: JobView<P>) => void;
}

/** Late runs reported one by one at most; beyond, the rest of a wake's misses are one report with their count. */
export const MAX_MISSED_REPORTS = 10;
/** Timers are re-armed at least this often, so a far-off run (or a clock jump) is never waited on with one huge timeout. */
const MAX_TIMER_MS = 3_600_000;

interface Entry<P> {
  job: ScheduledJob<P>;
  paused: boolean;
  nextRunAt: number | null;
  lastRunAt: number | null;
  running: Set<Promise<void>>;
  counts: { runs: number; failed: number; missed: number; skipped: number };
}

/**
 * Runs jobs at their triggers' times on an injectable clock, applying each job's misfire grace,
 * coalescing and instance limit. It only decides when; the runner does the work and `report` hears
 * how it went.
 *
 * @example
 * const scheduler = new Scheduler({ clock: systemClock, logger, run: (job) => doIt(job.payload), report: (job, outcome) => log(outcome) });
 * scheduler.add({ id: 'tick', trigger: createTrigger({ every: '5m', timezone: 'UTC' }), policy, payload: {} });
 * scheduler.start();
 */
export class Scheduler<P = unknown> {
  private readonly entries = new Map<string, Entry<P>>();
  private readonly options: SchedulerOptions<P>;
  private timer?: TimerHandle;
  private running = false;

  constructor(options: SchedulerOptions<P>) {
    this.options = options;
  }

  /**
   * Adds (or replaces) a job. A remembered `nextRunAt` in the past is due at once, so what came due
   * while the bot was down meets the misfire policy; without one, the first run is the trigger's next.
   */
  add(job: ScheduledJob<P>, resume: JobResume = {}): JobView<P> {
    const previous = this.entries.get(job.id);
    const now = this.options.clock.now();
    const entry: Entry<P> = {
      job,
      paused: resume.paused ?? previous?.paused ?? false,
      nextRunAt: resume.nextRunAt !== undefined ? resume.nextRunAt : job.trigger.next(now),
      lastRunAt: resume.lastRunAt ?? previous?.lastRunAt ?? null,
      running: previous?.running ?? new Set(),
      counts: previous?.counts ?? { runs: 0, failed: 0, missed: 0, skipped: 0 },
    };
    this.entries.set(job.id, entry);
    this.changed(entry);
    this.arm();
    return this.view(entry);
  }

  /** Removes a job; runs in progress finish. False when there was no such job. */
  remove(id: string): boolean {
    const removed = this.entries.delete(id);
    if (removed) this.arm();
    return removed;
  }

  /** Stops a job's scheduled runs until {@link resume}; what falls due meanwhile is not run. */
  pause(id: string): JobView<P> {
    const entry = this.entry(id);
    entry.paused = true;
    this.changed(entry);
    this.arm();
    return this.view(entry);
  }

  /** Resumes a paused job from its trigger's next time after now. */
  resume(id: string): JobView<P> {
    const entry = this.entry(id);
    if (entry.paused) {
      entry.paused = false;
      entry.nextRunAt = entry.job.trigger.next(this.options.clock.now());
      this.changed(entry);
      this.arm();
    }
    return this.view(entry);
  }

  /** Runs a job now, outside its schedule (paused or not, within its instance limit); resolves when the run has settled. */
  async runNow(id: string): Promise<RunOutcome | 'skipped'> {
    const entry = this.entry(id);
    const request: RunRequest = { scheduledAt: this.options.clock.now(), reason: 'manual', coalesced: 1 };
    let outcome: RunOutcome | undefined;
    const started = this.startRun(entry, request, (o) => (outcome = o));
    if (!started) return 'skipped';
    this.changed(entry);
    await started;
    return outcome ?? 'skipped';
  }

  /** The job with this id, or undefined. */
  get(id: string): JobView<P> | undefined {
    const entry = this.entries.get(id);
    return entry && this.view(entry);
  }

  /** Every job, soonest next run first (jobs without one last). */
  list(): JobView<P>[] {
    return [...this.entries.values()].map((e) => this.view(e)).sort((a, b) => (a.nextRunAt ?? Infinity) - (b.nextRunAt ?? Infinity) || a.id.localeCompare(b.id));
  }

  /** Starts running jobs as they fall due; what is already due is handled at once. */
  start(): void {
    this.running = true;
    this.arm(0);
  }

  /** Stops starting runs and waits, at most `timeoutMs`, for those in progress. True when all settled. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.running = false;
    this.disarm();
    const inFlight = [...this.entries.values()].flatMap((e) => [...e.running]);
    if (inFlight.length === 0) return true;
    let timer: TimerHandle | undefined;
    const bound = new Promise<false>((resolve) => (timer = this.options.clock.setTimeout(() => resolve(false), timeoutMs)));
    const settled = await Promise.race([Promise.allSettled(inFlight).then(() => true as const), bound]);
    this.options.clock.clearTimeout(timer);
    return settled;
  }

  private entry(id: string): Entry<P> {
    const entry = this.entries.get(id);
    if (!entry) throw new Error(`no schedule "${id}"`);
    return entry;
  }

  private view(entry: Entry<P>): JobView<P> {
    return {
      id: entry.job.id,
      trigger: entry.job.trigger,
      policy: entry.job.policy,
      payload: entry.job.payload,
      paused: entry.paused,
      nextRunAt: entry.nextRunAt,
      lastRunAt: entry.lastRunAt,
      running: entry.running.size,
      counts: { ...entry.counts },
    };
  }

  private changed(entry: Entry<P>): void {
    this.options.onChange?.(this.view(entry));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delayMs?: number): void {
    this.disarm();
    if (!this.running) return;
    let wait = delayMs;
    if (wait === undefined) {
      let soonest = Infinity;
      for (const e of this.entries.values()) if (!e.paused && e.nextRunAt !== null && e.nextRunAt < soonest) soonest = e.nextRunAt;
      if (soonest === Infinity) return;
      wait = soonest - this.options.clock.now();
    }
    this.timer = this.options.clock.setTimeout(() => this.wake(), Math.min(Math.max(0, wait), MAX_TIMER_MS));
  }

  private wake(): void {
    this.timer = undefined;
    const now = this.options.clock.now();
    for (const entry of [...this.entries.values()]) {
      if (!entry.paused && entry.nextRunAt !== null && entry.nextRunAt <= now) this.fire(entry, now);
    }
    this.arm();
  }

  // Everything due for one job at `now`: late runs missed or coalesced, the rest started.
  private fire(entry: Entry<P>, now: number): void {
    const { policy, trigger } = entry.job;
    const grace = policy.misfireGraceMs;
    const late = (t: number): boolean => grace !== null && now - t > grace;
    const missed: number[] = [];
    const onTime: number[] = [];
    let lastDue = entry.nextRunAt!;
    let due = 0;
    let missedCount = 0;
    let lastMissed = 0;
    let beyondLimit = 0;
    const walk = walkDue(trigger, entry.nextRunAt!, now, now - (grace ?? 0) - 1, (t) => {
      due++;
      lastDue = t;
      if (policy.coalesce) return;
      if (late(t)) {
        missedCount++;
        lastMissed = t;
        if (missed.length < MAX_MISSED_REPORTS) missed.push(t);
      } else if (onTime.length < policy.maxInstances) onTime.push(t);
      else beyondLimit++;
    });
    entry.nextRunAt = trigger.next(now);
    if (policy.coalesce) {
      this.startRun(entry, { scheduledAt: lastDue, reason: due > 1 || late(lastDue) ? 'catch-up' : 'schedule', coalesced: due });
    } else {
      if (missedCount > 0) this.reportMissed(entry, missed, missedCount, lastMissed, walk.jumped, now);
      for (const t of onTime) this.startRun(entry, { scheduledAt: t, reason: 'schedule', coalesced: 1 });
      if (beyondLimit > 0) this.skipped(entry, beyondLimit, lastDue);
    }
    this.changed(entry);
  }

  // One report per missed run up to MAX_MISSED_REPORTS, then one for the rest with their count.
  private reportMissed(entry: Entry<P>, missed: number[], count: number, lastMissed: number, jumped: boolean, now: number): void {
    entry.counts.missed += count;
    const singles = count > MAX_MISSED_REPORTS ? missed.slice(0, MAX_MISSED_REPORTS - 1) : missed;
    for (const t of singles) this.options.report(entry.job, { kind: 'missed', scheduledAt: t, lastScheduledAt: t, count: 1, atLeast: false, lateMs: now - t });
    if (count > singles.length) {
      const first = missed[singles.length]!;
      this.options.report(entry.job, { kind: 'missed', scheduledAt: first, lastScheduledAt: lastMissed, count: count - singles.length, atLeast: jumped, lateMs: now - lastMissed });
    }
    this.options.logger.warn(
      { schedule: entry.job.id, missed: count, countIsLowerBound: jumped, first: new Date(missed[0]!).toISOString(), last: new Date(lastMissed).toISOString(), graceMs: entry.job.policy.misfireGraceMs },
      `schedule "${entry.job.id}": ${jumped ? 'at least ' : ''}${count} run(s) missed (too late to start within the misfire grace time)`,
    );
  }

  private skipped(entry: Entry<P>, count: number, scheduledAt: number): void {
    const { job } = entry;
    entry.counts.skipped += count;
    this.options.logger.warn(
      { schedule: job.id, scheduledAt: new Date(scheduledAt).toISOString(), skippedNow: count, running: entry.running.size, maxInstances: job.policy.maxInstances, skipped: entry.counts.skipped },
      `schedule "${job.id}": ${count} run(s) skipped, ${entry.running.size} already running (max_instances ${job.policy.maxInstances})`,
    );
  }

  // Starts a run unless the job is at max_instances; returns the run's promise, or undefined when skipped.
  private startRun(entry: Entry<P>, request: RunRequest, onOutcome?: (outcome: RunOutcome) => void): Promise<void> | undefined {
    const { job } = entry;
    if (entry.running.size >= job.policy.maxInstances) {
      this.skipped(entry, 1, request.scheduledAt);
      return undefined;
    }
    const { clock } = this.options;
    const startedAt = clock.now();
    entry.lastRunAt = startedAt;
    entry.counts.runs++;
    const settle = (outcome: RunOutcome): void => {
      if (outcome.kind === 'failed') entry.counts.failed++;
      this.options.report(job, outcome);
      onOutcome?.(outcome);
    };
    // Called at once, so a run starts at its timer's moment; a synchronous throw is its failure too.
    let work: Promise<unknown>;
    try {
      work = Promise.resolve(this.options.run(job, request));
    } catch (err) {
      work = Promise.reject(err);
    }
    const promise: Promise<void> = work
      .then(
        (result) => settle({ kind: 'executed', run: request, startedAt, durationMs: clock.now() - startedAt, result }),
        (error: unknown) => settle({ kind: 'failed', run: request, startedAt, durationMs: clock.now() - startedAt, error }),
      )
      .catch((err: unknown) => this.options.logger.error({ err, schedule: job.id }, `schedule "${job.id}": reporting its run failed`))
      .finally(() => entry.running.delete(promise));
    entry.running.add(promise);
    return promise;
  }
}
