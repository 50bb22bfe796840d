import { parseConfig, type Config } from '../../src/config/index.ts';
import type { Logger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { BoundedQueue } from '../../src/pipeline/bounded-queue.ts';
import { Dispatcher } from '../../src/pipeline/dispatcher.ts';
import type { ModuleContext } from '../../src/pipeline/module.ts';
import { createContext } from '../../src/pipeline/modules.ts';
import { HandlerRegistry } from '../../src/pipeline/registry.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { captureLogger } from './transport.ts';

let nextSeq = 1;

/** An event as the Subscriber would deliver it. */
export function event(topic: string, data: Record<string, unknown> = {}): ZmqEvent {
  return { topic, data, meta: { seq: nextSeq++, src: 'test', receivedAt: Date.now() } };
}

/** Options for {@link pipeline}. */
export interface PipelineOptions {
  capacity?: number;
  concurrency?: number;
  handlerTimeoutMs?: number;
  abandonAfterMs?: number;
  maxEventsPerSecond?: number | null;
}

/** A BoundedQueue, registry and Dispatcher wired together, with metrics and captured logs. */
export function pipeline(options: PipelineOptions = {}) {
  const metrics = new Metrics({ defaultMetrics: false });
  const { logger, lines } = captureLogger('info');
  const config: Config = parseConfig({});
  const queue = new BoundedQueue<ZmqEvent>({ capacity: options.capacity ?? 1000, priorities: config.queue.priorities, defaultPriority: config.queue.default_priority });
  const registry = new HandlerRegistry();
  const dispatcher = new Dispatcher({
    queue,
    registry,
    logger,
    metrics,
    concurrency: options.concurrency ?? 4,
    handlerTimeoutMs: options.handlerTimeoutMs ?? 1000,
    abandonAfterMs: options.abandonAfterMs ?? 5_000,
    maxEventsPerSecond: options.maxEventsPerSecond ?? null,
  });
  const context = (name: string, log: Logger = logger): ModuleContext => createContext(name, { registry, config, logger: log, extend: () => ({}) });
  const push = (...events: ZmqEvent[]): void => {
    for (const e of events) queue.push(e);
    dispatcher.notify();
  };
  return { metrics, logs: lines, queue, registry, dispatcher, context, push, config };
}

/** A promise with its resolve function, for handlers a test releases by hand. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
