// `npm run bench` (full) and `npm run bench -- --quick` (under a minute): runs the scenarios,
// prints a table and writes bench/results/latest.json. Never part of `npm test`.
//
//   npm run bench -- [--quick] [--only throughput,latency,burst,flood,spool,startup] [--cpu-prof] [--out FILE]
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, type as osType } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as zmq from 'zeromq';
import { measureBurst, type BurstResult } from './burst.ts';
import { measureFlood, type FloodResult } from './flood.ts';
import { measureSpool, type SpoolResult } from './spool.ts';
import { measureHandlerLatency, measurePostLatency, type HandlerLatencyResult, type PostLatencyResult } from './latency.ts';
import { startPublishedBot } from './lib/bot.ts';
import { measureStartup, type StartupResult } from './startup.ts';
import { mainThreadProfile, topFrames, type ProfileFrame } from './lib/profile.ts';
import { count, formatTable, type TableRow } from './lib/table.ts';
import { measureThroughput, type ThroughputResult } from './throughput.ts';

const scenarios = ['throughput', 'latency', 'burst', 'flood', 'spool', 'startup'] as const;
type Scenario = (typeof scenarios)[number];

/** What each scenario does in a full and in a quick run. */
const settings = {
  full: { throughputEvents: 200_000, throughputRounds: 5, latencySeconds: 10, naiveMessages: 20, floodEvents: 1_000_000, spoolEvents: 200_000, startupRuns: 5 },
  quick: { throughputEvents: 50_000, throughputRounds: 3, latencySeconds: 3, naiveMessages: 10, floodEvents: 100_000, spoolEvents: 50_000, startupRuns: 3 },
};

const PAYLOAD_BYTES = 300;
// How long a started bot sits idle before its RSS is read.
const STARTUP_SETTLE_MS = 5_000;
const LATENCY_RATE = 1_000;
const BURST_EVENTS = 1_000;
const targets = { ratio: 0.7, burstSeconds: 10, peakRssMb: 200 };

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

function usage(message: string): never {
  console.error(`bench: ${message}\nusage: npm run bench -- [--quick] [--only ${scenarios.join(',')}] [--cpu-prof] [--out FILE]`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'cpu-prof': { type: 'boolean', default: false }, out: { type: 'string' } },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
})();
const only = values.only === undefined ? [...scenarios] : values.only.split(',').map((s) => s.trim());
for (const name of only) if (!scenarios.includes(name as Scenario)) usage(`unknown scenario "${name}"`);
const selected = new Set(only as Scenario[]);
const mode = values.quick ? 'quick' : 'full';
const set = settings[mode];
const outPath = values.out ?? join(repoRoot, 'bench/results/latest.json');
const log = (line: string): void => console.log(line);

const zeromqVersion = (JSON.parse(readFileSync(join(repoRoot, 'node_modules/zeromq/package.json'), 'utf8')) as { version: string }).version;
const machine = {
  cores: availableParallelism(),
  node: process.version,
  zeromq: `zeromq.js ${zeromqVersion}, libzmq ${zmq.version}`,
  cpu: cpus()[0]?.model ?? 'unknown',
  os: `${osType()} ${release()}`,
  load_avg_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
};
const started = Date.now();
log(`zmq-notify bench (${mode}) on ${machine.cores} cores, ${machine.cpu}, node ${machine.node}, ${machine.zeromq}; load ${machine.load_avg_at_start.join(' ')}`);

const result: Record<string, unknown> = { machine, mode, started_at: new Date(started).toISOString() };
const rows: TableRow[] = [];

