import type { Command } from 'commander';
import { ConfigError, describeResolved, toYaml } from '../../config/index.ts';
import { scheduleProblems } from '../../jobs/scheduler/config-check.ts';
import { loadConfigForCommand } from '../config-option.ts';

/** `check-config [-c FILE]`: validate a config and print what it resolves to. */
export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate a config file and print what it resolves to (secrets redacted)')
    .option('-c, --config <file>', 'config file (default: the embedded config/default.yaml)')
    .action(async (opts: { config?: string }) => {
      const loaded = loadConfigForCommand(opts.config);
      if (!loaded) {
        process.exitCode = 1;
        return;
      }
      // Schedules name job methods: those are checked against the sprockets the config loads.
      const problems = await scheduleProblems(loaded);
      if (problems.length > 0) {
        console.error(new ConfigError(loaded.path ?? 'config', problems).message);
        process.exitCode = 1;
        return;
      }
      console.log(`# ${loaded.path}: valid`);
      process.stdout.write(toYaml(describeResolved(loaded)));
      process.exitCode = 0;
    });
}
