import type { Client } from 'discord.js';
import type { LoadedConfig } from '../../config/load.ts';
import { createLogger } from '../../observability/logger.ts';
import { JobRegistry } from '../registry.ts';
import { SprocketManager, sprocketEntries } from '../sprocket-manager.ts';
import { methodProblem } from './method-check.ts';

/**
 * What check-config says about `schedules:` beyond the schema: each schedule's method must be one the
 * configured sprockets provide, and its params must pass that method's schema. The sprockets are
 * loaded as the bot would load them, without Discord. One line per problem, naming the key.
 */
export async function scheduleProblems(loaded: LoadedConfig): Promise<string[]> {
  const { config } = loaded;
  if (config.schedules.length === 0) return [];
  const logger = createLogger({ level: 'silent' });
  const registry = new JobRegistry({
    discord: (): Client => {
      throw new Error('check-config runs no job methods');
    },
    logger,
  });
  try {
    await new SprocketManager(registry, sprocketEntries(config), loaded.baseDir, logger).start();
  } catch (err) {
    return [`sprockets: ${(err as Error).message} (so the schedules' methods cannot be checked)`];
  }
  const problems: string[] = [];
  config.schedules.forEach((schedule, i) => {
    const problem = methodProblem(registry, schedule.method, schedule.params);
    if (problem === undefined) return;
    if (problem.startsWith('params: ')) problems.push(`schedules[${i}].params: ${problem.slice('params: '.length)} (for method ${schedule.method})`);
    else problems.push(`schedules[${i}].method: got ${JSON.stringify(schedule.method)}, expected a job method of the loaded sprockets; ${problem}`);
  });
  registry.close();
  return problems;
}
