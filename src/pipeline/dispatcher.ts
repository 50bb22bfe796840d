import PQueue from 'p-queue';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ZmqEvent } from './event.ts';
import { LogThrottle } from '../transport/throttle.ts';
import type { BoundedQueue } from './bounded-queue.ts';
import type { HandlerRegistry, Registration } from './registry.ts';
import { TokenBucket, type Clock } from './token-bucket.ts';

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
  /** A handler still running after this long is counted as timed out and its slot is freed. */
  handlerTimeoutMs: number;
  /** Cap on events handed to handlers per second; null or undefined = no cap. */
  maxEventsPerSecond?: number | null;
  /** Clock for the events-per-second cap. */
  clock?: Clock;
}

/** Counts the dispatcher keeps, for stats. */
export interface DispatcherStats {
  dispatched: number;
  unhandled: number;
  inFlight: number;
  handlerErrors: number;
}

const TIMED_OUT = Symbol('timed out');
/** A handler failing on every event logs its first failure of each kind, then one line per this interval. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * Takes events from the BoundedQueue and runs their handlers: at most `concurrency` events at
 * once, each handler with its own timeout, optionally capped in events per second. A p-queue
 * holds up to `concurrency` workers; each takes one event at a time from the bounded queue and
 * sleeps when it is empty until the next push wakes it. So a backlog waits in the bounded queue
 * and nowhere else, and p-queue's bookkeeping is paid per worker, not per event.
 */
export class Dispatcher<X extends object = object> {
  private readonly queue: BoundedQueue<ZmqEvent>;
  private readonly registry: HandlerRegistry<X>;
  private readonly logger: Logger;
  private readonly metrics?: Metrics;
  private readonly concurrency: number;
  private readonly handlerTimeoutMs: number;
  private readonly bucket?: TokenBucket;
  private readonly workers: PQueue;
  /** Workers waiting for an event: resolve(true) wakes one, resolve(false) ends it. */
  private sleepers: ((awake: boolean) => void)[] = [];
  /** Events whose handlers are running now. */
  private inFlight = 0;
  private running = false;
  private refillTimer?: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  private counts = { dispatched: 0, unhandled: 0, handlerErrors: 0 };
  private readonly failureLog = new LogThrottle(FAILURE_LOG_INTERVAL_MS);

  constructor(options: DispatcherOptions<X>) {
    this.queue = options.queue;
    this.registry = options.registry;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.concurrency = options.concurrency;
    this.handlerTimeoutMs = options.handlerTimeoutMs;
    if (options.maxEventsPerSecond) this.bucket = new TokenBucket(options.maxEventsPerSecond, undefined, options.clock);
    this.workers = new PQueue({ concurrency: options.concurrency });
  }

  /** Starts taking events from the queue. */
  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops taking events; handlers already running finish on their own. */
  stop(): void {
    this.running = false;
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    const sleepers = this.sleepers;
    this.sleepers = [];
    for (const wake of sleepers) wake(false);
    this.notifyIdle();
  }

  /** Tells the dispatcher the queue has new events (call after every push). */
  notify(): void {
    if (this.running) this.pump();
  }

  /**
   * Resolves true once the queue is empty and no handler is running, or false after `timeoutMs`.
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

  /** Events handed to handlers, unhandled ones, events running now, handler failures. */
  stats(): DispatcherStats {
    return { ...this.counts, inFlight: this.inFlight };
  }

