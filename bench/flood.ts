// Flood: peak memory of `zmq-notify start` (the whole bot, sandbox mode) while N events are
// published as fast as one EventPublisher goes to a bot whose extra module sleeps 1 ms per event,
// with the default queue capacity: peak RSS (VmHWM) and where it goes (V8 heap, Buffers, native),
// the pipeline counts from its /metrics, and whether received = dispatched + dropped + queued held.
// Every `failedEvery`-th event is a job.failed, to see how many of those a flood costs. The
// built-in notifications post every event (failure and notices channels are set), so each one
// dispatched goes through the Outbox into its SQLite spool (storage.path, a file in the temp dir).
//
//   node --import tsx bench/flood.ts [--events N] [--sleep-ms MS] [--receive-hwm N] [--spool file|memory|off]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EventPublisher } from '../src/transport/publisher.ts';
import type { MetricSamples } from '../test/helpers/bot-process.ts';
import { startBenchBot } from './lib/bot.ts';
import { jobPayload } from './lib/payload.ts';
import { mib, procMemoryMiB } from './lib/proc.ts';

/** Settings of {@link measureFlood}. */
export interface FloodOptions {
  events: number;
  sleepMs?: number;
  /** subscriber.receive_hwm for the bot; default: the bot's default. */
  receiveHwm?: number;
  /** Every this-many-th event is a job.failed (default 100). */
  failedEvery?: number;
  /** Extra environment for the bot, e.g. NODE_OPTIONS being evaluated. */
  botEnv?: NodeJS.ProcessEnv;
  /** Post every event through the Outbox into a spool file (`file`, the default), into an in-memory spool (`memory`), or post nothing (`off`: no channels, storage ":memory:"). */
  spool?: 'file' | 'memory' | 'off';
}

/** Memory of the bot, MiB: resident, and its parts as its /metrics report them. */
export interface MemoryBreakdown {
  rss_mb: number;
  heap_total_mb: number;
  heap_used_mb: number;
  /** Memory of Buffers and other objects V8 tracks outside its heap (received ZeroMQ frames). */
  external_mb: number;
  /** rss - heap_total - external: code, libzmq's queues, malloc arenas, thread stacks. */
  native_mb: number;
}

/** The JSON section `flood`. */
export interface FloodResult {
  published: number;
  publish_seconds: number;
  received: number;
  dispatched: number;
  dropped: number;
  dropped_overflow: number;
  queued: number;
  /** Events the bot knows the network lost (gaps in the publisher's sequence). */
  lost: number;
  invariant_ok: boolean;
  peak_rss_mb: number;
  receive_hwm: number | 'default';
  queue_capacity: number;
  /** job.failed events published, and how many reached the handler. */
  failed_published: number;
  failed_handled: number;
  /** Events handed to the Outbox (each written to the spool), and the rate from the first publish until the flood settled. */
  to_outbox: number;
  to_outbox_eps: number;
  /** The bot's memory once started and idle, and the largest values seen during the flood. */
  idle: MemoryBreakdown;
  peak: MemoryBreakdown;
}

function breakdown(rss: number, m: MetricSamples): MemoryBreakdown {
  const heapTotal = mib(m.get('zmq_notify_nodejs_heap_size_total_bytes'));
  const external = mib(m.get('zmq_notify_nodejs_external_memory_bytes'));
  return {
    rss_mb: rss,
    heap_total_mb: heapTotal,
    heap_used_mb: mib(m.get('zmq_notify_nodejs_heap_size_used_bytes')),
    external_mb: external,
    native_mb: Math.round((rss - heapTotal - external) * 10) / 10,
  };
}

// The extra module: sleeps per event, counts the job.failed it handled, and writes its counts
// when the bot stops (module cleanups run at shutdown).
const sleepyModule = (sleepMs: number): string => `
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
let handled = 0;
let failed = 0;
export default {
  name: 'sleepy',
  setup(ctx) {
    ctx.on('', (event) => {
      handled++;
      if (event.topic === 'job.failed') failed++;
      return sleep(${sleepMs});
    });
    return () => writeFileSync(new URL('./handled.json', import.meta.url), JSON.stringify({ handled, failed }));
  },
};
`;

