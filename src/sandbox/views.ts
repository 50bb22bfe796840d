import type { MessageView } from './inspection.ts';
import type { StoredMessage } from './message-log.ts';
import type { SandboxStore } from './store.ts';

/** The inspection view of a stored message. */
export function messageView(store: SandboxStore, stored: StoredMessage): MessageView {
  const m = stored.message;
  const channel = store.findChannel(m.channel_id);
  const invoker = m.interaction_metadata?.user;
  return {
    id: m.id,
    channel_id: m.channel_id,
    channel_name: channel?.name ?? '',
    author: { id: m.author.id, username: m.author.username, bot: m.author.bot === true },
    content: m.content,
    embeds: m.embeds,
    components: (m.components as unknown[] | undefined) ?? [],
    attachments: m.attachments.map((a) => ({ id: a.id, filename: a.filename, size: a.size, url: a.url, ...(a.content_type !== undefined && { content_type: a.content_type }) })),
    type: m.type,
    flags: m.flags ?? 0,
    ephemeral: stored.ephemeral,
    mentions: stored.pinged,
    timestamp: m.timestamp,
    edited_timestamp: m.edited_timestamp,
    ...(stored.interaction && invoker && { interaction: { ...stored.interaction, user: { id: invoker.id, username: invoker.username } } }),
    ...(m.message_reference?.message_id !== undefined && { referenced_message_id: m.message_reference.message_id }),
  };
}
