import { DiscordAPIError, RESTJSONErrorCodes, Routes, type APIMessage } from 'discord.js';
import type { JobContext } from '../sprocket.ts';
import { discord, pause } from './discord-ops.ts';

/** Discord bulk-deletes only messages younger than 14 days; a minute's margin keeps a message from ageing past it mid-request. */
const BULK_MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000 - 60_000;
/** Messages per bulk delete (Discord: 2 to 100). */
const BULK_MAX = 100;

/** What to delete from a channel. */
export interface CleanupRequest {
  channelId: string;
  /** Messages of the channel's history looked at, newest first. */
  limit: number;
  /** Whether a message is to be deleted. */
  matches: (message: APIMessage, now: number) => boolean;
  /** Wait between one-by-one deletions (those older than 14 days). */
  paceMs: number;
}

/** Reads up to `limit` of a channel's newest messages, 100 per request. */
async function history(ctx: JobContext, channelId: string, limit: number): Promise<APIMessage[]> {
  const out: APIMessage[] = [];
  let before: string | undefined;
  while (out.length < limit) {
    const query = new URLSearchParams({ limit: String(Math.min(100, limit - out.length)), ...(before ? { before } : {}) });
    const page = await discord<APIMessage[]>({ kind: 'Channel', id: channelId }, () => ctx.discord.rest.get(Routes.channelMessages(channelId), { query, signal: ctx.signal }));
    out.push(...page);
    if (page.length === 0 || page.length < Number(query.get('limit'))) break;
    before = page.at(-1)?.id;
  }
  return out;
}

function gone(err: unknown): boolean {
  return err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.UnknownMessage;
}

async function deleteOne(ctx: JobContext, channelId: string, messageId: string): Promise<boolean> {
  try {
    await ctx.discord.rest.delete(Routes.channelMessage(channelId, messageId), { signal: ctx.signal });
    return true;
  } catch (err) {
    if (gone(err)) return false;
    return discord({ kind: 'Channel', id: channelId }, () => Promise.reject(err));
  }
}

/**
 * Deletes the matching messages among a channel's newest `limit`: those younger than 14 days in
 * bulk (100 per request), older ones one by one, `paceMs` apart, as Discord allows. Returns how many
 * were deleted (a message someone else deleted meanwhile is not counted).
 */
export async function cleanupChannel(ctx: JobContext, request: CleanupRequest): Promise<number> {
  const { channelId } = request;
  const now = Date.now();
  const doomed = (await history(ctx, channelId, request.limit)).filter((m) => request.matches(m, now));
  const young = doomed.filter((m) => now - Date.parse(m.timestamp) < BULK_MAX_AGE_MS);
  const old = doomed.filter((m) => now - Date.parse(m.timestamp) >= BULK_MAX_AGE_MS);
  let deleted = 0;
  for (let i = 0; i < young.length; i += BULK_MAX) {
    const chunk = young.slice(i, i + BULK_MAX).map((m) => m.id);
    if (chunk.length === 1) {
      if (await deleteOne(ctx, channelId, chunk[0] as string)) deleted++;
      continue;
    }
    try {
      await ctx.discord.rest.post(Routes.channelBulkDelete(channelId), { body: { messages: chunk }, signal: ctx.signal });
      deleted += chunk.length;
    } catch (err) {
      // A message that aged past 14 days since the listing: delete this chunk one by one instead.
      if (!(err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.OneOfTheMessagesProvidedWasTooOldForBulkDelete)) {
        await discord({ kind: 'Channel', id: channelId }, () => Promise.reject(err));
      }
      old.push(...young.slice(i, i + BULK_MAX));
    }
  }
  for (const [index, message] of old.entries()) {
    if (index > 0) await pause(request.paceMs, ctx.signal);
    if (await deleteOne(ctx, channelId, message.id)) deleted++;
  }
  ctx.logger.info({ channelId, looked: request.limit, deleted, bulk: young.length, oneByOne: old.length }, `deleted ${deleted} message(s) in channel ${channelId}`);
  return deleted;
}