/** Runs the flood; see the file comment. */
export async function measureFlood(options: FloodOptions): Promise<FloodResult> {
  const sleepMs = options.sleepMs ?? 1;
  const failedEvery = options.failedEvery ?? 100;
  const pub = new EventPublisher({ endpoint: 'tcp://127.0.0.1:*', src: 'bench-flood', lingerMs: 0 });
  await pub.open();
  const bot = await startBenchBot(
    {
      zmq_pub_address: pub.endpoint,
      modules: ['./sleepy.mjs'],
      // Every event is posted, so the spool sees the whole flood.
      ...((options.spool ?? 'file') === 'off' ? {} : { notification_channels: { job_failed: '100000000000000401', job_executed: '100000000000000402' } }),
      storage: { path: (options.spool ?? 'file') === 'file' ? 'data/zmq-notify.db' : ':memory:' },
      ...(options.receiveHwm === undefined ? {} : { subscriber: { receive_hwm: options.receiveHwm } }),
    },
    { files: { 'sleepy.mjs': sleepyModule(sleepMs) }, ...(options.botEnv ? { env: options.botEnv } : {}) },
  );
  let sampler: NodeJS.Timeout | undefined;
  try {
    if (!(await pub.waitForSubscriber(20_000))) throw new Error('the bot did not subscribe within 20 s');
    await sleep(500);
    const idle = breakdown(procMemoryMiB(bot.pid, 'VmRSS'), await bot.metrics());
    const peak: MemoryBreakdown = { ...idle };
    sampler = setInterval(() => {
      peak.rss_mb = Math.max(peak.rss_mb, procMemoryMiB(bot.pid, 'VmRSS'));
    }, 50);
    let publishing = true;
    // The bot's heap and external memory, scraped meanwhile (a scrape every 250 ms costs it little).
    const scraper = (async () => {
      while (publishing) {
        const m = await bot.metrics();
        const now = breakdown(procMemoryMiB(bot.pid, 'VmRSS'), m);
        peak.heap_total_mb = Math.max(peak.heap_total_mb, now.heap_total_mb);
        peak.heap_used_mb = Math.max(peak.heap_used_mb, now.heap_used_mb);
        peak.external_mb = Math.max(peak.external_mb, now.external_mb);
        peak.native_mb = Math.max(peak.native_mb, now.native_mb);
        await sleep(250);
      }
    })();
    const executed = jobPayload(100);
    const failed = { job_id: 'bench-failing', job_name: 'flood', error: 'RuntimeError: boom', retry_count: 0 };
    let failedPublished = 0;
    const started = performance.now();
    for (let i = 1; i <= options.events; i++) {
      if (i % failedEvery === 0) {
        failedPublished++;
        await pub.publish('job.failed', failed);
      } else await pub.publish('job.executed', executed);
    }
    const publishSeconds = (performance.now() - started) / 1000;

    // Settled: nothing arrives any more and the queue is empty.
    let last = -1;
    let m = await bot.metrics();
    for (;;) {
      await sleep(500);
      m = await bot.metrics();
      const received = m.sum('zmq_notify_events_received_total');
      if (received === last && m.get('zmq_notify_queue_depth') === 0 && m.get('zmq_notify_handler_seconds_count') + m.sum('zmq_notify_handler_errors_total') >= m.get('zmq_notify_events_dispatched_total') - m.get('zmq_notify_events_unhandled_total')) break;
      last = received;
    }
    const settledSeconds = (performance.now() - started) / 1000;
    publishing = false;
    await scraper;
    clearInterval(sampler);
    sampler = undefined;
    peak.rss_mb = Math.max(peak.rss_mb, procMemoryMiB(bot.pid, 'VmRSS'));
    const peakRss = procMemoryMiB(bot.pid, 'VmHWM');
    await bot.stop();
    const handled = JSON.parse(readFileSync(join(bot.dir, 'handled.json'), 'utf8').toString()) as { failed: number };
    const received = m.sum('zmq_notify_events_received_total');
    const dispatched = m.get('zmq_notify_events_dispatched_total');
    const dropped = m.sum('zmq_notify_events_dropped_total');
    const queued = m.get('zmq_notify_queue_depth');
    return {
      published: options.events,
      publish_seconds: Math.round(publishSeconds * 10) / 10,
      received,
      dispatched,
      dropped,
      dropped_overflow: m.get('zmq_notify_events_dropped_total{reason="overflow"}'),
      queued,
      lost: m.get('zmq_notify_events_lost_total'),
      invariant_ok: received === dispatched + dropped + queued,
      peak_rss_mb: peakRss,
      receive_hwm: options.receiveHwm ?? 'default',
      queue_capacity: m.get('zmq_notify_queue_capacity'),
      failed_published: failedPublished,
      failed_handled: handled.failed,
      to_outbox: m.get('zmq_notify_events_to_outbox_total'),
      to_outbox_eps: Math.round(m.get('zmq_notify_events_to_outbox_total') / settledSeconds),
      idle,
      peak: { ...peak, rss_mb: Math.max(peak.rss_mb, peakRss) },
    };
  } finally {
    if (sampler) clearInterval(sampler);
    await bot.remove();
    await pub.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { events: { type: 'string' }, 'sleep-ms': { type: 'string' }, 'receive-hwm': { type: 'string' }, spool: { type: 'string', default: 'file' } } });
  if (!['file', 'memory', 'off'].includes(values.spool)) throw new Error('--spool is file, memory or off');
  const result = await measureFlood({
    spool: values.spool as 'file' | 'memory' | 'off',
    events: values.events === undefined ? 1_000_000 : Number(values.events),
    ...(values['sleep-ms'] === undefined ? {} : { sleepMs: Number(values['sleep-ms']) }),
    ...(values['receive-hwm'] === undefined ? {} : { receiveHwm: Number(values['receive-hwm']) }),
  });
  console.log(JSON.stringify({ bench: 'flood', ...result }, null, 1));
}
