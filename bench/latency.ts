// Latency at a steady 1,000 events/s. Handler: an EventPublisher (own process) publishes job
// events stamped with a precise send time to a receiver process running the pipeline (App), whose
// handler records publish → handler. Post: the same stream goes to the whole bot (`zmq-notify
// start` in sandbox mode), whose notices module posts each job.executed to its channel through the
// Outbox; publish → Discord is read from the bot's event_to_post_seconds histogram (every event,
// digested ones included) and, exactly, from the sandbox's stored messages for the events that got
// an embed of their own (message timestamp − embed timestamp, which is the envelope's `ts`).
import { runtimeFlags } from '../bin/runtime-flags.js';
import { parseConfig } from '../src/config/index.ts';
import type { MessageView } from '../src/sandbox/index.ts';
import type { MetricSamples } from '../test/helpers/bot-process.ts';
import { benchChannels, type BenchBot } from './lib/bot.ts';
import { BenchChild } from './lib/child.ts';
import { histogramPercentile } from './lib/prom.ts';
import type { ReceiverResult } from './lib/receiver-child.ts';
import { round, summarize } from './lib/stats.ts';
import { waitFor } from './lib/wait.ts';

/** Settings of the latency scenarios. */
export interface LatencyOptions {
  /** Events per second. */
  rate: number;
  seconds: number;
  payloadBytes: number;
  log: (line: string) => void;
}

/** Publish → handler, through the pipeline alone. */
export interface HandlerLatencyResult {
  rate: number;
  events: number;
  handler_p50: number;
  handler_p90: number;
  handler_p99: number;
  handler_max: number;
}

/** Publish → message in the sandbox, through the whole bot. */
export interface PostLatencyResult {
  events: number;
  posted: number;
  /** From event_to_post_seconds (receive → Discord accepted, interpolated within its buckets), ms. */
  post_p50: number;
  post_p99: number;
  post_source: string;
  /** Messages the channel received for these events. */
  messages: number;
  /** Exact publish → stored times of the events that got an embed of their own, ms. */
  embedded: { count: number; p50: number; p99: number; max: number };
}

/** Publish → handler latency at `rate` events/s for `seconds`; the first second is warm-up. */
export async function measureHandlerLatency(options: LatencyOptions): Promise<HandlerLatencyResult> {
  const publisher = BenchChild.start('bench/lib/publisher-child.ts');
  const receiver = BenchChild.start('bench/lib/receiver-child.ts', { execArgv: [...runtimeFlags] });
  try {
    const { endpoint } = await publisher.request<{ endpoint: string }>('open', {});
    const count = Math.round(options.rate * options.seconds);
    await receiver.request('start', { mode: 'latency', endpoint, topic: 'job.', count, warmup: 1, receiveHwm: parseConfig({}).subscriber.receive_hwm });
    if (!(await publisher.request<boolean>('waitForSubscriber', { topic: 'job.executed' }))) throw new Error('the latency receiver did not subscribe');
    await publisher.request('paced', { count, rate: options.rate, topic: 'job.executed', bytes: options.payloadBytes });
    const result = await receiver.request<ReceiverResult>('result');
    const latencies = (result.latenciesMs ?? []).slice(Math.min(options.rate, Math.floor(count / 5)));
    const s = summarize(latencies, 3);
    options.log(`  handler latency: ${s.count} events at ${options.rate}/s: p50 ${s.p50} ms, p99 ${s.p99} ms`);
    return { rate: options.rate, events: result.handled, handler_p50: s.p50, handler_p90: s.p90, handler_p99: s.p99, handler_max: s.max };
  } finally {
    await receiver.stop();
    await publisher.stop();
  }
}

/** Publish → Discord latency through the running bot at `rate` events/s for `seconds`. */
export async function measurePostLatency(bot: BenchBot, publisher: BenchChild, options: LatencyOptions): Promise<PostLatencyResult> {
  const count = Math.round(options.rate * options.seconds);
  const channel = benchChannels.job_executed;
  const before = await bot.metrics();
  const startedAt = Date.now();
  await publisher.request('paced', { count, rate: options.rate, topic: 'job.executed', bytes: options.payloadBytes });
  let after: MetricSamples = before;
  const posted = (): number => after.get('zmq_notify_events_posted_total') - before.get('zmq_notify_events_posted_total');
  await waitFor(async () => {
    after = await bot.metrics();
    return posted() >= count && after.get('zmq_notify_outbox_pending') === 0;
  }, 60_000);
  const messages = (await (await fetch(`${bot.sandboxUrl}/sandbox/messages?channel_id=${channel}`)).json()) as MessageView[];
  const ours = messages.filter((m) => Date.parse(m.timestamp) >= startedAt);
  const exact: number[] = [];
  for (const message of ours) {
    for (const embed of message.embeds) {
      if (embed.footer?.text === 'zmq-notify digest' || embed.timestamp === undefined) continue;
      exact.push(Date.parse(message.timestamp) - Date.parse(embed.timestamp));
    }
  }
  const e = summarize(exact, 0);
  const p50 = round(histogramPercentile(after, 'zmq_notify_event_to_post_seconds', 50, before) * 1000, 0);
  const p99 = round(histogramPercentile(after, 'zmq_notify_event_to_post_seconds', 99, before) * 1000, 0);
  options.log(`  post latency: ${posted()} events in ${ours.length} messages: p50 ${p50} ms, p99 ${p99} ms (histogram); ${e.count} embedded: p50 ${e.p50} ms, p99 ${e.p99} ms (exact)`);
  return {
    events: count,
    posted: posted(),
    post_p50: p50,
    post_p99: p99,
    post_source: 'event_to_post_seconds histogram (receive → Discord accepted, linear within buckets)',
    messages: ours.length,
    embedded: { count: e.count, p50: e.p50, p99: e.p99, max: e.max },
  };
}
