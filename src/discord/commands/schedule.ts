import {
  ApplicationCommandOptionType,
  MessageFlags,
  PermissionFlagsBits,
  time,
  TimestampStyles,
  type APIEmbed,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { ScheduleError, type JobScheduler, type ScheduleView } from '../../jobs/scheduler/job-scheduler.ts';
import { describeTrigger } from '../../jobs/scheduler/run-events.ts';
import { createScheduleZeroSchedule, ScheduleZeroApiError } from '../../jobs/scheduler/schedulezero-api.ts';
import type { ScheduleDefinition } from '../../jobs/scheduler/schedule.ts';
import type { RunOutcome } from '../../jobs/scheduler/scheduler.ts';
import type { TriggerSpec } from '../../jobs/scheduler/trigger.ts';
import { Colors } from '../embeds/colors.ts';
import { safeText } from '../embeds/text.ts';
import { invoker, type CommandDeps, type SlashCommand } from './command.ts';
import { scheduleSummaryEmbed } from './schedule-summary.ts';

/** Autocomplete offers at most this many choices (Discord's limit). */
const MAX_CHOICES = 25;
const PARAMS_MAX = 4_000;

const idOption = (description: string) => ({ type: ApplicationCommandOptionType.String, name: 'id', description, required: true, max_length: 64, autocomplete: true }) as const;

/** True when the member may manage schedules: an administrator, or one of `scheduler.manager_roles`. */
export function canManageSchedules(interaction: ChatInputCommandInteraction | AutocompleteInteraction, managerRoles: readonly string[]): boolean {
  if (interaction.memberPermissions?.has(PermissionFlagsBits.Administrator) === true) return true;
  if (managerRoles.length === 0) return false;
  const roles = interaction.member?.roles;
  if (!roles) return false;
  const has = Array.isArray(roles) ? (id: string) => roles.includes(id) : (id: string) => roles.cache.has(id);
  return managerRoles.some(has);
}

function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasUnsafeInteger);
  return false;
}

/** Reads the `params:` option: a JSON object; a Discord ID must be quoted (a JSON number that large loses digits). */
export function parseParams(text: string | null): Record<string, unknown> {
  if (text === null || text.trim() === '') return {};
  const expected = 'params: expected a JSON object such as {"channel_id": "123456789012345678", "content": "Hello"}';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ScheduleError(`${expected} (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ScheduleError(`${expected}, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  if (hasUnsafeInteger(value)) throw new ScheduleError('params: a number there is too large to keep exactly (a Discord ID?); put it in quotes, e.g. "channel_id": "123456789012345678"');
  return value as Record<string, unknown>;
}

function triggerFrom(interaction: ChatInputCommandInteraction, defaultZone: string): TriggerSpec {
  const given = (['cron', 'every', 'at'] as const).map((key) => [key, interaction.options.getString(key)] as const).filter(([, v]) => v !== null && v.trim() !== '');
  if (given.length !== 1) throw new ScheduleError(`give exactly one of cron:, every: or at: (got ${given.length === 0 ? 'none' : given.map(([k]) => `${k}:`).join(' and ')})`);
  const [key, value] = given[0]!;
  const timezone = interaction.options.getString('timezone')?.trim() || defaultZone;
  return key === 'cron' ? { cron: value!, timezone } : key === 'every' ? { every: value!, timezone } : { at: value!, timezone };
}

function viewEmbed(title: string, view: ScheduleView, color: number): APIEmbed {
  const { payload } = view;
  const next = view.paused ? 'paused' : view.nextRunAt === null ? 'no more runs' : `${time(new Date(view.nextRunAt), TimestampStyles.LongDateTime)} (${time(new Date(view.nextRunAt), TimestampStyles.RelativeTime)})`;
  return {
    title: safeText(`${title}: ${payload.id}`, 256),
    color,
    fields: [
      { name: 'When', value: safeText(describeTrigger(view.trigger), 1024), inline: true },
      { name: 'Next run', value: next, inline: true },
      { name: 'Job method', value: safeText(`\`${payload.method}\``, 1024), inline: true },
      { name: 'Params', value: safeText(`\`\`\`json\n${JSON.stringify(payload.params).slice(0, 900)}\n\`\`\``, 1024) },
    ],
  };
}

function outcomeEmbed(id: string, outcome: RunOutcome | 'skipped'): APIEmbed {
  if (outcome === 'skipped') return { title: `Not run: ${id}`, color: Colors.warning, description: 'It is already running as many times as max_instances allows; the skip is counted and logged.' };
  if (outcome.kind === 'executed') {
    return { title: safeText(`Ran ${id}`, 256), color: Colors.success, description: safeText(`Took ${outcome.durationMs} ms. Result:\n\`\`\`json\n${JSON.stringify(outcome.result ?? null)?.slice(0, 3_000)}\n\`\`\``, 4000) };
  }
  if (outcome.kind === 'failed') return { title: safeText(`Failed: ${id}`, 256), color: Colors.failure, description: safeText(String((outcome.error as Error)?.message ?? outcome.error), 4000) };
  return { title: safeText(`Missed: ${id}`, 256), color: Colors.warning };
}

async function refuse(interaction: ChatInputCommandInteraction, text: string): Promise<void> {
  await interaction.reply({ content: text, flags: MessageFlags.Ephemeral });
}

async function add(interaction: ChatInputCommandInteraction, schedules: JobScheduler, deps: CommandDeps): Promise<void> {
  const config = deps.app.config;
  const params = parseParams(interaction.options.getString('params'));
  if (JSON.stringify(params).length > PARAMS_MAX) throw new ScheduleError(`params: at most ${PARAMS_MAX} characters of JSON`);
  const definition: ScheduleDefinition = {
    id: interaction.options.getString('id', true).trim(),
    trigger: triggerFrom(interaction, config.scheduler.timezone),
    method: interaction.options.getString('method', true).trim(),
    params,
    sendAlert: interaction.options.getBoolean('send_alert') ?? false,
    overrides: {},
    origin: 'discord',
    createdBy: `<@${interaction.user.id}>`,
  };
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(definition.id)) throw new ScheduleError(`id: got ${JSON.stringify(definition.id)}, expected 1-64 letters, digits, _ . : or -`);
  if (interaction.options.getString('on') === 'schedulezero') return addOnScheduleZero(interaction, schedules, definition, deps);
  const view = schedules.add(definition);
  deps.logger.info({ ...invoker(interaction), schedule: view.id, method: definition.method, trigger: definition.trigger }, `/schedule add ${view.id} by ${interaction.user.tag}`);
  await interaction.reply({ embeds: [viewEmbed('Schedule added', view, Colors.success)] });
}