async function runThroughput(): Promise<void> {
  log(`throughput: ${set.throughputRounds} × (bare loop, pipeline) of ${count(set.throughputEvents)} ${PAYLOAD_BYTES}-byte events`);
  const profileDir = values['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'zmq-notify-bench-prof-')) : undefined;
  const t: ThroughputResult & { profile?: Record<string, unknown> } = await measureThroughput({
    events: set.throughputEvents,
    rounds: set.throughputRounds,
    payloadBytes: PAYLOAD_BYTES,
    ...(profileDir ? { cpuProfileDir: profileDir } : {}),
    log,
  });
  if (profileDir) {
    const top = (which: string): { frames: ProfileFrame[]; totalMs: number; idleMs: number } => {
      const files = Array.from({ length: set.throughputRounds }, (_, i) => mainThreadProfile(join(profileDir, `${which}-${i + 1}`))).filter((f): f is string => f !== undefined);
      return topFrames(files, 12);
    };
    const pipeline = top('pipeline');
    const raw = top('raw');
    t.profile = { dir: profileDir, pipeline: pipeline.frames, raw: raw.frames };
    log(`top self-time frames, pipeline receivers (all runs, start-up included; profiles in ${profileDir}):`);
    for (const f of pipeline.frames) log(`  ${String(f.selfPercent).padStart(5)}%  ${f.frame}`);
    log('top self-time frames, bare-loop receivers:');
    for (const f of raw.frames.slice(0, 6)) log(`  ${String(f.selfPercent).padStart(5)}%  ${f.frame}`);
  }
  result.throughput = t;
  rows.push(
    { scenario: 'throughput', metric: `bare zeromq.js loop + JSON.parse (${PAYLOAD_BYTES} B events)`, value: `${count(t.raw_eps)} ev/s` },
    { scenario: 'throughput', metric: 'pipeline: Subscriber → codec → queue → Dispatcher → no-op', value: `${count(t.pipeline_eps)} ev/s` },
    { scenario: 'throughput', metric: `ratio (medians of ${t.rounds} alternating runs)`, value: t.ratio.toFixed(2), target: `≥ ${targets.ratio}`, ok: t.ratio >= targets.ratio },
    { scenario: 'throughput', metric: 'CPU per event, bare loop / pipeline', value: `${t.raw_cpu_us} / ${t.pipeline_cpu_us} µs (ratio ${t.cpu_ratio.toFixed(2)})` },
  );
}

async function runLatency(handler: HandlerLatencyResult | undefined, post: PostLatencyResult | undefined): Promise<void> {
  const latency: Record<string, unknown> = { rate: LATENCY_RATE };
  if (handler) {
    Object.assign(latency, { handler_p50: handler.handler_p50, handler_p90: handler.handler_p90, handler_p99: handler.handler_p99, handler_max: handler.handler_max, handler_events: handler.events });
    rows.push({ scenario: 'latency', metric: `publish → handler p50 / p99 at ${LATENCY_RATE} ev/s`, value: `${handler.handler_p50} / ${handler.handler_p99} ms` });
  }
  if (post) {
    Object.assign(latency, {
      post_p50: post.post_p50,
      post_p99: post.post_p99,
      post_source: post.post_source,
      post_events: post.events,
      post_posted: post.posted,
      post_messages: post.messages,
      post_embedded_exact: post.embedded,
    });
    rows.push(
      { scenario: 'latency', metric: `publish → Discord p50 / p99 at ${LATENCY_RATE} ev/s, one channel (histogram)`, value: `${count(post.post_p50)} / ${count(post.post_p99)} ms` },
      { scenario: 'latency', metric: `  events with their own embed (${post.embedded.count}), exact p50 / p99`, value: `${count(post.embedded.p50)} / ${count(post.embedded.p99)} ms` },
      { scenario: 'latency', metric: '  messages used / events posted', value: `${post.messages} / ${count(post.posted)}` },
    );
  }
  result.latency_ms = latency;
}

function burstRows(b: BurstResult): void {
  result.burst = b;
  const allIn = b.posted === b.events && b.seconds <= targets.burstSeconds;
  rows.push(
    { scenario: 'burst', metric: `${count(b.events)} job.failed, one channel: all posted after`, value: `${b.seconds} s`, target: `≤ ${targets.burstSeconds} s, all`, ok: allIn },
    { scenario: 'burst', metric: '  messages used (edits)', value: `${b.messages} (${b.edits})` },
    { scenario: 'burst', metric: '  429s served by the sandbox', value: String(b.rate_limited), target: '0', ok: b.rate_limited === 0 },
    { scenario: 'burst', metric: `naive channel.send × ${count(b.events)} (extrapolated from ${b.naive_measured.messages})`, value: `~${count(b.naive_seconds)} s (extrapolated)` },
  );
}

function floodRows(f: FloodResult): void {
  const quickNote = mode === 'quick' ? ` (quick: ${count(f.published)} events, not 1,000,000)` : '';
  result.flood = { ...f, ...(mode === 'quick' ? { note: `quick run: ${f.published} events instead of 1,000,000` } : {}) };
  rows.push(
    { scenario: 'flood', metric: `published, 1 ms handler, queue ${count(f.queue_capacity)}${quickNote}`, value: `${count(f.published)} in ${f.publish_seconds} s` },
    { scenario: 'flood', metric: '  received / dispatched / dropped / queued', value: `${count(f.received)} / ${count(f.dispatched)} / ${count(f.dropped)} / ${count(f.queued)}` },
    { scenario: 'flood', metric: '  received = dispatched + dropped + queued', value: f.invariant_ok ? 'held' : 'BROKEN', target: 'held', ok: f.invariant_ok },
    { scenario: 'flood', metric: '  lost in ZeroMQ (sequence gaps) / job.failed handled', value: `${count(f.lost)} / ${count(f.failed_handled)} of ${count(f.failed_published)}` },
    { scenario: 'flood', metric: '  bot RSS idle → peak (heap, external, native at peak)', value: `${f.idle.rss_mb} → ${f.peak_rss_mb} MB (${f.peak.heap_total_mb}, ${f.peak.external_mb}, ${f.peak.native_mb})` },
    { scenario: 'flood', metric: '  peak RSS of the bot (VmHWM), spool on', value: `${f.peak_rss_mb} MB`, target: `≤ ${targets.peakRssMb} MB`, ok: f.peak_rss_mb <= targets.peakRssMb },
    { scenario: 'flood', metric: '  events into the Outbox spool (SQLite file), rate until settled', value: `${count(f.to_outbox)} (${count(f.to_outbox_eps)} ev/s)` },
  );
}

function spoolRows(sp: SpoolResult): void {
  result.spool = sp;
  rows.push(
    { scenario: 'spool', metric: `${count(sp.events)} events accepted into the spool, ${sp.channels} channels (batched per event-loop turn)`, value: `${count(sp.batched_eps)} ev/s` },
    { scenario: 'spool', metric: `  one transaction per event (${count(sp.unbatched_events)} events), for comparison`, value: `${count(sp.unbatched_eps)} ev/s` },
    { scenario: 'spool', metric: '  database file with its WAL afterwards', value: `${sp.file_mb} MB` },
  );
}

function startupRows(s: StartupResult): void {
  result.startup = s;
  for (const v of s.variants) {
    rows.push(
      { scenario: 'startup', metric: `${v.command}: sandbox URL printed (median of ${v.runs.length})`, value: `${count(v.to_url_ms)} ms` },
      { scenario: 'startup', metric: `  idle RSS ${s.settle_ms / 1000} s later, ${v.processes} process${v.processes === 1 ? '' : 'es'}`, value: `${v.idle_rss_mb} MB` },
      { scenario: 'startup', metric: '  exit status after SIGTERM', value: [...new Set(v.runs.map((r) => String(r.exit_code)))].join(', '), target: '0', ok: v.runs.every((r) => r.exit_code === 0) },
    );
  }
}

try {
  if (selected.has('startup')) {
    log(`startup: ${set.startupRuns} × zmq-notify start in sandbox mode each way, then ${STARTUP_SETTLE_MS / 1000} s idle`);
    startupRows(await measureStartup({ runs: set.startupRuns, settleMs: STARTUP_SETTLE_MS, log }));
  }
  if (selected.has('throughput')) await runThroughput();
  if (selected.has('latency') || selected.has('burst')) {
    const handler = selected.has('latency') ? await measureHandlerLatency({ rate: LATENCY_RATE, seconds: set.latencySeconds, payloadBytes: PAYLOAD_BYTES, log }) : undefined;
    log('starting zmq-notify start (sandbox mode) for post latency and burst');
    const published = await startPublishedBot();
    try {
      const post = selected.has('latency') ? await measurePostLatency(published.bot, published.publisher, { rate: LATENCY_RATE, seconds: set.latencySeconds, payloadBytes: PAYLOAD_BYTES, log }) : undefined;
      if (selected.has('latency')) await runLatency(handler, post);
      if (selected.has('burst')) burstRows(await measureBurst(published.bot, published.publisher, { events: BURST_EVENTS, naiveMessages: set.naiveMessages, log }));
    } finally {
      await published.close();
    }
  }
  if (selected.has('flood')) {
    log(`flood: ${count(set.floodEvents)} events as fast as the publisher goes${mode === 'quick' ? ' (quick; the full run sends 1,000,000)' : ''}`);
    floodRows(await measureFlood({ events: set.floodEvents }));
  }
  if (selected.has('spool')) {
    log(`spool: ${count(set.spoolEvents)} events posted into a paused Outbox over a SQLite file`);
    spoolRows(await measureSpool({ events: set.spoolEvents }));
  }
} catch (err) {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
}

result.duration_seconds = Math.round((Date.now() - started) / 100) / 10;
result.table = rows;
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);
log('');
log(formatTable(rows));
log('');
log(`${mode} run took ${result.duration_seconds} s; results in ${outPath}`);
