import { DiscordAPIError, Routes, type APIAllowedMentions, type APIChannel, type APIEmbed, type APIGuildMember, type APIMessage, type APIRole, type APIUser } from 'discord.js';
import { z } from 'zod';
import type { JobContext } from '../sprocket.ts';

/** The Discord work job methods share, over the bot's one REST client (so the Outbox sees every send's rate-limit headers). */

/** Raised with the text ScheduleZero's Discord examples answer (`Channel <id> not found`, ...). */
export class DiscordJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscordJobError';
  }
}

/** Discord's "Unknown X" error codes, as the example handlers name them. */
const unknownCodes: Readonly<Record<number, string>> = { 10003: 'Channel', 10004: 'Guild', 10007: 'Member', 10008: 'Message', 10011: 'Role', 10013: 'User' };

/** A Discord error as the job's error text: `<Kind> <id> not found` for the unknown-entity codes, else Discord's own message. */
export function discordErrorText(err: unknown, id: string, kind: string): string {
  if (err instanceof DiscordAPIError) {
    const unknown = unknownCodes[Number(err.code)];
    if (unknown !== undefined) return `${unknown} ${unknownIdOf(unknown, id, kind)} not found`;
    if (err.status === 404) return `${kind} ${id} not found`;
    return `${err.message} (Discord ${err.status}, code ${String(err.code)})`;
  }
  return (err as Error)?.message ?? String(err);
}

function unknownIdOf(unknown: string, id: string, kind: string): string {
  return unknown === kind ? id : `(for ${kind.toLowerCase()} ${id})`;
}

/** Runs one Discord request, turning its failure into a {@link DiscordJobError} about `kind` `id`. */
export async function discord<T>(what: { kind: string; id: string }, request: () => Promise<unknown>): Promise<T> {
  try {
    return (await request()) as T;
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    throw new DiscordJobError(discordErrorText(err, what.id, what.kind));
  }
}

/** The body of a job message: content and embeds, with exactly the mentions allowed (none unless given). */
export interface JobMessage {
  content?: string;
  embeds?: APIEmbed[];
  allowedMentions?: APIAllowedMentions;
}

/** Posts one message to a channel (never merged or digested: a job message is an announcement). */
export function postMessage(ctx: JobContext, channelId: string, message: JobMessage): Promise<APIMessage> {
  const body = {
    ...(message.content === undefined ? {} : { content: message.content }),
    ...(message.embeds === undefined ? {} : { embeds: message.embeds }),
    allowed_mentions: message.allowedMentions ?? { parse: [] },
  };
  return discord<APIMessage>({ kind: 'Channel', id: channelId }, () => ctx.inChannelTurn(channelId, () => ctx.discord.rest.post(Routes.channelMessages(channelId), { body, signal: ctx.signal })));
}

/** A channel (404 → `Channel <id> not found`). */
export function fetchChannel(ctx: JobContext, channelId: string): Promise<APIChannel> {
  return discord<APIChannel>({ kind: 'Channel', id: channelId }, () => ctx.discord.rest.get(Routes.channel(channelId), { signal: ctx.signal }));
}

/** A guild's role by id (`Guild <id> not found`, `Role <id> not found`). */
export async function fetchRole(ctx: JobContext, guildId: string, roleId: string): Promise<APIRole> {
  const roles = await discord<APIRole[]>({ kind: 'Guild', id: guildId }, () => ctx.discord.rest.get(Routes.guildRoles(guildId), { signal: ctx.signal }));
  const role = roles.find((r) => r.id === roleId);
  if (!role) throw new DiscordJobError(`Role ${roleId} not found`);
  return role;
}

/** A guild member (`Member <id> not found`). */
export function fetchMember(ctx: JobContext, guildId: string, userId: string): Promise<APIGuildMember> {
  return discord<APIGuildMember>({ kind: 'Member', id: userId }, () => ctx.discord.rest.get(Routes.guildMember(guildId, userId), { signal: ctx.signal }));
}

/** Adds or removes a member's role. */
export function changeMemberRole(ctx: JobContext, action: 'add' | 'remove', ids: { guildId: string; userId: string; roleId: string }, reason?: string): Promise<void> {
  const route = Routes.guildMemberRole(ids.guildId, ids.userId, ids.roleId);
  const options = { signal: ctx.signal, ...(reason ? { reason } : {}) };
  return discord<void>({ kind: 'Member', id: ids.userId }, () => (action === 'add' ? ctx.discord.rest.put(route, options) : ctx.discord.rest.delete(route, options)));
}

/** A user (`User <id> not found`). */
export function fetchUser(ctx: JobContext, userId: string): Promise<APIUser> {
  return discord<APIUser>({ kind: 'User', id: userId }, () => ctx.discord.rest.get(Routes.user(userId), { signal: ctx.signal }));
}

/** Opens (or finds) the DM channel with a user. */
export function openDm(ctx: JobContext, userId: string): Promise<APIChannel> {
  return discord<APIChannel>({ kind: 'User', id: userId }, () => ctx.discord.rest.post(Routes.userChannels(), { body: { recipient_id: userId }, signal: ctx.signal }));
}

/** Sets (replaces) a channel's permission overwrite for a role or member. */
export function setOverwrite(ctx: JobContext, channelId: string, overwrite: { id: string; type: 0 | 1; allow: bigint; deny: bigint }, reason?: string): Promise<void> {
  const body = { type: overwrite.type, allow: overwrite.allow.toString(), deny: overwrite.deny.toString() };
  return discord<void>({ kind: 'Channel', id: channelId }, () =>
    ctx.discord.rest.put(Routes.channelPermission(channelId, overwrite.id), { body, signal: ctx.signal, ...(reason ? { reason } : {}) }),
  );
}

/** An embed's params, as the example sprockets take them. */
export const embedParams = {
  title: z.string().max(256),
  description: z.string().max(4096),
  /** An RGB colour as an integer (0x00ff00 = green, the examples' default). */
  color: z.number().int().min(0).max(0xffffff),
};

/** Rejects the promise of a wait when the signal aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
