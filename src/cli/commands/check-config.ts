import type { Command } from 'commander';
import { describeResolved, toYaml } from '../../config/index.ts';
import { loadConfigForCommand } from '../config-option.ts';

/** `check-config [-c FILE]`: validate a config and print what it resolves to. */
export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate a config file and print what it resolves to (secrets redacted)')
    .option('-c, --config <file>', 'config file (default: the embedded config/default.yaml)')
    .action((opts: { config?: string }) => {
      const loaded = loadConfigForCommand(opts.config);
      if (!loaded) {
        process.exitCode = 1;
        return;
      }
      console.log(`# ${loaded.path}: valid`);
      process.stdout.write(toYaml(describeResolved(loaded)));
      process.exitCode = 0;
    });
}
