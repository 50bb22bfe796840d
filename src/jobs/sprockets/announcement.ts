import { AllowedMentionsTypes, type APIAllowedMentions, type APIEmbed } from 'discord.js';
import { z } from 'zod';
import { discordId, discordIds } from '../params.ts';
import { defineSprocket } from '../sprocket.ts';
import { embedParams, postMessage } from './discord-ops.ts';

const field = z.object({ name: z.string().min(1).max(256).default('Field'), value: z.string().min(1).max(1024), inline: z.boolean().default(false) }).strict();
const url = z.url({ protocol: /^https?$/ });

/** `announcement`: the methods of ScheduleZero's announcement_sprocket.py. */
export default defineSprocket({
  name: 'announcement',
  description: 'Announcements: plain, embedded, or to several channels',
  methods: {
    send_announcement: {
      description: 'Posts a message, pinging @everyone (needs allow_everyone) or role_id (must be in roles when set)',
      params: z.object({ channel_id: discordId, message: z.string().min(1).max(1900), role_id: discordId.nullish(), everyone: z.boolean().default(false) }).strict(),
      run: async ({ channel_id, message, role_id, everyone }, ctx) => {
        const mentions: string[] = [];
        let content = message;
        if (everyone) {
          content = `@everyone ${message}`;
          mentions.push('@everyone');
        } else if (role_id) {
          content = `<@&${role_id}> ${message}`;
          mentions.push(`role:${role_id}`);
        }
        const allowedMentions: APIAllowedMentions = everyone ? { parse: [AllowedMentionsTypes.Everyone] } : { parse: [], roles: role_id ? [role_id] : [] };
        const sent = await postMessage(ctx, channel_id, { content, allowedMentions });
        return { message_id: sent.id, channel_id, mentions, content: message };
      },
    },
    send_embed_announcement: {
      description: 'Posts a rich embed: title, description, color, footer, thumbnail, image, fields',
      params: z
        .object({
          channel_id: discordId,
          title: embedParams.title.default('Announcement'),
          description: embedParams.description.default(''),
          color: embedParams.color.default(0x00ff00),
          footer: z.string().max(2048).nullish(),
          thumbnail_url: url.nullish(),
          image_url: url.nullish(),
          fields: z.array(field).max(25).default([]),
        })
        .strict(),
      run: async (p, ctx) => {
        const embed: APIEmbed = {
          title: p.title,
          color: p.color,
          ...(p.description ? { description: p.description } : {}),
          ...(p.footer ? { footer: { text: p.footer } } : {}),
          ...(p.thumbnail_url ? { thumbnail: { url: p.thumbnail_url } } : {}),
          ...(p.image_url ? { image: { url: p.image_url } } : {}),
          ...(p.fields.length > 0 ? { fields: p.fields } : {}),
        };
        const sent = await postMessage(ctx, p.channel_id, { embeds: [embed] });
        return { message_id: sent.id, channel_id: p.channel_id, embed_title: p.title };
      },
    },
    send_to_multiple_channels: {
      description: 'Posts the same message (or embed) to each channel; failures are listed, not fatal',
      params: z
        .object({
          channel_ids: discordIds(50).refine((ids) => ids.length > 0, 'at least one channel'),
          message: z.string().max(2000).default(''),
          embed: z.object({ title: embedParams.title.default('Announcement'), description: embedParams.description.optional(), color: embedParams.color.default(0x00ff00) }).strict().nullish(),
        })
        .strict()
        .refine((p) => p.message !== '' || p.embed, { message: 'a message or an embed is needed', path: ['message'] }),
      run: async ({ channel_ids, message, embed }, ctx) => {
        let sent_count = 0;
        const failed_channels: { channel_id: string; error: string }[] = [];
        for (const channel_id of channel_ids) {
          try {
            const body = embed ? { embeds: [{ title: embed.title, color: embed.color, ...(embed.description ?? message ? { description: embed.description ?? message } : {}) }] } : { content: message };
            await postMessage(ctx, channel_id, body);
            sent_count++;
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            failed_channels.push({ channel_id, error: (err as Error).message });
          }
        }
        return { sent_count, total_channels: channel_ids.length, failed_channels };
      },
    },
  },
});
