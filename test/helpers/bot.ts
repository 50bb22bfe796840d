import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIEmbed } from 'discord.js';
import { Bot } from '../../src/bot.ts';
import { parseConfig, type ConfigInput } from '../../src/config/index.ts';
import type { DiscordExtensions } from '../../src/discord/module-context.ts';
import type { ModuleDefinition } from '../../src/pipeline/module.ts';
import type { InvokeResult, MessageView } from '../../src/sandbox/index.ts';
import { parseMetrics, type MetricSamples } from './bot-process.ts';
import { postJson } from './sandbox.ts';
import { captureLogger } from './transport.ts';

/** The channel IDs the test configs name; the sandbox creates one channel for each. */
export const channels = {
  job_failed: '100000000000000101',
  job_executed: '100000000000000102',
  handler_status: '100000000000000103',
  scheduler: '100000000000000104',
} as const;

/** The guild the test configs name. */
export const guildId = '100000000000000001';

/** A Bot started in-process in sandbox mode, with the endpoints and temp dir of its config. */
export interface TestBot {
  bot: Bot;
  /** ipc:// endpoints in a temp dir, all in zmq_pub_address: `pub` for the test's EventPublisher, `emit` for the CLI, `raw` for raw sockets. */
  endpoints: { pub: string; emit: string; raw: string };
  dir: string;
  /** The bot's log lines so far. */
  logs: () => Record<string, unknown>[];
  sandboxUrl: string;
  metrics: () => Promise<MetricSamples>;
  healthz: () => Promise<Record<string, unknown>>;
  messages: (channelId: string) => Promise<MessageView[]>;
  invoke: (body: Record<string, unknown>) => Promise<{ status: number; body: InvokeResult & { error?: string } }>;
  close: () => Promise<void>;
}

/**
 * Starts a Bot with no token (sandbox mode: its own sandbox on a free port), HTTP on a free port,
 * and three ipc:// endpoints in a temp dir. `config` is merged over those defaults.
 */
export async function startTestBot(options: { config?: ConfigInput; modules?: ModuleDefinition<DiscordExtensions>[] } = {}): Promise<TestBot> {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-bot-'));
  const endpoints = { pub: `ipc://${join(dir, 'pub.sock')}`, emit: `ipc://${join(dir, 'emit.sock')}`, raw: `ipc://${join(dir, 'raw.sock')}` };
  const config = parseConfig({
    zmq_pub_address: [endpoints.pub, endpoints.emit, endpoints.raw],
    notification_channels: channels,
    discord: { guild_id: guildId },
    // Endpoints bound later (emit, raw) are retried quickly, so a test never waits on backoff.
    subscriber: { reconnect_interval_ms: 50, reconnect_max_interval_ms: 200 },
    http: { host: '127.0.0.1', port: 0 },
    sandbox: { host: '127.0.0.1', port: 0 },
    log_level: 'info',
    ...options.config,
  });
  const { logger, lines } = captureLogger('info');
  const bot = new Bot({ loaded: { config, baseDir: dir, secrets: {} }, logger, env: {}, modules: options.modules ?? [] });
  try {
    await bot.start();
  } catch (err) {
    await bot.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const sandboxUrl = bot.sandbox?.url ?? '';
  const getJson = async <T>(url: string): Promise<T> => {
    const res = await fetch(url);
    return (await res.json()) as T;
  };
  return {
    bot,
    endpoints,
    dir,
    logs: lines,
    sandboxUrl,
    metrics: async () => parseMetrics(await (await fetch(`${bot.httpUrl}/metrics`)).text()),
    healthz: () => getJson(`${bot.httpUrl}/healthz`),
    messages: (channelId) => getJson(`${sandboxUrl}/sandbox/messages?channel_id=${channelId}`),
    invoke: (body) => postJson<InvokeResult & { error?: string }>(`${sandboxUrl}/sandbox/interactions`, body),
    close: async () => {
      await bot.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** All the text of an embed (title, description, field names and values, footer), for "does it show X" checks. */
export function embedText(embed: APIEmbed): string {
  return [embed.title, embed.description, ...(embed.fields ?? []).flatMap((f) => [f.name, f.value]), embed.footer?.text].filter(Boolean).join('\n');
}

/** Every embed in a channel's messages. */
export function embedsOf(messages: MessageView[]): APIEmbed[] {
  return messages.flatMap((m) => m.embeds);
}
