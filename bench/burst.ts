// Burst: 1,000 job.failed for one channel at once, through the whole bot (`zmq-notify start` in
// sandbox mode, the sandbox at Discord's default limits: 5 messages per 5 s per channel, 50
// requests/s global): how long until events_posted_total has all 1,000, how many messages that
// took, and how many 429s the sandbox served. Then the naive way for comparison: one
// `channel.send` per event through a discord.js client against the same sandbox (another channel),
// timed for its first few messages and extrapolated to 1,000.
import { Client, Events, GatewayIntentBits, type TextChannel } from 'discord.js';
import { jobFailedEmbed } from '../src/discord/embeds/index.ts';
import { sandboxClientOptions, type MessageView, type SandboxState } from '../src/sandbox/index.ts';
import type { MetricSamples } from '../test/helpers/bot-process.ts';
import { benchChannels, type BenchBot } from './lib/bot.ts';
import type { BenchChild } from './lib/child.ts';
import { round } from './lib/stats.ts';
import { waitFor } from './lib/wait.ts';

/** Settings of {@link measureBurst}. */
export interface BurstOptions {
  events: number;
  /** Messages the naive loop really sends before extrapolating. */
  naiveMessages: number;
  log: (line: string) => void;
}

/** The JSON section `burst`. */
export interface BurstResult {
  events: number;
  /** Seconds from the first publish until events_posted_total counted every event. */
  seconds: number;
  /** Messages the bot created in the channel, and message edits the sandbox served meanwhile. */
  messages: number;
  edits: number;
  /** 429 responses the sandbox served meanwhile. */
  rate_limited: number;
  posted: number;
  undeliverable: number;
  /** Naive: seconds one channel.send per event would take for all events, extrapolated (see naive_measured). */
  naive_seconds: number;
  naive_extrapolated: true;
  naive_measured: { messages: number; seconds: number; rate_limited: number };
}

interface SandboxStats {
  rateLimited: { total: number };
  messages: { created: number; edited: number };
}

async function sandboxStats(bot: BenchBot): Promise<SandboxStats> {
  return (await (await fetch(`${bot.sandboxUrl}/sandbox/stats`)).json()) as SandboxStats;
}

/** Sends `count` alerts one channel.send at a time, as a naive bot would; returns when each was accepted (s). */
async function naiveSends(bot: BenchBot, count: number): Promise<number[]> {
  const state = (await (await fetch(`${bot.sandboxUrl}/sandbox/state`)).json()) as SandboxState;
  const general = state.channels.find((c) => c.name === 'general');
  if (!general) throw new Error('the sandbox has no #general channel');
  const client = new Client({ intents: [GatewayIntentBits.Guilds], ...sandboxClientOptions(bot.sandboxUrl) });
  try {
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(bot.token);
    await ready;
    const channel = (await client.channels.fetch(general.id)) as TextChannel;
    const times: number[] = [];
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const embed = jobFailedEmbed({
        topic: 'job.failed',
        data: { job_id: `naive-${i}`, job_name: `nightly-etl-${i % 50}`, error: `RuntimeError: upstream returned 503 (attempt ${i})`, retry_count: 1 },
        meta: { receivedAt: Date.now() },
      });
      await channel.send({ embeds: [embed], allowedMentions: { parse: [] } });
      times.push((performance.now() - started) / 1000);
    }
    return times;
  } finally {
    await client.destroy();
  }
}

/** Runs the burst through `bot` (subscribed to `publisher`), then the naive comparison. */
export async function measureBurst(bot: BenchBot, publisher: BenchChild, options: BurstOptions): Promise<BurstResult> {
  const statsBefore = await sandboxStats(bot);
  const before = await bot.metrics();
  const startedAt = Date.now();
  let after: MetricSamples = before;
  const delta = (series: string): number => after.sum(series) - before.sum(series);
  const started = performance.now();
  const publishing = publisher.request('burst', { count: options.events });
  let doneAt = 0;
  await waitFor(async () => {
    after = await bot.metrics();
    if (delta('zmq_notify_events_posted_total') + delta('zmq_notify_events_undeliverable_total') < options.events) return false;
    doneAt = performance.now();
    return true;
  }, 120_000);
  await publishing;
  const seconds = round((doneAt - started) / 1000, 2);
  const statsAfter = await sandboxStats(bot);
  const inChannel = (await (await fetch(`${bot.sandboxUrl}/sandbox/messages?channel_id=${benchChannels.job_failed}`)).json()) as MessageView[];
  const messages = inChannel.filter((m) => Date.parse(m.timestamp) >= startedAt).length;
  const edits = statsAfter.messages.edited - statsBefore.messages.edited;
  const rateLimited = statsAfter.rateLimited.total - statsBefore.rateLimited.total;
  options.log(`  burst: ${options.events} job.failed posted in ${seconds} s using ${messages} messages (${edits} edits), ${rateLimited} 429s`);

  // Naive, on #general so the bot's channel windows do not carry over.
  const naiveBefore = await sandboxStats(bot);
  const times = await naiveSends(bot, options.naiveMessages);
  const naiveAfter = await sandboxStats(bot);
  const last = times.at(-1) ?? 0;
  // Past the first window the channel limit paces every send: extrapolate at that steady rate.
  const burstWindow = 5;
  const steady = times.length > burstWindow ? (last - (times[burstWindow - 1] as number)) / (times.length - burstWindow) : last / Math.max(1, times.length);
  const naiveSeconds = round(last + (options.events - times.length) * steady, 0);
  options.log(`  naive: ${times.length} channel.send took ${round(last, 1)} s → ~${naiveSeconds} s for ${options.events} (extrapolated)`);
  return {
    events: options.events,
    seconds,
    messages,
    edits,
    rate_limited: rateLimited,
    posted: delta('zmq_notify_events_posted_total'),
    undeliverable: delta('zmq_notify_events_undeliverable_total'),
    naive_seconds: naiveSeconds,
    naive_extrapolated: true,
    naive_measured: { messages: times.length, seconds: round(last, 2), rate_limited: naiveAfter.rateLimited.total - naiveBefore.rateLimited.total },
  };
}
