import PQueue from 'p-queue';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ZmqEvent } from './event.ts';
import { LogThrottle } from '../observability/log-throttle.ts';
import type { BoundedQueue } from './bounded-queue.ts';
import type { HandlerCall } from './module.ts';
import type { HandlerRegistry, Registration } from './registry.ts';

/** How a handler failed. */
export type HandlerFailure = 'throw' | 'reject' | 'timeout';

/** Options for {@link Dispatcher}. */
export interface DispatcherOptions<X extends object = object> {
  queue: BoundedQueue<ZmqEvent>;
  registry: HandlerRegistry<X>;
  logger: Logger;
  metrics?: Metrics;
  /** Events whose handlers may run at once. */
  concurrency: number;
  /** A handler call still running after this long is counted as timed out and its AbortSignal is aborted. */
  handlerTimeoutMs: number;
  /** After the timeout, how long a call keeps its slot to settle before it is abandoned (default 5000). */
  abandonAfterMs?: number;
  /** Cap on events handed to handlers per second; null or undefined = no cap. */
  maxEventsPerSecond?: number | null;
}

/** Counts the dispatcher keeps, for stats. */
export interface DispatcherStats {
  dispatched: number;
  unhandled: number;
  /** Events whose handlers hold a slot now (timed-out ones still settling included). */
  inFlight: number;
  /** Events taken from the queue that wait for the events-per-second cap. */
  waiting: number;
  handlerErrors: number;
  /** Handler calls abandoned: still running after their abort, their slot freed. */
  abandoned: number;
  /** Abandoned calls still running now (at most `concurrency`). */
  abandonedRunning: number;
}

/** A handler failing on every event logs its first failure of each kind, then one line per this interval. */
const FAILURE_LOG_INTERVAL_MS = 10_000;
const DEFAULT_ABANDON_AFTER_MS = 5_000;

/** One handler call: its lazily created AbortSignal, and whether it has settled. */
class Call<X extends object> implements HandlerCall {
  settled = false;
  timedOut = false;
  private controller: AbortController | undefined;
  private reason: Error | undefined;

  constructor(readonly registration: Registration<X>) {}

  // Most handlers never look at the signal, so a controller is made only for those that do.
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/** One event's handler calls, and a promise (never rejecting) that settles with the last of them. */
interface Delivery<X extends object> {
  event: ZmqEvent;
  calls: Call<X>[];
  done?: Promise<unknown>;
  /** Frees the event's p-queue slot before its calls settle (abandonment). */
  release?: () => void;
  abandoned: boolean;
}

/**
 * Takes events from the BoundedQueue and runs their handlers through a p-queue, one task per
 * event, which owns the concurrency and the events-per-second cap (`intervalCap`). Events are
 * handed to p-queue only while it has a free slot, so a backlog waits in the bounded queue, where
 * the overflow policy applies, and nowhere else.
 *
 * The timeout is not p-queue's: p-queue's frees the slot when it fires while the handler runs on,
 * and p-timeout builds an Error with a stack trace for every task (12 µs per event, a quarter of
 * the bench's throughput). Here a call that returned a promise and outlives `handlerTimeoutMs`
 * has its AbortSignal aborted and keeps its slot until it settles, or until `abandonAfterMs`
 * later, when it is abandoned: logged, counted, and its slot freed. At most `concurrency`
 * abandoned calls may run at once; beyond that a timed-out call keeps its slot, so handler calls
 * running at once never exceed twice `concurrency`.
 */
export class Dispatcher<X extends object = object> {
  private readonly queue: BoundedQueue<ZmqEvent>;
  private readonly registry: HandlerRegistry<X>;
  private readonly logger: Logger;
  private readonly metrics?: Metrics;
  private readonly concurrency: number;
  private readonly handlerTimeoutMs: number;
  private readonly abandonAfterMs: number;
  private readonly workers: PQueue;
  /** With an events-per-second cap, p-queue starts every event; without, only asynchronous calls enter it. */
  private readonly capped: boolean;
  private running = false;
  private pumping = false;
  private abandonedRunning = 0;
  private idleWaiters: (() => void)[] = [];
  private counts = { dispatched: 0, unhandled: 0, handlerErrors: 0, abandoned: 0 };
  private readonly failureLog = new LogThrottle(FAILURE_LOG_INTERVAL_MS);

