// Throughput: one EventPublisher (in its own process) floods ~300-byte job events; a receiver (in
// another process, fresh per run) takes them either with a bare zeromq.js loop that only
// JSON.parses (the baseline) or through the bot's whole pipeline to a no-op handler. Both are
// timed the same way (events handled per second after a warm-up), in alternating runs, and the
// medians are compared.
//
// The receiver is held stopped (SIGSTOP) while the publisher sends the whole run into the socket's
// queues, then let go: it drains a backlog at its own full speed. Measured live instead, both
// receivers are capped by how fast one JavaScript publisher can send (about the bare loop's own
// rate on this machine), and the publisher competes with them for the two cores.
import { join } from 'node:path';
import { runtimeFlags } from '../bin/runtime-flags.js';
import { parseConfig } from '../src/config/index.ts';
import { BenchChild } from './lib/child.ts';
import type { ReceiverMode, ReceiverResult } from './lib/receiver-child.ts';
import { median, round } from './lib/stats.ts';

/** Settings of {@link measureThroughput}. */
export interface ThroughputOptions {
  /** Events per run. */
  events: number;
  /** Raw/pipeline pairs, run alternately. */
  rounds: number;
  payloadBytes: number;
  /** When set, every measured receiver writes V8 CPU profiles to `<dir>/<mode>-<round>/`. */
  cpuProfileDir?: string;
  /** ZMQ_RCVHWM of both receivers; default: the bot's default (subscriber.receive_hwm). */
  receiveHwm?: number;
  /** Extra node flags for the receivers (e.g. V8 heap settings being evaluated). */
  receiverNodeArgs?: string[];
  /** Progress lines go here. */
  log: (line: string) => void;
}

/** One measured run. */
export interface ThroughputRun {
  mode: ReceiverMode;
  eps: number;
  cpuUsPerEvent: number;
  handled: number;
  dropped: number;
  /** How fast the publisher queued the run (while the receiver was stopped). */
  publisherEps: number;
}

/** The JSON section `throughput`. */
export interface ThroughputResult {
  payload_bytes: number;
  raw_eps: number;
  pipeline_eps: number;
  ratio: number;
  /** Median CPU time per event (µs, all threads of the receiver) of each side, and raw/pipeline:
   *  the same comparison in CPU rather than wall time, steadier on a shared machine. */
  raw_cpu_us: number;
  pipeline_cpu_us: number;
  cpu_ratio: number;
  /** How the runs were timed. */
  method: string;
  events_per_run: number;
  rounds: number;
  /** Events the pipeline dropped over all its runs (should be 0: no queue overflow at full speed). */
  pipeline_dropped: number;
  runs: ThroughputRun[];
}

const TOPIC_PREFIX = 'job.';
const TOPIC = 'job.executed';

async function runOnce(publisher: BenchChild, mode: ReceiverMode, options: ThroughputOptions, endpoint: string, label: string): Promise<ThroughputRun> {
  if (!(await publisher.request<boolean>('waitIdle', { timeoutMs: 10_000 }))) throw new Error('the previous receiver still holds its subscription');
  // The pipeline runs with the V8 settings `zmq-notify start` runs with; the bare loop with none.
  const execArgv = [...(mode === 'raw' ? [] : runtimeFlags), ...(options.receiverNodeArgs ?? []), ...(options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', join(options.cpuProfileDir, `${mode}-${label}`)] : [])];
  const receiver = BenchChild.start('bench/lib/receiver-child.ts', { execArgv });
  try {
    await receiver.request('start', {
      mode,
      endpoint,
      topic: TOPIC_PREFIX,
      count: options.events,
      warmup: Math.floor(options.events / 10),
      receiveHwm: options.receiveHwm ?? parseConfig({}).subscriber.receive_hwm,
    });
    if (!(await publisher.request<boolean>('waitForSubscriber', { topic: TOPIC, timeoutMs: 20_000 }))) throw new Error(`the ${mode} receiver did not subscribe`);
    process.kill(receiver.pid, 'SIGSTOP');
    let sent: { eps: number };
    try {
      sent = await publisher.request<{ eps: number }>('flood', { count: options.events, topic: TOPIC, bytes: options.payloadBytes });
    } finally {
      process.kill(receiver.pid, 'SIGCONT');
    }
    const result = await receiver.request<ReceiverResult>('result');
    if (result.handled + result.dropped < options.events) throw new Error(`${mode} receiver got ${result.received} of ${options.events} events`);
    return { mode, eps: Math.round(result.eps), cpuUsPerEvent: round(result.cpuUsPerEvent, 2), handled: result.handled, dropped: result.dropped, publisherEps: Math.round(sent.eps) };
  } finally {
    await receiver.stop();
  }
}

/** Runs the throughput comparison; see the file comment. */
export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const publisher = BenchChild.start('bench/lib/publisher-child.ts');
  try {
    // A send queue that holds a whole run, so nothing is dropped while the receiver is stopped.
    const { endpoint } = await publisher.request<{ endpoint: string }>('open', { sendHwm: options.events + 10_000 });
    const runs: ThroughputRun[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const order: ReceiverMode[] = round % 2 === 0 ? ['raw', 'pipeline'] : ['pipeline', 'raw'];
      for (const mode of order) {
        const run = await runOnce(publisher, mode, options, endpoint, String(round + 1));
        runs.push(run);
        options.log(`  throughput ${round + 1}/${options.rounds} ${mode.padEnd(8)} ${run.eps} ev/s, ${run.cpuUsPerEvent} µs CPU/event (publisher queued the run at ${run.publisherEps} ev/s)`);
      }
    }
    const raw = median(runs.filter((r) => r.mode === 'raw').map((r) => r.eps));
    const pipeline = median(runs.filter((r) => r.mode === 'pipeline').map((r) => r.eps));
    const rawCpu = median(runs.filter((r) => r.mode === 'raw').map((r) => r.cpuUsPerEvent));
    const pipelineCpu = median(runs.filter((r) => r.mode === 'pipeline').map((r) => r.cpuUsPerEvent));
    return {
      payload_bytes: options.payloadBytes,
      raw_eps: Math.round(raw),
      pipeline_eps: Math.round(pipeline),
      ratio: round(pipeline / raw, 2),
      raw_cpu_us: round(rawCpu, 2),
      pipeline_cpu_us: round(pipelineCpu, 2),
      cpu_ratio: round(rawCpu / pipelineCpu, 2),
      method: 'receiver stopped (SIGSTOP) while the publisher queues the run, then timed draining it from event N/10 to N; fresh receiver process per run; raw and pipeline alternate',
      events_per_run: options.events,
      rounds: options.rounds,
      pipeline_dropped: runs.filter((r) => r.mode === 'pipeline').reduce((sum, r) => sum + r.dropped, 0),
      runs,
    };
  } finally {
    await publisher.stop();
  }
}
