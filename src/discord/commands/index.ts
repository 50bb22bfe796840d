import { MessageFlags, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import { invoker, type CommandDeps, type SlashCommand } from './command.ts';
import { restartCommand } from './restart.ts';
import { scheduleCommand } from './schedule.ts';
import { sprocketsCommand } from './sprockets.ts';
import { statusCommand } from './status.ts';

export { invoker, type CommandDeps, type SlashCommand } from './command.ts';
export { registerCommands, type RegisteredCommands } from './register.ts';
export { restartCommand } from './restart.ts';
export { scheduleCommand } from './schedule.ts';
export { sprocketsCommand } from './sprockets.ts';
export { statusCommand, statusEmbed, statusSnapshot, type StatusSnapshot } from './status.ts';

/** Every slash command the bot registers and answers. */
export const commands: readonly SlashCommand[] = [statusCommand, restartCommand, sprocketsCommand, scheduleCommand];

// Answers so the interaction never hangs ("The application did not respond"), whatever state it is in.
async function replyWithError(interaction: ChatInputCommandInteraction, text: string): Promise<void> {
  if (interaction.deferred && !interaction.replied) await interaction.editReply({ content: text, embeds: [] });
  else if (interaction.replied) await interaction.followUp({ content: text, flags: MessageFlags.Ephemeral });
  else await interaction.reply({ content: text, flags: MessageFlags.Ephemeral });
}

/**
 * The client's InteractionCreate listener: runs the slash command invoked, and answers with an
 * ephemeral error when there is no such command or it throws. The returned promise never rejects.
 */
export function interactionRouter(deps: CommandDeps, list: readonly SlashCommand[] = commands): (interaction: Interaction) => Promise<void> {
  const byName = new Map(list.map((c) => [c.data.name, c]));
  return async (interaction) => {
    if (interaction.isAutocomplete()) {
      const command = byName.get(interaction.commandName);
      await command?.autocomplete?.(interaction, deps).catch((err: unknown) => deps.logger.warn({ err, command: interaction.commandName }, `/${interaction.commandName} autocomplete failed`));
      return;
    }
    if (!interaction.isChatInputCommand()) return;
    const command = byName.get(interaction.commandName);
    try {
      if (!command) {
        deps.logger.warn({ ...invoker(interaction), command: interaction.commandName }, 'interaction for a command this bot does not have; run deploy-commands to refresh them');
        await replyWithError(interaction, `This bot has no command /${interaction.commandName}; an administrator may need to run \`zmq-notify deploy-commands\`.`);
        return;
      }
      await command.execute(interaction, deps);
    } catch (err) {
      deps.logger.error({ err, ...invoker(interaction), command: interaction.commandName }, `/${interaction.commandName} failed`);
      await replyWithError(interaction, `/${interaction.commandName} failed: ${(err as Error).message ?? String(err)}`.slice(0, 1900)).catch((replyErr: unknown) =>
        deps.logger.warn({ err: replyErr, command: interaction.commandName }, 'could not send the error reply'),
      );
    }
  };
}
