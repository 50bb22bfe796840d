import type { StoredMessage } from './message-log.ts';
import type { SandboxStore } from './store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * POST /sandbox/messages: puts a message into a channel's history as if someone had written it
 * `age_days` ago (its ID encodes that time, as Discord's do), so history reads, age filters and the
 * 14-day bulk-delete rule can be tried. Body: `{channel_id, content, author?, age_days?}`, author a
 * member's username or ID (default alice). Returns the message, or why the body is unusable.
 */
export function seedMessage(store: SandboxStore, body: Record<string, unknown>): StoredMessage | { error: string } {
  const channelId = typeof body.channel_id === 'string' || typeof body.channel_id === 'number' ? String(body.channel_id) : undefined;
  if (channelId === undefined || !store.findChannel(channelId)) return { error: `"channel_id" must name a channel of the sandbox, got ${JSON.stringify(body.channel_id)}` };
  if (typeof body.content !== 'string' || body.content === '' || body.content.length > 2000) return { error: '"content" must be 1 to 2000 characters' };
  const ageDays = body.age_days ?? 0;
  if (typeof ageDays !== 'number' || !(ageDays >= 0) || ageDays > 3650) return { error: '"age_days" must be a number of days from 0 to 3650' };
  const who = body.author ?? 'alice';
  const author = store.allUsers().find((u) => u.id === String(who) || u.username === who);
  if (!author) return { error: `"author" must be a user's username or ID, got ${JSON.stringify(who)}` };
  return store.createMessage(channelId, { content: body.content }, { author, ...(ageDays > 0 ? { at: Date.now() - ageDays * DAY_MS } : {}) });
}
