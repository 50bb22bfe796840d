import type { Command } from 'commander';
import { ConfigError, describeResolved, loadConfig, toYaml } from '../../config/index.ts';

/** `check-config [-c FILE]`: validate a config and print what it resolves to. */
export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate a config file and print what it resolves to (secrets redacted)')
    .option('-c, --config <file>', 'config file (default: the embedded config/default.yaml)')
    .action((opts: { config?: string }) => {
      try {
        const loaded = loadConfig(opts.config);
        console.log(`# ${loaded.path}: valid`);
        process.stdout.write(toYaml(describeResolved(loaded)));
        process.exitCode = 0;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(err.message);
        process.exitCode = 1;
      }
    });
}