  private isIdle(): boolean {
    return this.queue.size === 0 && this.inFlight === 0;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // Starts workers while there are events and free worker slots.
  // Wakes a sleeping worker for the queued events, or starts one while fewer than `concurrency` exist.
  private pump(): void {
    // While waiting for a token, the refill timer pumps again: a worker now would find none.
    if (!this.running || this.refillTimer) return this.notifyIdle();
    let wanted = this.queue.size;
    while (wanted > 0 && this.sleepers.length > 0) {
      (this.sleepers.pop() as (awake: boolean) => void)(true);
      wanted--;
    }
    const workers = this.workers;
    for (let room = this.concurrency - workers.pending - workers.size; wanted > 0 && room > 0; wanted--, room--) void workers.add(this.work);
    this.notifyIdle();
  }

  // One worker: runs events one after another, sleeping while there is none, until the dispatcher
  // stops. Never rejects: take() and run() never throw.
  private readonly work = async (): Promise<void> => {
    while (this.running) {
      const next = this.take();
      if (next === undefined) {
        this.notifyIdle();
        if (!(await new Promise<boolean>((wake) => this.sleepers.push(wake)))) return;
        continue;
      }
      this.inFlight++;
      const pending = this.deliver(next.event, next.handlers);
      if (pending !== undefined) await pending;
      this.inFlight--;
    }
  };

  // The next event that has handlers, counting unhandled ones on the way; undefined when none
  // can run now.
  private take(): { event: ZmqEvent; handlers: Registration<X>[] } | undefined {
    while (this.running) {
      const next = this.queue.peek();
      if (next === undefined) return undefined;
      const handlers = this.registry.match(next.topic);
      // Only events that will run handlers spend a token: an unhandled one costs nothing.
      if (handlers.length > 0 && this.bucket && !this.bucket.tryTake()) {
        this.waitForToken();
        return undefined;
      }
      const event = this.queue.shift() as ZmqEvent;
      this.counts.dispatched++;
      this.metrics?.eventsDispatched.inc();
      if (handlers.length > 0) return { event, handlers };
      this.counts.unhandled++;
      this.metrics?.eventsUnhandled.inc();
    }
    return undefined;
  }

  private waitForToken(): void {
    if (this.refillTimer || !this.bucket) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.pump();
    }, Math.max(1, this.bucket.msUntilToken()));
  }

  // Runs an event's handlers; a promise only when one of them is asynchronous, so synchronous
  // handlers (the common case under a flood) cost no promise at all.
  private deliver(event: ZmqEvent, handlers: Registration<X>[]): Promise<unknown> | undefined {
    if (handlers.length === 1) return this.run(handlers[0] as Registration<X>, event);
    const runs = handlers.map((h) => this.run(h, event));
    return runs.some((r) => r !== undefined) ? Promise.all(runs) : undefined;
  }

  // Runs one handler; never throws, whatever the handler does. Returns a promise (that never
  // rejects) only when the handler returned one.
  private run(registration: Registration<X>, event: ZmqEvent): Promise<void> | undefined {
    const started = performance.now();
    let result: void | Promise<void>;
    try {
      result = registration.handler(event, registration.context);
    } catch (err) {
      this.failed(registration, event, 'throw', err);
      return undefined;
    }
    if (result && typeof (result as Promise<void>).then === 'function') return this.settle(registration, event, result, started);
    this.metrics?.handlerSeconds.observe((performance.now() - started) / 1000);
    return undefined;
  }

  // Waits for a handler's promise, at most handlerTimeoutMs; never rejects.
  private async settle(registration: Registration<X>, event: ZmqEvent, result: Promise<void>, started: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, this.handlerTimeoutMs, TIMED_OUT);
    });
    try {
      // Racing also subscribes to the handler's promise, so a rejection after the timeout is
      // handled rather than crashing the process as an unhandled rejection.
      if ((await Promise.race([result, timeout])) === TIMED_OUT) {
        this.failed(registration, event, 'timeout', new Error(`still running after ${this.handlerTimeoutMs} ms`));
        return;
      }
    } catch (err) {
      this.failed(registration, event, 'reject', err);
      return;
    } finally {
      clearTimeout(timer);
    }
    this.metrics?.handlerSeconds.observe((performance.now() - started) / 1000);
  }

  private failed(registration: Registration<X>, event: ZmqEvent, reason: HandlerFailure, err: unknown): void {
    this.counts.handlerErrors++;
    this.metrics?.handlerErrors.inc({ handler: registration.name, reason });
    const decision = this.failureLog.hit(`${registration.name}\u0000${reason}`, Date.now());
    if (!decision.log) return;
    const log = { topic: event.topic, handler: registration.name, module: registration.module, reason, err, notLoggedSinceLast: decision.suppressed };
    if (reason === 'timeout') this.logger.warn(log, 'handler timed out');
    else this.logger.error(log, 'handler failed');
  }
}
