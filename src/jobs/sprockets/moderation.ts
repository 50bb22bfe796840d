import { DiscordAPIError, OverwriteType, PermissionFlagsBits, RESTJSONErrorCodes, Routes, type APIGuildChannel, type GuildChannelType } from 'discord.js';
import { z } from 'zod';
import { discordId, discordIds } from '../params.ts';
import { defineSprocket, type JobContext } from '../sprocket.ts';
import { cleanupChannel } from './cleanup.ts';
import { deletePaceMs } from './core.ts';
import { changeMemberRole, discordErrorText, embedParams, fetchChannel, fetchRole, fetchUser, openDm, setOverwrite } from './discord-ops.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

const roleChange = z.object({ guild_id: discordId, user_ids: discordIds(100).refine((ids) => ids.length > 0, 'at least one user'), role_id: discordId }).strict();

async function changeRoles(ctx: JobContext, action: 'add' | 'remove', p: z.output<typeof roleChange>): Promise<Record<string, unknown>> {
  const role = await fetchRole(ctx, p.guild_id, p.role_id);
  let success_count = 0;
  const failed_users: { user_id: string; error: string }[] = [];
  for (const user_id of p.user_ids) {
    try {
      await changeMemberRole(ctx, action, { guildId: p.guild_id, userId: user_id, roleId: p.role_id }, `ScheduleZero job ${action}_role_scheduled`);
      success_count++;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const text = (err as Error).message;
      failed_users.push({ user_id, error: /^Member .* not found$/.test(text) ? 'Member not found' : text });
    }
  }
  return { success_count, total_users: p.user_ids.length, failed_users, role_name: role.name };
}

// @everyone's overwrite in a guild channel: its id is the guild's.
async function setEveryoneSend(ctx: JobContext, channelId: string, locked: boolean, reason: string): Promise<Record<string, unknown>> {
  const channel = (await fetchChannel(ctx, channelId)) as APIGuildChannel<GuildChannelType>;
  if (!channel.guild_id) throw new Error(`Channel ${channelId} is not a guild channel`);
  const current = channel.permission_overwrites?.find((o) => o.id === channel.guild_id);
  const send = PermissionFlagsBits.SendMessages;
  let allow = BigInt(current?.allow ?? '0');
  let deny = BigInt(current?.deny ?? '0');
  if (locked) {
    deny |= send;
    allow &= ~send;
  } else {
    // Neither allowed nor denied: the channel inherits again (discord.py's send_messages=None).
    deny &= ~send;
  }
  await setOverwrite(ctx, channelId, { id: channel.guild_id, type: OverwriteType.Role, allow, deny }, reason);
  return { channel_id: channelId, channel_name: channel.name ?? null, locked, reason };
}

/** `moderation`: the methods of ScheduleZero's moderation_sprocket.py; on only when listed under `sprockets:`. */
export default defineSprocket({
  name: 'moderation',
  description: 'Deletes messages, changes roles, locks channels, sends DMs (off unless listed)',
  methods: {
    cleanup_messages: {
      description: 'Deletes messages among the newest `limit`, filtered by age_days (older than), user_id (author) and contains (text)',
      params: z
        .object({ channel_id: discordId, limit: z.number().int().min(1).max(10_000).default(100), age_days: z.number().min(0).max(36_500).nullish(), user_id: discordId.nullish(), contains: z.string().min(1).nullish() })
        .strict(),
      run: async ({ channel_id, limit, age_days, user_id, contains }, ctx) => {
        const deleted_count = await cleanupChannel(ctx, {
          channelId: channel_id,
          limit,
          paceMs: deletePaceMs(ctx.config),
          matches: (m, now) =>
            (age_days === undefined || age_days === null || now - Date.parse(m.timestamp) > age_days * DAY_MS) &&
            (!user_id || m.author.id === user_id) &&
            (!contains || m.content.includes(contains)),
        });
        return { deleted_count, channel_id };
      },
    },
    add_role_scheduled: {
      description: 'Adds a role to each of user_ids',
      params: roleChange,
      run: (p, ctx) => changeRoles(ctx, 'add', p),
    },
    remove_role_scheduled: {
      description: 'Removes a role from each of user_ids',
      params: roleChange,
      run: (p, ctx) => changeRoles(ctx, 'remove', p),
    },
    lockdown_channel: {
      description: 'Denies @everyone Send Messages in a channel',
      params: z.object({ channel_id: discordId, reason: z.string().max(512).default('Scheduled lockdown') }).strict(),
      run: ({ channel_id, reason }, ctx) => setEveryoneSend(ctx, channel_id, true, reason),
    },
    unlock_channel: {
      description: "Lifts @everyone's Send Messages denial (inherits again)",
      params: z.object({ channel_id: discordId, reason: z.string().max(512).default('Scheduled unlock') }).strict(),
      run: ({ channel_id, reason }, ctx) => setEveryoneSend(ctx, channel_id, false, reason),
    },
    send_dm: {
      description: 'Sends a direct message (text or embed) to a user',
      params: z
        .object({
          user_id: discordId,
          message: z.string().max(2000).default(''),
          embed: z.object({ title: embedParams.title.default('Message'), description: embedParams.description.optional(), color: embedParams.color.default(0x00ff00) }).strict().nullish(),
        })
        .strict()
        .refine((p) => p.message !== '' || p.embed, { message: 'a message or an embed is needed', path: ['message'] }),
      run: async ({ user_id, message, embed }, ctx) => {
        const user = await fetchUser(ctx, user_id);
        const dm = await openDm(ctx, user_id);
        const description = embed?.description ?? message;
        const body = embed ? { embeds: [{ title: embed.title, color: embed.color, ...(description ? { description } : {}) }] } : { content: message };
        try {
          await ctx.discord.rest.post(Routes.channelMessages(dm.id), { body: { ...body, allowed_mentions: { parse: [] } }, signal: ctx.signal });
        } catch (err) {
          if (err instanceof DiscordAPIError && (err.code === RESTJSONErrorCodes.CannotSendMessagesToThisUser || err.status === 403)) {
            throw new Error(`Cannot send DM to ${user.username} (blocked or privacy settings)`);
          }
          throw new Error(discordErrorText(err, user_id, 'User'));
        }
        return { user_id, username: user.username, sent: true };
      },
    },
  },
});
