import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ZmqEvent } from '../transport/event.ts';
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
 * once, each handler with its own timeout, optionally capped in events per second. It pulls
 * only when it has a free slot, so a backlog waits in the bounded queue and nowhere else.
 */
export class Dispatcher<X extends object = object> {
  private readonly queue: BoundedQueue<ZmqEvent>;
  private readonly registry: HandlerRegistry<X>;
  private readonly logger: Logger;
  private readonly metrics?: Metrics;
  private readonly concurrency: number;
  private readonly handlerTimeoutMs: number;
  private readonly bucket?: TokenBucket;
  // Events whose handlers are running. A plain counter rather than a task queue: the backlog waits
  // in the bounded queue, so all that is needed here is the number of busy slots.
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

  private pump(): void {
    while (this.running && this.inFlight < this.concurrency) {
      const next = this.queue.peek();
      if (next === undefined) break;
      const handlers = this.registry.match(next.topic);
      // Only events that will run handlers spend a token: an unhandled one costs nothing.
      if (handlers.length > 0 && this.bucket && !this.bucket.tryTake()) {
        this.waitForToken();
        break;
      }
      const event = this.queue.shift() as ZmqEvent;
      this.counts.dispatched++;
      this.metrics?.eventsDispatched.inc();
      if (handlers.length === 0) {
        this.counts.unhandled++;
        this.metrics?.eventsUnhandled.inc();
        continue;
      }
      this.inFlight++;
      this.deliver(event, handlers);
    }
    this.notifyIdle();
  }

  private waitForToken(): void {
    if (this.refillTimer || !this.bucket) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.pump();
    }, Math.max(1, this.bucket.msUntilToken()));
  }

  // Runs an event's handlers in the slot pump() took and frees it once they are done. Never
  // throws: run() never does. The slot is freed in a microtask even when every handler is
  // synchronous, so pump() never recurses and the receive loop gets its turn between events.
  // Synchronous handlers (the common case under a flood) cost no promise at all.
  private deliver(event: ZmqEvent, handlers: Registration<X>[]): void {
    let pending: Promise<unknown> | undefined;
    if (handlers.length === 1) pending = this.run(handlers[0] as Registration<X>, event);
    else {
      const runs = handlers.map((h) => this.run(h, event));
      if (runs.some((r) => r !== undefined)) pending = Promise.all(runs);
    }
    if (pending === undefined) queueMicrotask(this.release);
    else void pending.then(this.release);
  }

  private readonly release = (): void => {
    this.inFlight--;
    this.pump();
  };

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
