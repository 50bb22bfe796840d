import { ApplicationIntegrationType, InteractionContextType, Routes, type APIApplication, type APIApplicationCommand, type REST } from 'discord.js';
import type { SlashCommand } from './command.ts';

/** What {@link registerCommands} registered, and where. */
export interface RegisteredCommands {
  applicationId: string;
  /** The guild they were registered in; null for global commands. */
  guildId: string | null;
  commands: { id: string; name: string }[];
}

/** The application's ID, as Discord reports it for the token (GET /applications/@me). */
export async function fetchApplicationId(rest: REST): Promise<string> {
  const application = (await rest.get(Routes.currentApplication())) as APIApplication;
  return application.id;
}

/**
 * Registers the commands with one PUT, replacing what the application had in that scope: in the
 * guild when `guildId` is given (immediate), else globally (guild channels only; Discord may take
 * a while to show them).
 */
export async function registerCommands(rest: REST, options: { applicationId: string; guildId?: string | null; commands: readonly SlashCommand[] }): Promise<RegisteredCommands> {
  const { applicationId, commands } = options;
  const guildId = options.guildId ?? null;
  const body = commands.map((c) =>
    guildId === null ? { ...c.data, contexts: [InteractionContextType.Guild], integration_types: [ApplicationIntegrationType.GuildInstall] } : c.data,
  );
  const route = guildId === null ? Routes.applicationCommands(applicationId) : Routes.applicationGuildCommands(applicationId, guildId);
  const registered = (await rest.put(route, { body })) as APIApplicationCommand[];
  return { applicationId, guildId, commands: registered.map((c) => ({ id: c.id, name: c.name })) };
}
