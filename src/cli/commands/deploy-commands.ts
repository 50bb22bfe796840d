import type { Command } from 'commander';
import { REST } from 'discord.js';
import { loadConfigForCommand } from '../config-option.ts';
import { commands } from '../../discord/commands/index.ts';
import { fetchApplicationId, registerCommands } from '../../discord/commands/register.ts';

/** `deploy-commands [-c FILE]`: register the slash commands with Discord. */
export function registerDeployCommands(program: Command): void {
  program
    .command('deploy-commands')
    .description('register the slash commands (/zmq_status, /zmq_restart, /zmq_sprockets, /schedule) with Discord: in discord.guild_id if set (immediate), else globally')
    .option('-c, --config <file>', 'config file (default: the embedded config/default.yaml)')
    .option('--global', 'register globally even when discord.guild_id is set')
    .action(async (opts: { config?: string; global?: boolean }) => {
      process.exitCode = await runDeployCommands(opts.config, { global: opts.global === true });
    });
}

/** Registers the commands; resolves to the exit code. */
export async function runDeployCommands(configPath?: string, options: { global?: boolean } = {}): Promise<number> {
  const loaded = loadConfigForCommand(configPath);
  if (!loaded) return 1;
  const { config, secrets } = loaded;
  const tokenEnv = config.discord.token_env;
  if (!secrets.discordToken) {
    console.error(`zmq-notify deploy-commands: no bot token: set $${tokenEnv} to the bot's token (Developer Portal → your application → Bot → Reset Token)`);
    return 1;
  }
  const api = config.discord.api_url ?? undefined;
  const rest = new REST(api ? { api: api.replace(/\/$/, '') } : {}).setToken(secrets.discordToken);
  try {
    const applicationId = config.discord.application_id ?? (await fetchApplicationId(rest));
    const registered = await registerCommands(rest, { applicationId, guildId: options.global ? null : config.discord.guild_id, commands });
    const where = registered.guildId === null ? 'globally (Discord may take up to an hour to show them everywhere)' : `in guild ${registered.guildId}`;
    console.log(`registered ${registered.commands.map((c) => `/${c.name}`).join(', ')} for application ${applicationId} ${where}${api ? ` at ${api}` : ''}`);
    return 0;
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    const hint = status === 401 ? ` (Discord rejected the token in $${tokenEnv})` : status === 403 ? ' (the application is not in that guild with the applications.commands scope: re-invite it)' : '';
    console.error(`zmq-notify deploy-commands: ${(err as Error).message}${hint}`);
    return 1;
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
}
