import { ActivityType } from 'discord.js';
import { z } from 'zod';
import { discordId } from '../params.ts';
import { defineSprocket, type SprocketConfig } from '../sprocket.ts';
import { cleanupChannel } from './cleanup.ts';
import { changeMemberRole, embedParams, fetchMember, fetchRole, postMessage } from './discord-ops.ts';

const activities = { playing: ActivityType.Playing, watching: ActivityType.Watching, listening: ActivityType.Listening } as const;

/** Milliseconds between one-by-one deletions (sprocket config `delete_pace_ms`; the examples waited 1 s). */
export function deletePaceMs(config: SprocketConfig): number {
  const pace = config.delete_pace_ms;
  return typeof pace === 'number' && Number.isFinite(pace) && pace >= 0 ? pace : 1_000;
}

/** `core`: the six job methods of ScheduleZero's discord_handler.py, with its params and return fields. */
export default defineSprocket({
  name: 'core',
  description: "The methods of ScheduleZero's Discord handler example",
  methods: {
    send_message: {
      description: 'Posts content to a channel (mentions in it do not ping)',
      params: z.object({ channel_id: discordId, content: z.string().min(1).max(2000) }).strict(),
      run: async ({ channel_id, content }, ctx) => {
        const message = await postMessage(ctx, channel_id, { content });
        return { message_id: message.id, channel_id, content };
      },
    },
    send_embed: {
      description: 'Posts an embed (title, description, color) to a channel',
      params: z
        .object({ channel_id: discordId, title: embedParams.title.default(''), description: embedParams.description.default(''), color: embedParams.color.default(0x00ff00) })
        .strict()
        .refine((p) => p.title !== '' || p.description !== '', { message: 'a title or a description is needed', path: ['description'] }),
      run: async ({ channel_id, title, description, color }, ctx) => {
        const embed = { color, ...(title ? { title } : {}), ...(description ? { description } : {}) };
        const message = await postMessage(ctx, channel_id, { embeds: [embed] });
        return { message_id: message.id, channel_id };
      },
    },
    update_status: {
      description: "Sets the bot's activity: playing, watching or listening to <name>",
      params: z
        .object({
          activity_type: z
            .string()
            .transform((s) => s.toLowerCase())
            .pipe(z.enum(['playing', 'watching', 'listening']))
            .default('playing'),
          name: z.string().min(1).max(128),
        })
        .strict(),
      run: ({ activity_type, name }, ctx) => {
        const user = ctx.discord.user;
        if (!user) throw new Error('the bot is not logged in to Discord');
        user.setPresence({ activities: [{ name, type: activities[activity_type] }] });
        return { activity_type, name };
      },
    },
    schedule_announcement: {
      description: 'Posts a message, pinging role_id when given (the role must be in this sprocket’s roles list when one is set)',
      params: z.object({ channel_id: discordId, message: z.string().min(1).max(1900), role_id: discordId.nullish() }).strict(),
      run: async ({ channel_id, message, role_id }, ctx) => {
        const content = role_id ? `<@&${role_id}> ${message}` : message;
        const sent = await postMessage(ctx, channel_id, { content, allowedMentions: { parse: [], roles: role_id ? [role_id] : [] } });
        return { message_id: sent.id, channel_id, mentioned_role: role_id ?? null };
      },
    },
    cleanup_old_messages: {
      description: 'Deletes the messages older than age_days among the newest `limit` of a channel',
      params: z.object({ channel_id: discordId, limit: z.number().int().min(1).max(10_000).default(100), age_days: z.number().min(0).max(36_500).default(7) }).strict(),
      run: async ({ channel_id, limit, age_days }, ctx) => {
        const cutoff = age_days * 24 * 60 * 60 * 1000;
        const deleted_count = await cleanupChannel(ctx, { channelId: channel_id, limit, paceMs: deletePaceMs(ctx.config), matches: (m, now) => now - Date.parse(m.timestamp) > cutoff });
        return { channel_id, deleted_count };
      },
    },
    update_role: {
      description: 'Adds a role to a member or removes it',
      params: z.object({ guild_id: discordId, user_id: discordId, role_id: discordId, action: z.enum(['add', 'remove']).default('add') }).strict(),
      run: async ({ guild_id, user_id, role_id, action }, ctx) => {
        await fetchRole(ctx, guild_id, role_id);
        await fetchMember(ctx, guild_id, user_id);
        await changeMemberRole(ctx, action, { guildId: guild_id, userId: user_id, roleId: role_id }, 'ScheduleZero job update_role');
        return { user_id, role_id, action };
      },
    },
  },
});
