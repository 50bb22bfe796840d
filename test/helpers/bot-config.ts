import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toYaml } from '../../src/config/index.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { channels, guildId } from './bot.ts';

/** A temp dir holding an open EventPublisher (ipc://) and a config.yaml for a sandbox-mode bot subscribed to it. */
export interface PublishedConfig {
  dir: string;
  pub: EventPublisher;
  configPath: string;
  /** Closes the publisher and removes the dir. */
  remove: () => Promise<void>;
}

/** Opens a publisher in a new temp dir and writes a config (test channels, free ports, info logs) that subscribes to it. */
export async function publishedConfig(options: { src: string; drainTimeoutMs?: number }): Promise<PublishedConfig> {
  const dir = mkdtempSync(join(tmpdir(), `zmq-notify-${options.src}-`));
  const pub = new EventPublisher({ endpoint: `ipc://${join(dir, 'pub.sock')}`, src: options.src, lingerMs: 1_000 });
  await pub.open();
  const configPath = join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    toYaml({
      zmq_pub_address: pub.endpoint,
      notification_channels: channels,
      discord: { guild_id: guildId },
      http: { host: '127.0.0.1', port: 0 },
      sandbox: { host: '127.0.0.1', port: 0 },
      shutdown: { drain_timeout_ms: options.drainTimeoutMs ?? 15_000 },
      log_level: 'info',
    }),
  );
  return {
    dir,
    pub,
    configPath,
    remove: async () => {
      await pub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