// `on: schedulezero`: the schedule is created on ScheduleZero through its REST API, which then calls this bot's job method.
async function addOnScheduleZero(interaction: ChatInputCommandInteraction, schedules: JobScheduler, definition: ScheduleDefinition, deps: CommandDeps): Promise<void> {
  const settings = deps.app.config.schedulezero;
  if (!settings?.api_endpoint) throw new ScheduleError('on: schedulezero needs schedulezero.api_endpoint in the config (ScheduleZero\'s REST API, e.g. http://127.0.0.1:8888)');
  // Checked here first: ScheduleZero would only say "not exposed by handler" for a bad method, and nothing for bad params.
  schedules.check(definition);
  await interaction.deferReply();
  try {
    const { jobId } = await createScheduleZeroSchedule({ endpoint: settings.api_endpoint, handlerId: settings.handler_id, id: definition.id, method: definition.method, params: definition.params, trigger: definition.trigger });
    deps.logger.info({ ...invoker(interaction), schedule: jobId, method: definition.method, trigger: definition.trigger, endpoint: settings.api_endpoint }, `/schedule add ${jobId} on ScheduleZero by ${interaction.user.tag}`);
    await interaction.editReply({
      embeds: [
        {
          title: safeText(`Scheduled on ScheduleZero: ${jobId}`, 256),
          color: Colors.success,
          fields: [
            { name: 'When', value: safeText(describeTriggerSpec(definition), 1024), inline: true },
            { name: 'Job method', value: safeText(`\`${definition.method}\` on handler \`${settings.handler_id}\``, 1024), inline: true },
            { name: 'Params', value: safeText(`\`\`\`json\n${JSON.stringify(definition.params).slice(0, 900)}\n\`\`\``, 1024) },
          ],
          footer: { text: `ScheduleZero at ${settings.api_endpoint} runs it and calls this bot; /schedule list shows only the bot's own schedules` },
        },
      ],
    });
  } catch (err) {
    if (!(err instanceof ScheduleZeroApiError)) throw err;
    deps.logger.warn({ ...invoker(interaction), schedule: definition.id, status: err.status, reason: err.message }, `/schedule add ${definition.id} on ScheduleZero failed: ${err.message}`);
    await interaction.editReply({ content: safeText(`/schedule add on ScheduleZero: ${err.message}`, 1900) });
  }
}

function describeTriggerSpec(definition: ScheduleDefinition): string {
  const spec = definition.trigger;
  if ('every' in spec) return `every ${spec.every}`;
  return 'cron' in spec ? `cron ${spec.cron} (${spec.timezone})` : `at ${spec.at} (${spec.timezone})`;
}

/**
 * `/schedule add|list|remove|pause|resume|run`: the bot's own scheduled jobs. Administrators, or
 * members with one of `scheduler.manager_roles`, checked here whatever Discord's command permissions say.
 */