  constructor(options: DispatcherOptions<X>) {
    this.queue = options.queue;
    this.registry = options.registry;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.concurrency = options.concurrency;
    this.handlerTimeoutMs = options.handlerTimeoutMs;
    this.abandonAfterMs = options.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
    const rate = options.maxEventsPerSecond;
    // A tenth of a second's worth per window: at most rate·t + burst events in any t seconds.
    const burst = rate ? Math.max(1, Math.ceil(rate / 10)) : undefined;
    this.capped = burst !== undefined;
    this.workers = new PQueue({
      concurrency: options.concurrency,
      autoStart: false,
      ...(rate && burst ? { intervalCap: burst, interval: (burst * 1000) / rate } : {}),
    });
    // A slot p-queue freed is filled from the bounded queue.
    this.workers.on('next', () => this.pump());
  }

  /** Starts taking events from the queue. */
  start(): void {
    this.running = true;
    this.workers.start();
    this.pump();
  }

  /** Stops taking events; handlers already running finish on their own, events waiting for the rate cap wait. */
  stop(): void {
    this.running = false;
    this.workers.pause();
    this.notifyIdle();
  }

  /** Drops the events waiting for the rate cap (they were never dispatched) and returns how many. */
  discardWaiting(): number {
    const waiting = this.workers.size;
    this.workers.clear();
    this.notifyIdle();
    return waiting;
  }

  /** Tells the dispatcher the queue has new events (call after every push). */
  notify(): void {
    if (this.running) this.pump();
  }

  /**
   * Resolves true once the queue is empty and no handler holds a slot, or false after `timeoutMs`.
   * Keeps dispatching meanwhile (starting the dispatcher if it was not running).
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (!this.running) this.start();
    if (this.isIdle()) return true;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    const drained = new Promise<boolean>((resolve) => {
      waiter = () => resolve(true);
      this.idleWaiters.push(waiter);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await drained;
    clearTimeout(timer);
    this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
    return result;
  }

  /** Events handed to handlers, unhandled ones, events running now, handler failures, abandoned calls. */
  stats(): DispatcherStats {
    return { ...this.counts, inFlight: this.workers.pending, waiting: this.workers.size, abandonedRunning: this.abandonedRunning };
  }

