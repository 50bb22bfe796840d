import { MessageFlags, PermissionFlagsBits, type APIEmbed } from 'discord.js';
import type { ListenerRestart } from '../../app.ts';
import { Colors } from '../embeds/colors.ts';
import { formatDuration } from '../embeds/format.ts';
import { safeText } from '../embeds/text.ts';
import { invoker, type SlashCommand } from './command.ts';

/**
 * How long the reply waits for endpoints that were down before the restart (the handover itself
 * waits for those the old socket had); a short wait, so the answer is one plain reply.
 */
const CONNECT_WAIT_MS = 250;
/** A restart that has not finished by then is answered with a deferred reply (Discord allows 3 s for the first answer). */
const REPLY_WITHIN_MS = 1_500;

const handoverLines: Record<ListenerRestart['handover'], string> = {
  'caught-up': 'Handover: the old socket was read up to where the new one starts (by sequence numbers), so nothing in flight was dropped',
  quiet: 'Handover: the new socket was receiving while the old one had nothing waiting, so nothing in flight was dropped',
  timeout: '⚠️ Handover: not proven complete in time; anything missed is counted below as lost',
  fresh: 'The listener was not running: a new socket was opened',
};

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
        handoverLines[outcome.handover],
        `Kept: ${outcome.kept} queued event(s), ${outcome.fromOldSocket} read from the old socket before it closed, ${outcome.held} received by the new one meanwhile${outcome.duplicates > 0 ? ` (${outcome.duplicates} received by both, delivered once)` : ''}`,
        outcome.lost > 0 ? `${outcome.lost} event(s) lost in transit (sequence gaps)` : 'No sequence gap: nothing lost as far as sequence numbers tell',
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
    const restart = app.restartListener({ connectTimeoutMs: CONNECT_WAIT_MS }).then(
      (outcome) => ({ outcome }),
      (err: unknown) => ({ err: err as Error }),
    );
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([restart, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), REPLY_WITHIN_MS)))]);
    clearTimeout(timer);
    // A restart takes milliseconds: one plain reply. Only one still running by then is deferred.
    const deferred = inTime === undefined;
    if (deferred) await interaction.deferReply();
    const done = inTime ?? (await restart);
    const answer = (body: { embeds: APIEmbed[] }): Promise<unknown> => (deferred ? interaction.editReply(body) : interaction.reply(body));
    if ('err' in done) {
      const message = done.err.message;
      logger.error({ ...who, err: done.err }, `/zmq_restart failed: ${message}`);
      await answer({
        embeds: [{ title: 'ZeroMQ listener restart failed', color: Colors.failure, description: safeText(`${message}\n\nState: **${app.status().listener.state}**`, 4000) }],
      });
      return;
    }
    const { outcome } = done;
    const connected = outcome.endpoints.filter((e) => e.connected).map((e) => e.endpoint);
    logger.info({ ...who, ...outcome, connected, endpoints: undefined, deferred }, 'ZeroMQ listener restarted');
    await answer({ embeds: [outcomeEmbed(outcome)] });
  },
};
