import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toYaml, type ConfigInput } from '../../src/config/index.ts';
import { startBot, type BotProcess, type MetricSamples } from '../../test/helpers/bot-process.ts';
import { BenchChild } from './child.ts';

/** `zmq-notify start` running as a child process for a benchmark, in sandbox mode. */
export interface BenchBot {
  process: BotProcess;
  pid: number;
  /** The sandbox Discord it started and logged into. */
  sandboxUrl: string;
  /** The sandbox's one accepted bot token (the bot's). */
  token: string;
  dir: string;
  metrics: () => Promise<MetricSamples>;
  /** SIGTERM and wait for the exit (SIGKILL after `timeoutMs`); the temp dir stays. */
  stop: (timeoutMs?: number) => Promise<void>;
  /** Stops the bot if it runs and removes the temp dir. */
  remove: () => Promise<void>;
}

/** The channel IDs bench configs name; the bot's sandbox creates one channel for each. */
export const benchChannels = {
  job_failed: '100000000000000101',
  job_executed: '100000000000000102',
  handler_status: '100000000000000103',
  scheduler: '100000000000000104',
} as const;

/**
 * Writes `config` (plus `files`, e.g. module sources) to a temp dir and runs `zmq-notify start` on
 * it, with HTTP and the sandbox on free ports and a known sandbox token.
 */
export async function startBenchBot(
  config: ConfigInput,
  options: { files?: Record<string, string>; discardLogs?: boolean; /** Extra environment, e.g. NODE_OPTIONS to try. */ env?: NodeJS.ProcessEnv } = {},
): Promise<BenchBot> {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-bench-'));
  const token = `bench.${Date.now().toString(36)}.sandbox-token`;
  try {
    for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
    const full: ConfigInput = { http: { host: '127.0.0.1', port: 0 }, sandbox: { host: '127.0.0.1', port: 0, token_env: 'ZMQ_NOTIFY_BENCH_SANDBOX_TOKEN' }, log_level: 'info', ...config };
    writeFileSync(join(dir, 'config.yaml'), toYaml(full));
    const bot = await startBot(join(dir, 'config.yaml'), {
      discardLogsAfterStart: options.discardLogs ?? true,
      env: { ZMQ_NOTIFY_BENCH_SANDBOX_TOKEN: token, DISCORD_TOKEN: '', LOG_LEVEL: 'info', ...options.env },
    });
    const started = bot.lines().find((line) => typeof line.sandbox === 'string');
    const sandboxUrl = typeof started?.sandbox === 'string' ? started.sandbox.replace(/\/$/, '') : '';
    const stop = async (timeoutMs = 15_000): Promise<void> => {
      if (bot.child.exitCode !== null || bot.child.signalCode !== null) return;
      bot.child.kill('SIGTERM');
      const timer = setTimeout(() => bot.child.kill('SIGKILL'), timeoutMs);
      await bot.exited;
      clearTimeout(timer);
    };
    return {
      process: bot,
      pid: bot.child.pid ?? 0,
      sandboxUrl,
      token,
      dir,
      metrics: () => bot.metrics(),
      stop,
      remove: async () => {
        await stop(2_000);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The guild bench configs name. */
export const benchGuildId = '100000000000000001';

/** A publisher process and a bot subscribed to it, posting to the sandbox channels {@link benchChannels}. */
export interface PublishedBot {
  bot: BenchBot;
  publisher: BenchChild;
  close: () => Promise<void>;
}

/** Starts a publisher child and `zmq-notify start` subscribed to it, and waits for the subscription. */
export async function startPublishedBot(): Promise<PublishedBot> {
  const publisher = BenchChild.start('bench/lib/publisher-child.ts');
  try {
    const { endpoint } = await publisher.request<{ endpoint: string }>('open', {});
    const bot = await startBenchBot({ zmq_pub_address: endpoint, notification_channels: benchChannels, discord: { guild_id: benchGuildId } });
    if (!(await publisher.request<boolean>('waitForSubscriber', { topic: 'job.failed' }))) {
      await bot.remove();
      throw new Error('the bot did not subscribe within 20 s');
    }
    return {
      bot,
      publisher,
      close: async () => {
        await bot.remove();
        await publisher.stop();
      },
    };
  } catch (err) {
    await publisher.stop();
    throw err;
  }
}