export const scheduleCommand: SlashCommand = {
  data: {
    name: 'schedule',
    description: 'Add, list, remove, pause, resume or run scheduled jobs (administrators or scheduler.manager_roles)',
    default_member_permissions: PermissionFlagsBits.Administrator.toString(),
    options: [
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'add',
        description: 'Schedule a job method on a cron expression, an interval or a date',
        options: [
          { type: ApplicationCommandOptionType.String, name: 'id', description: 'A name for the schedule (letters, digits, _ . : -)', required: true, max_length: 64 },
          { type: ApplicationCommandOptionType.String, name: 'method', description: 'The job method to run', required: true, max_length: 100, autocomplete: true },
          { type: ApplicationCommandOptionType.String, name: 'cron', description: 'A cron expression, e.g. 30 14 * * 1-5', max_length: 100 },
          { type: ApplicationCommandOptionType.String, name: 'every', description: 'An interval: 30s, 5m, 2h or 1d', max_length: 20 },
          { type: ApplicationCommandOptionType.String, name: 'at', description: 'Once, at a date: 2026-12-24T18:00:00 (in the time zone) or …Z', max_length: 40 },
          { type: ApplicationCommandOptionType.String, name: 'params', description: 'The method\'s params as JSON, e.g. {"channel_id": "123", "content": "Hi"}', max_length: PARAMS_MAX },
          { type: ApplicationCommandOptionType.String, name: 'timezone', description: 'IANA time zone for cron and dates (default scheduler.timezone)', max_length: 64 },
          { type: ApplicationCommandOptionType.Boolean, name: 'send_alert', description: 'Also post each run\'s outcome to scheduler.dev_channel' },
          {
            type: ApplicationCommandOptionType.String,
            name: 'on',
            description: 'Where it is scheduled: this bot (default) or ScheduleZero (needs schedulezero.api_endpoint)',
            choices: [
              { name: 'this bot', value: 'bot' },
              { name: 'ScheduleZero', value: 'schedulezero' },
            ],
          },
        ],
      },
      { type: ApplicationCommandOptionType.Subcommand, name: 'list', description: 'The scheduled jobs, grouped by cron, date and interval, soonest first' },
      { type: ApplicationCommandOptionType.Subcommand, name: 'remove', description: 'Remove a schedule added from Discord', options: [idOption('The schedule to remove')] },
      { type: ApplicationCommandOptionType.Subcommand, name: 'pause', description: 'Stop a schedule\'s runs until it is resumed', options: [idOption('The schedule to pause')] },
      { type: ApplicationCommandOptionType.Subcommand, name: 'resume', description: 'Resume a paused schedule from its next time', options: [idOption('The schedule to resume')] },
      { type: ApplicationCommandOptionType.Subcommand, name: 'run', description: 'Run a schedule\'s job now', options: [idOption('The schedule to run now')] },
    ],
  },

  async execute(interaction, deps) {
    const sub = interaction.options.getSubcommand(true);
    const who = invoker(interaction);
    const { schedules } = deps;
    if (!canManageSchedules(interaction, deps.app.config.scheduler.manager_roles)) {
      deps.logger.warn({ ...who, command: 'schedule', sub }, `refused /schedule ${sub} for ${who.user}: not an administrator and without a scheduler.manager_roles role`);
      await refuse(interaction, 'Sorry, only server administrators (or members with a role in `scheduler.manager_roles`) can manage schedules.');
      return;
    }
    if (!schedules) {
      await refuse(interaction, 'This bot runs no scheduler.');
      return;
    }
    try {
      if (sub === 'add') return await add(interaction, schedules, deps);
      if (sub === 'list') {
        await interaction.reply({ embeds: [scheduleSummaryEmbed(schedules.list(), deps.app.config.scheduler.timezone)], flags: MessageFlags.Ephemeral });
        return;
      }
      const id = interaction.options.getString('id', true).trim();
      if (sub === 'run') {
        await interaction.deferReply();
        deps.logger.info({ ...who, schedule: id }, `/schedule run ${id} by ${who.user}`);
        const outcome = await schedules.runNow(id);
        await interaction.editReply({ embeds: [outcomeEmbed(id, outcome)] });
        return;
      }
      const view = sub === 'remove' ? schedules.remove(id) : sub === 'pause' ? schedules.pause(id) : schedules.resume(id);
      deps.logger.info({ ...who, schedule: id }, `/schedule ${sub} ${id} by ${who.user}`);
      const title = { remove: 'Schedule removed', pause: 'Schedule paused', resume: 'Schedule resumed' }[sub as 'remove' | 'pause' | 'resume'];
      await interaction.reply({ embeds: [viewEmbed(title, view, sub === 'remove' ? Colors.neutral : Colors.info)] });
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      deps.logger.info({ ...who, sub, reason: err.message }, `/schedule ${sub} refused: ${err.message}`);
      if (interaction.deferred) await interaction.editReply({ content: safeText(err.message, 1900) });
      else await refuse(interaction, safeText(`/schedule ${sub}: ${err.message}`, 1900));
    }
  },

  async autocomplete(interaction, deps) {
    const focused = interaction.options.getFocused(true);
    const typed = String(focused.value).toLowerCase();
    // Names are only offered to those who may use them.
    const allowed = canManageSchedules(interaction, deps.app.config.scheduler.manager_roles);
    const names = !allowed || !deps.schedules ? [] : focused.name === 'method' ? deps.schedules.methodNames() : deps.schedules.list().map((v) => v.id);
    const matches = names.filter((n) => n.toLowerCase().includes(typed)).sort((a, b) => Number(!b.toLowerCase().startsWith(typed)) - Number(!a.toLowerCase().startsWith(typed)) || a.localeCompare(b));
    await interaction.respond(matches.slice(0, MAX_CHOICES).map((name) => ({ name, value: name })));
  },
};
