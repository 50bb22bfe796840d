import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { SandboxServer, type SandboxAddress, type SandboxOptions } from '../sandbox/index.ts';
import { isSnowflake } from '../shared/snowflake.ts';

/**
 * The sandbox's guild and channels as the config names them: one channel per notification channel,
 * the scheduler's dev channel and the channels schedules post to (`params.channel_id`), plus general.
 */
export function sandboxOptionsFromConfig(config: Config): Pick<SandboxOptions, 'guild' | 'channels' | 'applicationId' | 'host' | 'port'> {
  const channels: { id: string; name: string }[] = [];
  // Two keys naming one channel make one channel, named after the first key.
  const add = (id: unknown, name: string): void => {
    if (isSnowflake(id) && !channels.some((c) => c.id === id)) channels.push({ id, name });
  };
  for (const [key, id] of Object.entries(config.notification_channels)) add(id, key.replace(/_/g, '-'));
  add(config.scheduler.dev_channel, 'scheduler-dev');
  for (const schedule of config.schedules) add(schedule.params.channel_id, `schedule-${schedule.id}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 100));
  return {
    host: config.sandbox.host,
    port: config.sandbox.port,
    guild: { ...(config.discord.guild_id ? { id: config.discord.guild_id } : {}), name: config.sandbox.guild_name },
    channels,
    ...(config.discord.application_id ? { applicationId: config.discord.application_id } : {}),
  };
}

/** A sandbox started for the bot, and where it listens. */
export interface RunningSandbox {
  server: SandboxServer;
  address: SandboxAddress;
}

/**
 * Starts the sandbox Discord server the bot logs into when no bot token is set: the config's
 * guild and channels, on sandbox.host/port, accepting the token in $<sandbox.token_env> or a
 * generated one. When the configured port is taken (a second bot, a `zmq-notify sandbox` already
 * running) it listens on any free port instead and says so, since the URL is printed anyway.
 */
export async function startSandboxMode(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningSandbox> {
  const token = env[config.sandbox.token_env]?.trim();
  const options: SandboxOptions = { ...sandboxOptionsFromConfig(config), ...(token ? { token } : {}), logger };
  const server = new SandboxServer(options);
  try {
    return { server, address: await server.start() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.port === 0) {
      await server.stop();
      throw new Error(`cannot start the sandbox Discord server on ${config.sandbox.host}:${config.sandbox.port}: ${(err as Error).message}`, { cause: err });
    }
    await server.stop();
    logger.warn({ port: config.sandbox.port }, `sandbox port ${config.sandbox.port} is in use; listening on a free port instead`);
    const fallback = new SandboxServer({ ...options, port: 0 });
    return { server: fallback, address: await fallback.start() };
  }
}
