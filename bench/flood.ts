// Peak memory of `zmq-notify start` under a flood: publishes N events (default 1,000,000) as fast as
// possible to a bot whose one module sleeps 1 ms per event, with the default queue capacity, and
// reports the bot's peak RSS (VmHWM) with the pipeline counts from its /metrics.
//
//   node --import tsx bench/flood-rss.ts [--events N] [--sleep-ms MS]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { toYaml } from '../src/config/index.ts';
import { EventPublisher } from '../src/transport/publisher.ts';
import { startBot, type MetricSamples } from '../test/helpers/bot-process.ts';

/** What one flood run measured. */
export interface FloodRssResult {
  published: number;
  publishSeconds: number;
  peakRssMiB: number;
  /** VmRSS samples' maximum while publishing and draining, for comparison with VmHWM. */
  maxSampledRssMiB: number;
  /** Largest V8 heap (total) and external memory seen in the bot's /metrics while publishing. */
  maxHeapTotalMiB: number;
  maxExternalMiB: number;
  received: number;
  dispatched: number;
  droppedOverflow: number;
  droppedMalformed: number;
  lost: number;
  queueDepth: number;
  queueCapacity: number;
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

/** Runs `start` as a child, floods it, and reports peak RSS and counts. */
export async function floodRss(options: { events?: number; sleepMs?: number } = {}): Promise<FloodRssResult> {
  const events = options.events ?? 1_000_000;
  const sleepMs = options.sleepMs ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-bench-'));
  const pub = new EventPublisher({ endpoint: 'tcp://127.0.0.1:*', src: 'bench', lingerMs: 0 });
  try {
    await pub.open();
    writeFileSync(
      join(dir, 'sleepy.mjs'),
      `import { setTimeout as sleep } from 'node:timers/promises';
       export default { name: 'sleepy', setup(ctx) { ctx.on('', () => sleep(${sleepMs})); } };`,
    );
    writeFileSync(join(dir, 'config.yaml'), toYaml({ zmq_pub_address: pub.endpoint, http: { port: 0 }, modules: ['./sleepy.mjs'], log_level: 'info' }));
    const bot = await startBot(join(dir, 'config.yaml'), { discardLogsAfterStart: true });
    const pid = bot.child.pid as number;
    let maxRss = 0;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, statusKiB(pid, 'VmRSS'));
    }, 50);
    try {
      if (!(await pub.waitForSubscriber(20_000))) throw new Error('the bot did not subscribe within 20 s');
      const payload = { job_id: 'bench', job_name: 'flood', duration: 0.01, result: 'ok' };
      // Where the memory goes: the bot's own heap and external-memory gauges, sampled meanwhile.
      const heap = { total: 0, external: 0 };
      let publishing = true;
      const heapSampler = (async () => {
        while (publishing) {
          const sample = await bot.metrics();
          heap.total = Math.max(heap.total, sample.get('zmq_notify_nodejs_heap_size_total_bytes'));
          heap.external = Math.max(heap.external, sample.get('zmq_notify_nodejs_external_memory_bytes'));
          await sleep(250);
        }
      })();
      const started = performance.now();
      for (let i = 0; i < events; i++) await pub.publish('job.executed', payload);
      const publishSeconds = (performance.now() - started) / 1000;
      publishing = false;
      await heapSampler;

      // Settled: nothing arrives any more and the queue is empty.
      let last = -1;
      let m: MetricSamples = await bot.metrics();
      for (;;) {
        await sleep(1_000);
        m = await bot.metrics();
        const received = m.sum('zmq_notify_events_received_total');
        if (received === last && m.get('zmq_notify_queue_depth') === 0) break;
        last = received;
      }
      const peakRssKiB = statusKiB(pid, 'VmHWM');
      bot.child.kill('SIGTERM');
      await bot.exited;
      return {
        published: events,
        publishSeconds: Math.round(publishSeconds * 10) / 10,
        peakRssMiB: mib(peakRssKiB),
        maxSampledRssMiB: mib(maxRss),
        maxHeapTotalMiB: mib(heap.total / 1024),
        maxExternalMiB: mib(heap.external / 1024),
        received: m.sum('zmq_notify_events_received_total'),
        dispatched: m.get('zmq_notify_events_dispatched_total'),
        droppedOverflow: m.get('zmq_notify_events_dropped_total{reason="overflow"}'),
        droppedMalformed: m.get('zmq_notify_events_dropped_total{reason="malformed"}'),
        lost: m.get('zmq_notify_events_lost_total'),
        queueDepth: m.get('zmq_notify_queue_depth'),
        queueCapacity: m.get('zmq_notify_queue_capacity'),
      };
    } finally {
      clearInterval(sampler);
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    }
  } finally {
    await pub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { events: { type: 'string' }, 'sleep-ms': { type: 'string' } } });
  const result = await floodRss({
    events: values.events === undefined ? undefined : Number(values.events),
    sleepMs: values['sleep-ms'] === undefined ? undefined : Number(values['sleep-ms']),
  });
  console.table(result);
  console.log(JSON.stringify({ bench: 'flood-rss', ...result }));
}
