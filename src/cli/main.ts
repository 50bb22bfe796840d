import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCall } from './commands/call.ts';
import { registerCheckConfig } from './commands/check-config.ts';
import { registerDeployCommands } from './commands/deploy-commands.ts';
import { registerEmit } from './commands/emit.ts';
import { registerSandbox } from './commands/sandbox.ts';
import { registerSchedules } from './commands/schedules.ts';
import { registerStart } from './commands/start.ts';

/** Exit code for a wrong flag or argument. */
export const USAGE_EXIT = 2;

/** This package's version, from its package.json (one level above src/ and dist/ alike). */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** Builds the `zmq-notify` command line with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command('zmq-notify')
    .description('Turns a job scheduler\'s ZeroMQ events into Discord notifications, and publishes such events.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCheckConfig(program);
  registerEmit(program);
  registerStart(program);
  registerSandbox(program);
  registerDeployCommands(program);
  registerCall(program);
  registerSchedules(program);
  for (const command of program.commands) command.exitOverride().showHelpAfterError(true);
  return program;
}

/** Runs the CLI with the given argv and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return USAGE_EXIT;
    }
    throw err;
  }
}
