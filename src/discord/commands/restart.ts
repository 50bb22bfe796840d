import { MessageFlags, PermissionFlagsBits, type APIEmbed } from 'discord.js';
import type { ListenerRestart } from '../../app.ts';
import { Colors } from '../embeds/colors.ts';
import { formatDuration } from '../embeds/format.ts';
import { safeText } from '../embeds/text.ts';
import { invoker, type SlashCommand } from './command.ts';

/** How long the reply waits for the new socket to reconnect before reporting what it has. */
const CONNECT_WAIT_MS = 2_000;

function outcomeEmbed(outcome: ListenerRestart): APIEmbed {
  const connected = outcome.endpoints.filter((e) => e.connected).length;
  const endpoints = outcome.endpoints.map((e) => `${e.connected ? '🟢' : '🔴'} \`${e.endpoint}\` ${e.connected ? 'connected' : 'not connected yet (retrying)'}`);
  return {
    title: 'ZeroMQ listener restarted',
    color: connected === outcome.endpoints.length ? Colors.success : Colors.warning,
    description: safeText(
      [
        `State: **${outcome.state}** · took ${formatDuration(outcome.tookMs / 1000)}`,
        `${connected}/${outcome.endpoints.length} endpoints connected`,
        ...endpoints,
        `${outcome.kept} queued event(s) kept`,
        ...(outcome.lost > 0 ? [`${outcome.lost} event(s) lost in transit (sequence gaps)`] : []),
      ].join('\n'),
      4000,
    ),
  };
}

/** `/zmq_restart`: administrators only (checked here, whatever the command's permissions in the server say). */
export const restartCommand: SlashCommand = {
  data: {
    name: 'zmq_restart',
    description: 'Restart the ZeroMQ listener with a fresh socket; queued events are kept (administrators only)',
    default_member_permissions: PermissionFlagsBits.Administrator.toString(),
  },
  async execute(interaction, { app, logger }) {
    const who = invoker(interaction);
    // A server admin can grant the command to anyone in Integrations settings; the bot still says no.
    if (interaction.memberPermissions?.has(PermissionFlagsBits.Administrator) !== true) {
      logger.warn({ ...who, command: 'zmq_restart' }, `refused /zmq_restart for ${who.user}: not an administrator`);
      await interaction.reply({
        content: 'Sorry, only server administrators can restart the listener. `/zmq_status` shows how it is doing.',
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    logger.info({ ...who, command: 'zmq_restart' }, `/zmq_restart by ${who.user}: restarting the ZeroMQ listener`);
    await interaction.deferReply();
    let outcome: ListenerRestart;
    try {
      outcome = await app.restartListener({ connectTimeoutMs: CONNECT_WAIT_MS });
    } catch (err) {
      const message = (err as Error).message;
      logger.error({ ...who, err }, `/zmq_restart failed: ${message}`);
      await interaction.editReply({
        embeds: [{ title: 'ZeroMQ listener restart failed', color: Colors.failure, description: safeText(`${message}\n\nState: **${app.status().listener.state}**`, 4000) }],
      });
      return;
    }
    const connected = outcome.endpoints.filter((e) => e.connected).map((e) => e.endpoint);
    logger.info({ ...who, tookMs: outcome.tookMs, state: outcome.state, connected, kept: outcome.kept, lost: outcome.lost }, 'ZeroMQ listener restarted');
    await interaction.editReply({ embeds: [outcomeEmbed(outcome)] });
  },
};
