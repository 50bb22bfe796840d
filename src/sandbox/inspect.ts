import type { IncomingMessage, ServerResponse } from 'node:http';
import { readRaw } from './body.ts';
import { ApiError } from './errors.ts';
import { faultStatuses, type FaultInjector, type FaultStatus } from './faults.ts';
import type { Gateway } from './gateway.ts';
import type { MessageView, SandboxState } from './inspection.ts';
import type { InteractionBroker, InvokeRequest } from './interactions.ts';
import type { LiveFeed } from './live-feed.ts';
import { sendJson } from './respond.ts';
import type { SandboxStats } from './stats.ts';
import type { SandboxStore } from './store.ts';
import { seedMessage } from './seed.ts';
import { messageView } from './views.ts';
import { memberPayloads } from './payloads.ts';

/** What the inspection API needs. */
export interface InspectDeps {
  store: SandboxStore;
  stats: SandboxStats;
  faults: FaultInjector;
  broker: InteractionBroker;
  gateway: Gateway;
  feed: LiveFeed;
  gatewayUrl: () => string;
}

class BadRequest extends Error {}

function bad(message: string): never {
  throw new BadRequest(message);
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  // Requiring JSON makes a browser preflight any cross-site write, which the sandbox never approves,
  // so a web page cannot inject faults or invoke commands in a sandbox running on the same machine.
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) bad('send the body as Content-Type: application/json');
  const text = (await readRaw(req, 1024 * 1024)).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    bad('the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) bad('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Builds the GET /sandbox/state view. */
export function stateOf(deps: Pick<InspectDeps, 'store' | 'gateway' | 'gatewayUrl'>): SandboxState {
  const { store, gateway } = deps;
  const commands = store.commands.all();
  return {
    guild: { id: store.guildId, name: store.guildName, owner_id: store.ownerId },
    application: { id: store.applicationId, name: store.bot.username },
    bot: { id: store.bot.id, username: store.bot.username },
    channels: store.guildChannels().map((c) => ({ id: c.id, name: c.name, type: c.type, position: c.position, permission_overwrites: c.overwrites?.list() ?? [] })),
    dm_channels: store.dmChannels().map((c) => ({ id: c.id, recipient_id: c.recipientId ?? '' })),
    roles: store.allRoles().map((r) => ({ id: r.id, name: r.name, permissions: r.permissions, position: r.position, mentionable: r.mentionable, managed: r.managed, color: r.color })),
    members: memberPayloads(store).map((m) => ({ id: m.user.id, username: m.user.username, bot: m.user.bot === true, roles: m.roles })),
    commands: { global: commands.global, guild: commands.guilds[store.guildId] ?? [] },
    gateway: { url: deps.gatewayUrl(), sessions: gateway.describe() },
    presences: store.allPresences().map(({ userId, presence }) => ({
      user_id: userId,
      status: presence.status,
      activities: presence.activities,
      since: presence.since,
      afk: presence.afk,
      updated_at: new Date(presence.updatedAt).toISOString(),
    })),
  };
}

/**
 * The inspection API under /sandbox/: messages, stats, state, slash-command invocation,
 * fault injection, dropping gateway connections, and the live event stream.
 */
export async function handleInspect(deps: InspectDeps, req: IncomingMessage, res: ServerResponse, segments: string[], query: URLSearchParams): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const path = segments.slice(1).join('/');
  const { store, stats, faults, broker, gateway, feed } = deps;
  try {
    if (method === 'GET' && path === 'messages') {
      const channelId = query.get('channel_id');
      const limitRaw = query.get('limit');
      const limit = limitRaw === null ? Number.POSITIVE_INFINITY : Number(limitRaw);
      if (!(limit > 0)) bad('limit must be a positive number');
      let messages: MessageView[];
      if (channelId !== null) {
        const channel = store.findChannel(channelId);
        if (!channel) return sendJson(res, 404, { error: `unknown channel ${channelId}` });
        messages = channel.log.all().map((m) => messageView(store, m));
      } else {
        messages = [...store.guildChannels(), ...store.dmChannels()]
          .flatMap((c) => c.log.all())
          .sort((a, b) => (BigInt(a.message.id) < BigInt(b.message.id) ? -1 : 1))
          .map((m) => messageView(store, m));
      }
      return sendJson(res, 200, Number.isFinite(limit) ? messages.slice(-limit) : messages);
    }
    if (method === 'POST' && path === 'messages') {
      const seeded = seedMessage(store, await jsonBody(req));
      if ('error' in seeded) bad(seeded.error);
      return sendJson(res, 201, messageView(store, seeded));
    }
    if (method === 'GET' && path === 'stats') return sendJson(res, 200, stats.snapshot());
    if (method === 'GET' && path === 'state') return sendJson(res, 200, stateOf(deps));
    if (method === 'GET' && path === 'events') return feed.handle(req, res);
    if (method === 'POST' && path === 'interactions') {
      const body = await jsonBody(req);
      if (typeof body.command !== 'string' || body.command === '') bad('"command" (the slash command name) is required');
      if (body.member !== undefined && (typeof body.member !== 'object' || body.member === null || Array.isArray(body.member))) bad('"member" must be an object');
      stats.interactions.invoked += 1;
      const { status, result } = await broker.invoke(body as unknown as InvokeRequest);
      if ('acknowledged' in result) {
        if (result.acknowledged) stats.interactions.acknowledged += 1;
        else stats.interactions.unanswered += 1;
      }
      return sendJson(res, status, result);
    }
    if (path === 'faults') {
      if (method === 'GET') return sendJson(res, 200, faults.list().map(faultView));
      if (method === 'DELETE') {
        faults.clear(query.get('channel_id') ?? undefined);
        return sendJson(res, 204, undefined);
      }
      if (method === 'POST') {
        const body = await jsonBody(req);
        const channelId = typeof body.channel_id === 'string' || typeof body.channel_id === 'number' ? String(body.channel_id) : bad('"channel_id" is required');
        if (!store.findChannel(channelId)) bad(`unknown channel ${channelId}`);
        const status = body.status;
        if (!faultStatuses.includes(status as FaultStatus)) bad(`"status" must be one of ${faultStatuses.join(', ')}`);
        const count = body.count === undefined ? 1 : body.count;
        if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000) bad('"count" must be an integer from 1 to 1000');
        const retryAfter = body.retry_after === undefined ? 1 : body.retry_after;
        if (typeof retryAfter !== 'number' || !(retryAfter >= 0) || retryAfter > 3600) bad('"retry_after" must be seconds from 0 to 3600');
        const fault = faults.add({ channelId, status: status as FaultStatus, count, retryAfter });
        return sendJson(res, 201, { ...faultView(fault), remaining: count });
      }
    }
    if (method === 'POST' && path === 'gateway/disconnect') {
      const body = await jsonBody(req);
      const mode = body.mode ?? 'close';
      if (mode !== 'close' && mode !== 'reconnect' && mode !== 'terminate') bad('"mode" must be close, reconnect or terminate');
      return sendJson(res, 200, { dropped: gateway.dropConnections(mode) });
    }
    return sendJson(res, 404, { error: `no inspection endpoint ${method} /sandbox/${path}` });
  } catch (err) {
    if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message });
    if (err instanceof ApiError) return sendJson(res, err.status, { error: err.message });
    throw err;
  }
}

function faultView(f: { channelId: string; status: number; remaining: number; retryAfter: number }): Record<string, unknown> {
  return { channel_id: f.channelId, status: f.status, remaining: f.remaining, ...(f.status === 429 && { retry_after: f.retryAfter }) };
}
