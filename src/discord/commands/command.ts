import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { App } from '../../app.ts';
import type { JobSide } from '../../jobs/job-side.ts';
import type { JobScheduler } from '../../jobs/scheduler/job-scheduler.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { DiscordExtensions } from '../module-context.ts';
import type { Outbox } from '../outbox/index.ts';

/** What a slash command reads and acts on: the running bot's parts. */
export interface CommandDeps {
  app: App<DiscordExtensions>;
  outbox: Outbox;
  /** The registry /metrics serves, so what a command shows matches what Prometheus scrapes. */
  metrics: Metrics;
  logger: Logger;
  /** The job side (sprockets, ScheduleZero registration), for /zmq_sprockets and /zmq_status. */
  jobs?: JobSide;
  /** The bot's own scheduler, for /schedule. */
  schedules?: JobScheduler;
}

/** A slash command: what is registered with Discord, and what runs when someone invokes it. */
export interface SlashCommand {
  readonly data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, deps: CommandDeps): Promise<void>;
  /** Answers an option's autocomplete (for options registered with `autocomplete: true`). */
  autocomplete?(interaction: AutocompleteInteraction, deps: CommandDeps): Promise<void>;
}

/** Who invoked an interaction, for log lines. */
export function invoker(interaction: ChatInputCommandInteraction): { userId: string; user: string; guildId: string | null; channelId: string } {
  return { userId: interaction.user.id, user: interaction.user.tag, guildId: interaction.guildId, channelId: interaction.channelId };
}
