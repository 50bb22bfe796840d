import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toYaml, type ConfigInput } from '../../src/config/index.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import type { SandboxAddress } from '../../src/sandbox/index.ts';
import { startBot, type BotProcess } from './bot-process.ts';
import { guildId } from './bot.ts';
import { startSandbox } from './sandbox.ts';

/** A temp dir with an open EventPublisher (ipc://) for a bot process to subscribe to. */
export interface PublisherScene {
  dir: string;
  pub: EventPublisher;
  /** Writes `config.yaml` in the dir, subscribed to the publisher, and returns its path. */
  writeConfig: (config: ConfigInput) => string;
  /** Closes the publisher and removes the dir. */
  remove: () => Promise<void>;
}

/** Opens a publisher with id `src` in a new temp dir. */
export async function publisherScene(src: string): Promise<PublisherScene> {
  const dir = mkdtempSync(join(tmpdir(), `zmq-notify-${src}-`));
  const pub = new EventPublisher({ endpoint: `ipc://${join(dir, 'pub.sock')}`, src, lingerMs: 1_000 });
  await pub.open();
  return {
    dir,
    pub,
    writeConfig: (config) => {
      const path = join(dir, 'config.yaml');
      writeFileSync(path, toYaml({ zmq_pub_address: pub.endpoint, ...config }));
      return path;
    },
    remove: async () => {
      await pub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `zmq-notify start -c configPath` with bot token `token` (killed at cleanup if it still
 * runs) and resolves once it has subscribed to `topic` on the scene's publisher.
 */
export async function startSubscribedBot(
  scene: PublisherScene,
  configPath: string,
  options: { token: string; cleanups: (() => unknown)[]; topic?: string },
): Promise<BotProcess> {
  const proc = await startBot(configPath, { env: { DISCORD_TOKEN: options.token } });
  options.cleanups.push(() => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  });
  if (!(await scene.pub.waitForSubscriber(20_000, options.topic ?? 'job.'))) throw new Error(`the bot did not subscribe to ${options.topic ?? 'job.'}`);
  return proc;
}

/** A bot set-up whose sandbox outlives its processes: see {@link sandboxedBot}. */
export interface SandboxedBot {
  pub: EventPublisher;
  address: SandboxAddress;
  configPath: string;
  /** Starts a bot process on the config (see {@link startSubscribedBot}). */
  start: () => Promise<BotProcess>;
}

/**
 * A publisher scene, a sandbox with one channel `failures` (id `failuresChannel`) that job.failed
 * alerts go to, and a config for bot processes against both (free HTTP port, info logs, plus
 * `config`); everything is stopped and removed by `cleanups`.
 */
export async function sandboxedBot(options: { src: string; failuresChannel: string; config: ConfigInput; cleanups: (() => unknown)[] }): Promise<SandboxedBot> {
  const { cleanups } = options;
  const scene = await publisherScene(options.src);
  cleanups.push(scene.remove);
  const { sandbox, address } = await startSandbox({ guild: { id: guildId }, channels: [{ id: options.failuresChannel, name: 'failures' }] });
  cleanups.push(() => sandbox.stop());
  const configPath = scene.writeConfig({
    notification_channels: { job_failed: options.failuresChannel },
    discord: { guild_id: guildId, api_url: address.apiUrl },
    http: { host: '127.0.0.1', port: 0 },
    log_level: 'info',
    ...options.config,
  });
  return { pub: scene.pub, address, configPath, start: () => startSubscribedBot(scene, configPath, { token: address.token, cleanups, topic: 'job.failed' }) };
}
