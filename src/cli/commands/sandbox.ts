import { InvalidArgumentError, type Command } from 'commander';
import { loadConfigForCommand } from '../config-option.ts';
import { sandboxOptionsFromConfig } from '../../discord/sandbox-mode.ts';
import { createLogger, moduleLogger } from '../../observability/logger.ts';
import { SandboxServer } from '../../sandbox/index.ts';

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535 (0 = any free port)');
  return port;
}

/** `sandbox [--port N] [--token T] [-c FILE]`: run only the sandbox Discord server until Ctrl-C. */
export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('run only the sandbox Discord server (a local Discord API, Gateway and live preview page) with the guild and channels the config names')
    .option('-c, --config <file>', 'config file (default: the embedded config/default.yaml)')
    .option('--port <n>', 'port to listen on (default: sandbox.port from the config; 0 = any free port)', parsePort)
    .option('--token <token>', 'the bot token to accept (default: $<sandbox.token_env>, else a generated one)')
    .action(async (opts: { config?: string; port?: number; token?: string }) => {
      process.exitCode = await runSandbox(opts);
    });
}

/** Runs the sandbox until SIGINT/SIGTERM; resolves to the exit code. */
export async function runSandbox(opts: { config?: string; port?: number; token?: string }): Promise<number> {
  const loaded = loadConfigForCommand(opts.config);
  if (!loaded) return 1;
  const { config } = loaded;
  const token = opts.token ?? process.env[config.sandbox.token_env]?.trim();
  const logger = moduleLogger(createLogger({ level: config.log_level }), 'sandbox');
  const base = sandboxOptionsFromConfig(config);
  const sandbox = new SandboxServer({ ...base, ...(opts.port !== undefined && { port: opts.port }), ...(token ? { token } : {}), logger });

  let stop: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    stop = resolve;
    process.once('SIGINT', stop).once('SIGTERM', stop);
  });
  let address;
  try {
    address = await sandbox.start();
  } catch (err) {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    console.error(`zmq-notify sandbox: cannot listen on ${base.host}:${opts.port ?? base.port}: ${(err as Error).message}`);
    return 1;
  }
  const state = sandbox.state();
  console.log(`zmq-notify sandbox Discord server (no Discord account needed)`);
  console.log(`  page:     ${address.url}/`);
  console.log(`  token:    ${address.token}`);
  console.log(`  api:      ${address.apiUrl}   discord.js: new Client({ intents, rest: { api: '${address.apiUrl}' } })`);
  console.log(`  gateway:  ${address.gatewayUrl}`);
  console.log(`  guild:    ${state.guild.name} (${state.guild.id})`);
  console.log(`  channels: ${state.channels.map((c) => `#${c.name} ${c.id}`).join(', ')}`);
  console.log(`  inspect:  ${address.url}/sandbox/state  /sandbox/messages?channel_id=ID  /sandbox/stats`);
  console.log('Press Ctrl-C to stop.');
  const signal = await signalled;
  logger.info({ signal }, 'stopping the sandbox');
  await sandbox.stop();
  return 0;
}
