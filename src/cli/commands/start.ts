import type { Command } from 'commander';
import { Bot, EXIT_DRAIN_INCOMPLETE } from '../../bot.ts';
import { loadConfigForCommand } from '../config-option.ts';
import { createLogger } from '../../observability/logger.ts';

/** Exit codes for a second signal, which ends the process without waiting for the drain. */
const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

// A terminal's Ctrl-C reaches every process in its group, and npm (or the launcher) passes the
// same signal on once more: a repeat this soon after the first is that same request, not a second.
const SAME_SIGNAL_MS = 1_000;

// After a drain that hit its bound, a handler may still hold a timer or socket open; the process
// ends this long after stop() even so (the timer is unref'd, so a clean exit never waits for it).
const EXIT_GRACE_MS = 2_000;

/** `start [-c FILE]`: run the bot until SIGINT/SIGTERM. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the bot: subscribe to the scheduler\'s events and post them to Discord (with no bot token in the environment, to a local sandbox Discord)')
    .option('-c, --config <file>', 'config file (default: the embedded config/default.yaml)')
    .action(async (opts: { config?: string }) => {
      process.exitCode = await runStart(opts.config);
    });
}

/**
 * Runs the bot until a signal; resolves to the exit code: 0 once everything was drained,
 * {@link EXIT_DRAIN_INCOMPLETE} (75) when the drain bound left events (they stay in the spool), 1
 * when it could not start.
 */
export async function runStart(configPath?: string): Promise<number> {
  const loaded = loadConfigForCommand(configPath);
  if (!loaded) return 1;
  const { config } = loaded;
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? config.log_level });
  const bot = new Bot({ loaded, logger });

  // Listen before starting, so a signal during start-up is not lost.
  let first: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    first = resolve;
    process.once('SIGINT', first).once('SIGTERM', first);
  });

  try {
    await bot.start();
  } catch (err) {
    process.off('SIGINT', first).off('SIGTERM', first);
    console.error(`zmq-notify start: ${(err as Error).message}`);
    await bot.stop();
    return 1;
  }
  const sandbox = bot.sandbox;
  if (sandbox) console.log(`sandbox Discord: ${sandbox.url}/ — open it to watch the channels`);
  const { listener } = bot.app.status();
  logger.info(
    { config: loaded.path, mode: bot.mode, endpoints: listener.endpoints, topics: listener.topics, ...(sandbox && { sandbox: `${sandbox.url}/` }) },
    'zmq-notify started; SIGINT or SIGTERM stops it',
  );

  const signal = await signalled;
  const signalledAt = Date.now();
  const again = (second: NodeJS.Signals): void => {
    if (second === signal && Date.now() - signalledAt < SAME_SIGNAL_MS) return;
    const code = SIGNAL_EXIT[second as keyof typeof SIGNAL_EXIT] ?? 1;
    logger.warn({ signal: second, exitCode: code }, `second ${second}: exiting at once with code ${code}, without draining`);
    process.exit(code);
  };
  process.off('SIGINT', first).off('SIGTERM', first);
  process.on('SIGINT', again).on('SIGTERM', again);
  logger.info(
    { signal, queued: bot.app.queued, outboxPending: bot.outbox.pending(), drainTimeoutMs: config.shutdown.drain_timeout_ms },
    `${signal}: stopping intake and draining the queue and the Outbox (a second signal exits at once)`,
  );

  const result = await bot.stop();
  process.off('SIGINT', again).off('SIGTERM', again);
  const code = result.drained ? 0 : EXIT_DRAIN_INCOMPLETE;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  logger.info({ ...result, exitCode: code }, code === 0 ? 'zmq-notify stopped' : `zmq-notify stopped with work left: exit code ${code}`);
  return code;
}
