// A bench child that receives the publisher's events, either with a bare zeromq.js loop that only
// JSON.parses (`raw`) or through the bot's pipeline, App: Subscriber → codec → BoundedQueue →
// Dispatcher → one handler (`pipeline`: a no-op; `latency`: records publish → handler time).
import { setTimeout as sleep } from 'node:timers/promises';
import * as zmq from 'zeromq';
import { App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { defineModule } from '../../src/pipeline/module.ts';
import type { ZmqEvent } from '../../src/pipeline/event.ts';
import { serveRequests } from './child.ts';
import { preciseNow } from './payload.ts';

/** What a receiver measured. */
export interface ReceiverResult {
  mode: ReceiverMode;
  /** Messages taken off the socket. */
  received: number;
  /** Events that reached the handler (raw: messages parsed). */
  handled: number;
  /** Events the pipeline dropped (queue overflow, malformed); always 0 for raw. */
  dropped: number;
  /** Seconds from the `warmup`-th handled event to the last one. */
  seconds: number;
  /** Handled events per second over that span. */
  eps: number;
  /** CPU time (user + system, all threads) per handled event over that span, in µs: less
   *  sensitive than `eps` to other processes competing for the cores. */
  cpuUsPerEvent: number;
  /** Latency mode: publish → handler times in ms. */
  latenciesMs?: number[];
  peakRssMiB: number;
}

/** How the receiver takes events in. */
export type ReceiverMode = 'raw' | 'pipeline' | 'latency';

interface StartParams {
  mode: ReceiverMode;
  endpoint: string;
  topic: string;
  /** Events the run expects. */
  count: number;
  /** Events handled before the clock starts (JIT warm-up). */
  warmup: number;
  receiveHwm: number;
}

let finish: Promise<ReceiverResult> | undefined;
let shutdown: () => Promise<void> = async () => undefined;

/** Handled-event clock: when the warm-up ended and when the last event was handled, in wall and CPU time. */
class Clock {
  handled = 0;
  private startedAt = 0;
  private lastAt = 0;
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  private cpuSpent: NodeJS.CpuUsage | undefined;
  constructor(
    private readonly warmup: number,
    private readonly count: number,
  ) {}
  tick(): void {
    this.handled++;
    const now = performance.now();
    if (this.handled === this.warmup) {
      this.startedAt = now;
      this.cpuAtStart = process.cpuUsage();
    }
    if (this.handled === this.count && this.cpuAtStart) this.cpuSpent = process.cpuUsage(this.cpuAtStart);
    this.lastAt = now;
  }
  span(): { seconds: number; eps: number; cpuUsPerEvent: number } {
    const seconds = (this.lastAt - this.startedAt) / 1000;
    const counted = this.handled - this.warmup;
    // A run that stopped short of `count` is charged the CPU time up to now.
    const cpu = this.cpuSpent ?? (this.cpuAtStart ? process.cpuUsage(this.cpuAtStart) : { user: 0, system: 0 });
    return {
      seconds,
      eps: counted > 0 && seconds > 0 ? counted / seconds : 0,
      cpuUsPerEvent: counted > 0 ? (cpu.user + cpu.system) / counted : 0,
    };
  }
}

function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

async function startRaw(params: StartParams): Promise<void> {
  const socket = new zmq.Subscriber({ receiveHighWaterMark: params.receiveHwm, linger: 0 });
  socket.subscribe(params.topic);
  socket.connect(params.endpoint);
  const clock = new Clock(params.warmup, params.count);
  // Stall detection starts with the first message: the parent may hold this process stopped
  // (SIGSTOP) before that while the publisher fills the pipe.
  let lastProgress = 0;
  const watchdog = setInterval(() => {
    if (lastProgress > 0 && Date.now() - lastProgress > 3_000) socket.close();
  }, 500);
  finish = (async () => {
    try {
      for await (const frames of socket) {
        JSON.parse((frames[1] as Buffer).toString('utf8'));
        clock.tick();
        if ((clock.handled & 1023) === 1) lastProgress = Date.now();
        if (clock.handled === params.count) break;
      }
    } catch {
      // The watchdog closed the socket: the publisher stopped short of `count`.
    }
    clearInterval(watchdog);
    if (!socket.closed) socket.close();
    return { mode: params.mode, received: clock.handled, handled: clock.handled, dropped: 0, ...clock.span(), peakRssMiB: peakRssMiB() };
  })();
  shutdown = async () => {
    if (!socket.closed) socket.close();
  };
}

async function startPipeline(params: StartParams): Promise<void> {
  const config = parseConfig({
    zmq_pub_address: params.endpoint,
    topics: [params.topic],
    subscriber: { receive_hwm: params.receiveHwm },
    http: { enabled: false },
    log_level: 'warn',
  });
  const clock = new Clock(params.warmup, params.count);
  const latencies = params.mode === 'latency' ? new Float64Array(params.count) : undefined;
  let done: () => void = () => undefined;
  const allHandled = new Promise<void>((resolve) => (done = resolve));
  const handler =
    latencies === undefined
      ? (): void => {
          clock.tick();
          if (clock.handled === params.count) done();
        }
      : (event: ZmqEvent): void => {
          const sentAt = event.data.sent_at;
          if (typeof sentAt === 'number' && clock.handled < params.count) latencies[clock.handled] = preciseNow() - sentAt;
          clock.tick();
          if (clock.handled === params.count) done();
        };
  const app = new App({
    config,
    logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }),
    modules: [defineModule({ name: 'bench', setup: (ctx) => void ctx.on(params.topic, handler) })],
  });
  await app.start();
  const settled = (): boolean => {
    const stats = app.status();
    return stats.counts.received >= params.count && stats.queue.depth === 0 && stats.inFlight === 0;
  };
  finish = (async () => {
    // Ends when every event was handled, or when all arrived and some were dropped, or on a stall
    // (counted from the first event: the parent may hold this process stopped until then).
    let lastReceived = 0;
    let stalledSince = Date.now();
    let finished = false;
    void allHandled.then(() => (finished = true));
    while (!finished && !settled()) {
      await Promise.race([allHandled, sleep(100)]);
      const received = app.status().counts.received;
      if (received === 0 || received !== lastReceived) {
        lastReceived = received;
        stalledSince = Date.now();
      } else if (Date.now() - stalledSince > 3_000) break;
    }
    const stats = app.status();
    await app.stop({ drainTimeoutMs: 1_000 });
    const result: ReceiverResult = {
      mode: params.mode,
      received: stats.counts.received,
      handled: clock.handled,
      dropped: stats.counts.dropped.total,
      ...clock.span(),
      peakRssMiB: peakRssMiB(),
    };
    if (latencies) result.latenciesMs = Array.from(latencies.subarray(0, Math.min(clock.handled, params.count)));
    return result;
  })();
  shutdown = async () => {
    await app.stop({ drainTimeoutMs: 0 });
  };
}

serveRequests(
  {
    /** Connects and subscribes; the publisher's waitForSubscriber tells when the subscription is in. */
    start: async (params: StartParams) => {
      // The parent starts a pipeline receiver with the bot's runtime flags, a bare loop without.
      if (params.mode === 'raw') await startRaw(params);
      else await startPipeline(params);
      return { pid: process.pid };
    },
    /** Resolves when the run is over, with what was measured. */
    result: async () => {
      if (!finish) throw new Error('receiver-child: "start" first');
      return finish;
    },
  },
  () => shutdown(),
);
