import { MessageFlags, PermissionFlagsBits, type APIEmbed } from 'discord.js';
import type { Subscriber } from '../../transport/subscriber.ts';
import { Colors } from '../embeds/colors.ts';
import { formatDuration } from '../embeds/format.ts';
import { safeText } from '../embeds/text.ts';
import { invoker, type SlashCommand } from './command.ts';

/** How long the reply waits for the new socket to reconnect before reporting what it has. */
const CONNECT_WAIT_MS = 2_000;

/** Resolves once every endpoint is connected, or after `timeoutMs`. */
function connections(subscriber: Subscriber, timeoutMs: number): Promise<void> {
  const all = (): boolean => subscriber.stats().connected.length >= subscriber.endpoints.length;
  if (all()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      subscriber.off('connection', check);
      resolve();
    };
    const check = (): void => {
      if (all()) done();
    };
    const timer = setTimeout(done, timeoutMs);
    subscriber.on('connection', check);
  });
}

function outcomeEmbed(subscriber: Subscriber, tookMs: number, queued: number): APIEmbed {
  const connected = new Set(subscriber.stats().connected);
  const endpoints = subscriber.endpoints.map((e) => `${connected.has(e) ? '🟢' : '🔴'} \`${e}\` ${connected.has(e) ? 'connected' : 'not connected yet (retrying)'}`);
  return {
    title: 'ZeroMQ listener restarted',
    color: connected.size === subscriber.endpoints.length ? Colors.success : Colors.warning,
    description: safeText(
      [`State: **${subscriber.state}** · took ${formatDuration(tookMs / 1000)}`, `${connected.size}/${subscriber.endpoints.length} endpoints connected`, ...endpoints, `${queued} queued event(s) kept`].join('\n'),
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
    const started = Date.now();
    try {
      await app.restartListener();
    } catch (err) {
      const message = (err as Error).message;
      logger.error({ ...who, err }, `/zmq_restart failed: ${message}`);
      await interaction.editReply({
        embeds: [{ title: 'ZeroMQ listener restart failed', color: Colors.failure, description: safeText(`${message}\n\nState: **${app.subscriber.state}**`, 4000) }],
      });
      return;
    }
    const tookMs = Date.now() - started;
    await connections(app.subscriber, CONNECT_WAIT_MS);
    logger.info({ ...who, tookMs, state: app.subscriber.state, connected: app.subscriber.stats().connected }, 'ZeroMQ listener restarted');
    await interaction.editReply({ embeds: [outcomeEmbed(app.subscriber, tookMs, app.queue.size)] });
  },
};