  private isIdle(): boolean {
    return this.queue.size === 0 && this.workers.pending === 0 && this.workers.size === 0;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // Starts events while p-queue has a free slot. With a rate cap, p-queue decides when each starts.
  // Without one, p-queue would start it at once anyway, so the handlers run here, and only calls
  // still running (a promise) are handed to p-queue to hold their slot: synchronous handlers, the
  // common case under a flood, cost no p-queue task (a third of the pipeline's CPU in the bench).
  private pump(): void {
    // A handler that pushes events synchronously must not start a second loop beside this one.
    if (this.pumping) return;
    this.pumping = true;
    try {
      const workers = this.workers;
      while (this.running && workers.pending + workers.size < this.concurrency) {
        const next = this.take();
        if (next === undefined) break;
        const delivery: Delivery<X> = { event: next.event, calls: next.handlers.map((r) => new Call(r)), abandoned: false };
        // The tasks never reject: deliver() catches whatever the handlers do.
        if (this.capped) void workers.add((): unknown => this.deliver(delivery));
        else {
          const running = this.deliver(delivery);
          if (running !== undefined) void workers.add(() => running);
        }
      }
    } finally {
      this.pumping = false;
    }
    this.notifyIdle();
  }

  // The next event that has handlers, counting unhandled ones on the way (they never take a slot
  // or spend the rate budget); undefined when the queue is empty.
  private take(): { event: ZmqEvent; handlers: Registration<X>[] } | undefined {
    for (;;) {
      const event = this.queue.shift();
      if (event === undefined) return undefined;
      const handlers = this.registry.match(event.topic);
      if (handlers.length > 0) return { event, handlers };
      this.counts.dispatched++;
      this.counts.unhandled++;
      this.metrics?.eventsDispatched.inc();
      this.metrics?.eventsUnhandled.inc();
    }
  }

  // Runs an event's handlers in its p-queue slot. Synchronous handlers (the common case under a
  // flood) cost no promise and no timer; otherwise the slot is held by a promise that settles with
  // the calls, or earlier when they are abandoned. Never rejects, whatever the handlers do.
  private deliver(delivery: Delivery<X>): Promise<void> | undefined {
    this.counts.dispatched++;
    this.metrics?.eventsDispatched.inc();
    const { event, calls } = delivery;
    if (calls.length === 1) delivery.done = this.run(calls[0] as Call<X>, event);
    else {
      const runs = calls.map((call) => this.run(call, event));
      if (runs.some((r) => r !== undefined)) delivery.done = Promise.all(runs);
    }
    const done = delivery.done;
    if (done === undefined) return undefined;
    return new Promise<void>((release) => {
      delivery.release = release;
      const timer = setTimeout(() => this.overran(delivery), this.handlerTimeoutMs);
      void done.then(() => {
        clearTimeout(timer);
        if (delivery.abandoned) this.abandonedRunning--;
        release();
      });
    });
  }

  // Runs one handler call. Returns a promise (that never rejects) only when the handler returned one.
  private run(call: Call<X>, event: ZmqEvent): Promise<void> | undefined {
    const registration = call.registration;
    const started = performance.now();
    let result: void | Promise<void>;
    try {
      result = registration.handler(event, registration.context, call);
    } catch (err) {
      call.settled = true;
      this.failed(registration, event, 'throw', err);
      return undefined;
    }
    if (!result || typeof (result as Promise<void>).then !== 'function') {
      call.settled = true;
      this.metrics?.handlerSeconds.observe((performance.now() - started) / 1000);
      return undefined;
    }
    return Promise.resolve(result).then(
      () => {
        call.settled = true;
        if (!call.timedOut) this.metrics?.handlerSeconds.observe((performance.now() - started) / 1000);
      },
      (err: unknown) => {
        call.settled = true;
        // A rejection after the timeout was already counted as the timeout.
        if (!call.timedOut) this.failed(registration, event, 'reject', err);
      },
    );
  }

  // The calls outlived the timeout: abort those still running; they keep the slot for now.
  private overran(delivery: Delivery<X>): void {
    const running = delivery.calls.filter((call) => !call.settled);
    if (running.length === 0) return;
    const reason = new Error(`handler still running after ${this.handlerTimeoutMs} ms`);
    reason.name = 'TimeoutError';
    for (const call of running) {
      call.timedOut = true;
      call.abort(reason);
      this.failed(call.registration, delivery.event, 'timeout', reason);
    }
    const timer = setTimeout(() => this.abandon(delivery), this.abandonAfterMs);
    void delivery.done?.then(() => clearTimeout(timer));
  }

  // The calls ignored their abort for abandonAfterMs: free their slot, unless too many abandoned
  // calls already run, in which case this one keeps its slot until it settles.
  private abandon(delivery: Delivery<X>): void {
    const running = delivery.calls.filter((call) => !call.settled);
    if (running.length === 0) return;
    const names = running.map((call) => call.registration.name);
    if (this.abandonedRunning >= this.concurrency) {
      const decision = this.failureLog.hit('\u0000abandon-cap', Date.now());
      if (decision.log) {
        this.logger.warn(
          { topic: delivery.event.topic, handlers: names, abandonedRunning: this.abandonedRunning, notLoggedSinceLast: decision.suppressed },
          `handler ignores its abort, but ${this.abandonedRunning} abandoned calls already run: it keeps its slot until it settles`,
        );
      }
      return;
    }
    delivery.abandoned = true;
    this.abandonedRunning++;
    for (const call of running) {
      this.counts.abandoned++;
      this.metrics?.handlerAbandoned.inc({ handler: call.registration.name });
      const decision = this.failureLog.hit(`${call.registration.name}\u0000abandoned`, Date.now());
      if (decision.log) {
        this.logger.warn(
          { topic: delivery.event.topic, handler: call.registration.name, module: call.registration.module, abandonAfterMs: this.abandonAfterMs, notLoggedSinceLast: decision.suppressed },
          `handler abandoned: still running ${this.abandonAfterMs} ms after its AbortSignal was aborted; its slot is freed`,
        );
      }
    }
    delivery.release?.();
  }

  private failed(registration: Registration<X>, event: ZmqEvent, reason: HandlerFailure, err: unknown): void {
    this.counts.handlerErrors++;
    this.metrics?.handlerErrors.inc({ handler: registration.name, reason });
    const decision = this.failureLog.hit(`${registration.name}\u0000${reason}`, Date.now());
    if (!decision.log) return;
    const log = { topic: event.topic, handler: registration.name, module: registration.module, reason, err, notLoggedSinceLast: decision.suppressed };
    if (reason === 'timeout') this.logger.warn(log, 'handler timed out; its AbortSignal is aborted');
    else this.logger.error(log, 'handler failed');
  }
}
