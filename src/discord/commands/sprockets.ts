import { ApplicationCommandOptionType, MessageFlags, PermissionFlagsBits, type APIEmbed } from 'discord.js';
import type { JobSide } from '../../jobs/job-side.ts';
import { Colors } from '../embeds/colors.ts';
import { safeText } from '../embeds/text.ts';
import { invoker, type SlashCommand } from './command.ts';

/** How long a change's reply waits for ScheduleZero to accept the new method list. */
const REGISTER_WAIT_MS = 3_000;

const nameOption = { type: ApplicationCommandOptionType.String, name: 'name', description: 'The sprocket (see /zmq_sprockets list)', required: true, max_length: 64 } as const;

function listEmbed(jobs: JobSide): APIEmbed {
  const lines = jobs.sprockets.available().map((s) => `${s.loaded ? '🟢' : '⚪'} **${s.name}** (${s.source === 'built-in' ? 'built-in' : `\`${s.source}\``}) — ${s.loaded ? s.methods.map((m) => `\`${m}\``).join(', ') : 'not loaded'}`);
  return { title: 'Sprockets', color: Colors.info, description: safeText(lines.join('\n') || 'No sprockets are available: list them under sprockets: in the config.', 4000), footer: { text: registrationLine(jobs) } };
}

function registrationLine(jobs: JobSide): string {
  const status = jobs.handler?.status().registration;
  if (!status) return 'ScheduleZero: not configured (schedulezero:)';
  return `ScheduleZero ${status.server}: ${status.state}, ${status.methods} methods registered`;
}

// Resolves once ScheduleZero has accepted a registration made after `since` registrations, or after the wait.
async function reregistered(jobs: JobSide, since: number): Promise<boolean> {
  const handler = jobs.handler;
  if (!handler) return false;
  const deadline = Date.now() + REGISTER_WAIT_MS;
  while (Date.now() < deadline) {
    const status = handler.status().registration;
    if (status.registrations > since && status.state === 'registered') return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** `/zmq_sprockets list|load|unload|reload NAME`: administrators only (checked here); a change registers the new method list with ScheduleZero. */
export const sprocketsCommand: SlashCommand = {
  data: {
    name: 'zmq_sprockets',
    description: 'List, load, unload or reload job-method sprockets (administrators only)',
    default_member_permissions: PermissionFlagsBits.Administrator.toString(),
    options: [
      { type: ApplicationCommandOptionType.Subcommand, name: 'list', description: 'Show the sprockets and their job methods' },
      { type: ApplicationCommandOptionType.Subcommand, name: 'load', description: 'Load a sprocket and register its methods with ScheduleZero', options: [nameOption] },
      { type: ApplicationCommandOptionType.Subcommand, name: 'unload', description: 'Unload a sprocket; its running calls finish or fail cleanly', options: [nameOption] },
      { type: ApplicationCommandOptionType.Subcommand, name: 'reload', description: 'Unload and load a sprocket again (a file is re-read)', options: [nameOption] },
    ],
  },
  async execute(interaction, { jobs, logger }) {
    const who = invoker(interaction);
    const sub = interaction.options.getSubcommand(true);
    if (interaction.memberPermissions?.has(PermissionFlagsBits.Administrator) !== true) {
      logger.warn({ ...who, command: 'zmq_sprockets', sub }, `refused /zmq_sprockets ${sub} for ${who.user}: not an administrator`);
      await interaction.reply({ content: 'Sorry, only server administrators can manage sprockets.', flags: MessageFlags.Ephemeral });
      return;
    }
    if (!jobs) {
      await interaction.reply({ content: 'This bot has no job side.', flags: MessageFlags.Ephemeral });
      return;
    }
    if (sub === 'list') {
      await interaction.reply({ embeds: [listEmbed(jobs)], flags: MessageFlags.Ephemeral });
      return;
    }
    const name = interaction.options.getString('name', true);
    await interaction.deferReply();
    const before = jobs.handler?.status().registration.registrations ?? 0;
    let summary: string;
    try {
      if (sub === 'load') summary = `Loaded **${name}**: ${(await jobs.sprockets.load(name)).methods.map((m) => `\`${m}\``).join(', ')}`;
      else if (sub === 'reload') summary = `Reloaded **${name}**: ${(await jobs.sprockets.reload(name)).methods.map((m) => `\`${m}\``).join(', ')}`;
      else {
        const { finished, aborted } = await jobs.sprockets.unload(name);
        summary = `Unloaded **${name}**${finished + aborted > 0 ? ` (${finished} running call(s) finished, ${aborted} aborted)` : ''}`;
      }
    } catch (err) {
      logger.warn({ ...who, sub, name, err: (err as Error).message }, `/zmq_sprockets ${sub} ${name} failed`);
      await interaction.editReply({ embeds: [{ title: `/zmq_sprockets ${sub} failed`, color: Colors.failure, description: safeText((err as Error).message, 4000) }] });
      return;
    }
    logger.info({ ...who, sub, name }, `/zmq_sprockets ${sub} ${name} by ${who.user}`);
    const registered = await reregistered(jobs, before);
    const registration = jobs.handler ? (registered ? 'ScheduleZero accepted the new method list.' : 'Registering the new method list with ScheduleZero (not confirmed yet).') : '';
    await interaction.editReply({ embeds: [{ title: `Sprocket ${sub}`, color: Colors.success, description: safeText(`${summary}\n${registration}`, 4000), footer: { text: registrationLine(jobs) } }] });
  },
};
