import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { constants as zlibConstants, createDeflate, type Deflate } from 'node:zlib';
import type { Logger } from 'pino';
import {
  GatewayCloseCodes as CloseCode,
  GatewayDispatchEvents as Dispatch,
  GatewayIntentBits as Intent,
  GatewayOpcodes as Op,
  type APIGuildMember,
  type GatewayMessageCreateDispatchData,
  type GatewayReadyDispatchData,
  type GatewayRequestGuildMembersDataWithQuery,
  type GatewayRequestGuildMembersDataWithUserIds,
  type GatewayResumeData,
  type GatewayIdentifyData,
} from 'discord-api-types/v10';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { GatewaySessionView } from './inspection.ts';
import type { StoredMessage } from './message-log.ts';
import { channelPayload, guildCreatePayload, memberPayload, memberPayloads, noFlags } from './payloads.ts';
import { parsePresence } from './presence.ts';
import type { SandboxStats } from './stats.ts';
import type { SandboxStore } from './store.ts';

// Every defined intent (bits 17-19 are unassigned); anything else is refused with 4013.
const validIntents = ((1 << 26) - 1) & ~((1 << 17) | (1 << 18) | (1 << 19));

/** What Discord's READY carries besides what discord-api-types declares (discord.js ignores these). */
interface ReadyExtras {
  session_type: string;
  private_channels: never[];
  presences: never[];
  relationships: never[];
  guild_join_requests: never[];
  geo_ordered_rtc_regions: string[];
  user_settings: Record<string, never>;
  auth_session_id_hash: string;
  _trace: string[];
}

/** A payload a client sends, before it is checked: every field may be missing or of the wrong type. */
type Untrusted<T> = { [K in keyof T]?: unknown };

const maxPayloadBytes = 4096;
const sendLimit = { count: 120, windowMs: 60_000 };
const replayBufferSize = 1000;
const maxSessions = 64;

/** Options for the {@link Gateway}. */
export interface GatewayOptions {
  store: SandboxStore;
  stats: SandboxStats;
  logger: Logger;
  token: string;
  heartbeatIntervalMs: number;
  /** How long a dropped session can be resumed. */
  resumeWindowMs: number;
  /** ws:// URL of the gateway, for READY's resume_gateway_url. */
  url: () => string;
}

interface Session {
  id: string;
  seq: number;
  intents: number;
  shard: [number, number];
  /** Dispatches kept for RESUME, oldest first. */
  replay: { s: number; text: string }[];
  connection?: Connection;
  disconnectedAt?: number;
}

interface Connection {
  ws: WebSocket;
  session?: Session;
  lastHeartbeat: number;
  watchdog: NodeJS.Timeout;
  deflate?: Deflate;
  /** Sends are chained so that compressed frames leave in order. */
  sending: Promise<void>;
  received: number[];
}

/** The session start limit GET /gateway/bot reports; each IDENTIFY uses one. */
export interface SessionStartLimit {
  total: number;
  remaining: number;
  reset_after: number;
  max_concurrency: number;
}

/**
 * Discord's Gateway over WebSocket: HELLO, heartbeats and ACKs, IDENTIFY (READY, then
 * GUILD_CREATE), dispatches with sequence numbers filtered by intents, and RESUME that replays
 * what a dropped connection missed. JSON encoding, optionally `compress=zlib-stream`.
 */
export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private readonly sessions = new Map<string, Session>();
  private readonly connections = new Set<Connection>();
  private readonly startLimit = { total: 1000, remaining: 1000, resetAt: 0 };

  constructor(private readonly opts: GatewayOptions) {
    const { store } = opts;
    store.on('messageCreate', (m) => this.onMessage(Dispatch.MessageCreate, m));
    store.on('messageUpdate', (m) => this.onMessage(Dispatch.MessageUpdate, m));
    store.on('messageDelete', ({ id, channelId, guildId }) => {
      this.dispatch(Dispatch.MessageDelete, { id, channel_id: channelId, ...(guildId !== undefined && { guild_id: guildId }) }, guildId === undefined ? Intent.DirectMessages : Intent.GuildMessages, guildId);
    });
    store.on('messageDeleteBulk', ({ ids, channelId, guildId }) => {
      this.dispatch(Dispatch.MessageDeleteBulk, { ids, channel_id: channelId, ...(guildId !== undefined && { guild_id: guildId }) }, Intent.GuildMessages, guildId);
    });
    store.on('memberUpdate', ({ guildId, userId }) => {
      this.dispatch(Dispatch.GuildMemberUpdate, { guild_id: guildId, ...memberPayload(store, userId) }, Intent.GuildMembers, guildId);
    });
    store.on('channelUpdate', ({ channelId, guildId }) => {
      this.dispatch(Dispatch.ChannelUpdate, channelPayload(store, store.channel(channelId)), Intent.Guilds, guildId);
    });
    store.on('presenceUpdate', ({ userId, presence }) => {
      const data = { user: { id: userId }, guild_id: store.guildId, status: presence.status, activities: presence.activities, client_status: { web: presence.status } };
      this.dispatch(Dispatch.PresenceUpdate, data, Intent.GuildPresences, store.guildId);
    });
  }

  /** What GET /gateway/bot reports as session_start_limit. */
  sessionStartLimit(): SessionStartLimit {
    const now = Date.now();
    if (now >= this.startLimit.resetAt) {
      this.startLimit.remaining = this.startLimit.total;
      this.startLimit.resetAt = now + 24 * 60 * 60 * 1000;
    }
    return { total: this.startLimit.total, remaining: this.startLimit.remaining, reset_after: this.startLimit.resetAt - now, max_concurrency: 1 };
  }

  /** Takes over an HTTP upgrade request for the gateway path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  /**
   * Sends a dispatch to every session (connected, or resumable, which will get it on RESUME)
   * that has one of `intents` (0: no intent needed) and whose shard holds `guildId`.
   * Returns how many sessions it went to.
   */
  dispatch(event: Dispatch, data: unknown, intents: number, guildId?: string): number {
    let delivered = 0;
    for (const session of this.sessions.values()) {
      if (intents !== 0 && (session.intents & intents) === 0) continue;
      if (!this.onShard(session, guildId)) continue;
      this.send(session, event, data);
      delivered += 1;
    }
    return delivered;
  }

  /** Sessions, for GET /sandbox/state. */
  describe(): GatewaySessionView[] {
    return [...this.sessions.values()].map((s) => ({ session_id: s.id, connected: s.connection !== undefined, intents: s.intents, seq: s.seq, shard: s.shard }));
  }

  /**
   * Drops every gateway connection as a network failure or Discord would: `close` with a
   * resumable close code (4000), `reconnect` (op 7, the client closes and resumes) or
   * `terminate` (no close frame at all). Sessions stay resumable.
   */
  dropConnections(mode: 'close' | 'reconnect' | 'terminate' = 'close'): number {
    const count = this.connections.size;
    for (const c of [...this.connections]) {
      if (mode === 'reconnect') this.sendRaw(c, { op: Op.Reconnect, d: null });
      else if (mode === 'terminate') c.ws.terminate();
      else c.ws.close(CloseCode.UnknownError, 'Unknown error');
    }
    return count;
  }

  /** Closes every connection and forgets every session. */
  async close(): Promise<void> {
    for (const c of [...this.connections]) {
      clearInterval(c.watchdog);
      c.ws.terminate();
    }
    this.connections.clear();
    this.sessions.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onShard(session: Session, guildId: string | undefined): boolean {
    const [id, count] = session.shard;
    if (guildId === undefined) return id === 0;
    return Number((BigInt(guildId) >> 22n) % BigInt(count)) === id;
  }

  private onMessage(event: Dispatch.MessageCreate | Dispatch.MessageUpdate, stored: StoredMessage): void {
    // Ephemeral responses exist only for their invoker; Discord sends no message events for them.
    if (stored.ephemeral) return;
    const { store } = this.opts;
    const data: GatewayMessageCreateDispatchData = { ...stored.message };
    if (stored.guildId !== undefined) {
      data.guild_id = stored.guildId;
      if (store.isMember(stored.message.author.id)) {
        const { user: _user, ...member } = memberPayload(store, stored.message.author.id);
        data.member = member;
      }
    }
    this.dispatch(event, data, stored.guildId === undefined ? Intent.DirectMessages : Intent.GuildMessages, stored.guildId);
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const { stats, heartbeatIntervalMs, logger } = this.opts;
    stats.gateway.connections += 1;
    const query = new URL(req.url ?? '/', 'http://sandbox.invalid').searchParams;
    const connection: Connection = {
      ws,
      lastHeartbeat: Date.now(),
      watchdog: setInterval(() => {
        // discord.js beats every heartbeat_interval; twice that without one is a dead connection.
        if (Date.now() - connection.lastHeartbeat > heartbeatIntervalMs * 2) ws.close(CloseCode.SessionTimedOut, 'Session timed out');
      }, Math.max(50, Math.floor(heartbeatIntervalMs / 2))),
      sending: Promise.resolve(),
      received: [],
    };
    this.connections.add(connection);
    ws.on('close', () => this.onClose(connection));
    ws.on('error', (err) => logger.debug({ err }, 'gateway socket error'));
    const version = query.get('v');
    if (version !== null && version !== '10' && version !== '9') {
      ws.close(CloseCode.InvalidAPIVersion, 'Invalid API version');
      return;
    }
    if ((query.get('encoding') ?? 'json') !== 'json') {
      ws.close(CloseCode.DecodeError, 'Only encoding=json is supported');
      return;
    }
    const compress = query.get('compress');
    if (compress === 'zlib-stream') connection.deflate = createDeflate({ chunkSize: 65535 });
    else if (compress !== null) {
      ws.close(CloseCode.DecodeError, `Unsupported compression ${compress}`);
      return;
    }
    ws.on('message', (data, isBinary) => this.onFrame(connection, data, isBinary));
    this.sendRaw(connection, { op: Op.Hello, d: { heartbeat_interval: heartbeatIntervalMs, _trace: ['["zmq-notify-sandbox",{"micros":0}]'] } });
  }

  private onClose(connection: Connection): void {
    clearInterval(connection.watchdog);
    connection.deflate?.close();
    this.connections.delete(connection);
    const session = connection.session;
    if (session && session.connection === connection) {
      delete session.connection;
      session.disconnectedAt = Date.now();
    }
  }

  private onFrame(connection: Connection, data: RawData, isBinary: boolean): void {
    const { ws } = connection;
    const now = Date.now();
    connection.received = connection.received.filter((t) => now - t < sendLimit.windowMs);
    connection.received.push(now);
    if (connection.received.length > sendLimit.count) {
      ws.close(CloseCode.RateLimited, 'You are being rate limited.');
      return;
    }
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary || buffer.length > maxPayloadBytes) {
      ws.close(CloseCode.DecodeError, 'Error while decoding payload.');
      return;
    }
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(buffer.toString('utf8')) as { op?: unknown; d?: unknown };
    } catch {
      ws.close(CloseCode.DecodeError, 'Error while decoding payload.');
      return;
    }
    switch (payload.op) {
      case Op.Heartbeat:
        connection.lastHeartbeat = now;
        this.sendRaw(connection, { op: Op.HeartbeatAck });
        return;
      case Op.Identify:
        this.identify(connection, payload.d);
        return;
      case Op.Resume:
        this.resume(connection, payload.d);
        return;
      case Op.PresenceUpdate:
        this.presenceUpdate(connection, payload.d);
        return;
      case Op.VoiceStateUpdate:
        if (!connection.session) ws.close(CloseCode.NotAuthenticated, 'Not authenticated.');
        return;
      case Op.RequestGuildMembers:
        if (!connection.session) ws.close(CloseCode.NotAuthenticated, 'Not authenticated.');
        else this.guildMembersChunk(connection.session, payload.d);
        return;
      default:
        ws.close(CloseCode.UnknownOpcode, 'Unknown opcode.');
    }
  }

  // Op 3: the bot's status and activities, kept as its presence (shown on the page and in /sandbox/state).
  private presenceUpdate(connection: Connection, d: unknown): void {
    if (!connection.session) {
      connection.ws.close(CloseCode.NotAuthenticated, 'Not authenticated.');
      return;
    }
    const presence = parsePresence(d);
    if (!presence) {
      connection.ws.close(CloseCode.DecodeError, 'Error while decoding payload.');
      return;
    }
    this.opts.store.setPresence(this.opts.store.bot.id, presence);
  }

  // IDENTIFY and RESUME: a connection authenticates once, with the sandbox's token. Undefined (and closed) otherwise.
  private authenticate<T extends { token: string }>(connection: Connection, d: unknown): Untrusted<T> | undefined {
    const { ws } = connection;
    if (connection.session) {
      ws.close(CloseCode.AlreadyAuthenticated, 'Already authenticated.');
      return undefined;
    }
    const body = (typeof d === 'object' && d !== null ? d : {}) as Untrusted<T>;
    if (typeof body.token !== 'string' || body.token.replace(/^Bot\s+/i, '') !== this.opts.token) {
      ws.close(CloseCode.AuthenticationFailed, 'Authentication failed.');
      return undefined;
    }
    return body;
  }

  private identify(connection: Connection, d: unknown): void {
    const { ws } = connection;
    const { store, stats, logger } = this.opts;
    const body = this.authenticate<GatewayIdentifyData>(connection, d);
    if (!body) return;
    const intents = body.intents;
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0 || (intents & ~validIntents) !== 0) {
      ws.close(CloseCode.InvalidIntents, 'Invalid intent(s).');
      return;
    }
    let shard: [number, number] = [0, 1];
    if (body.shard !== undefined) {
      const s = body.shard;
      if (!Array.isArray(s) || s.length !== 2 || !Number.isInteger(s[0]) || !Number.isInteger(s[1]) || s[1] < 1 || s[0] < 0 || s[0] >= s[1]) {
        ws.close(CloseCode.InvalidShard, 'Invalid shard.');
        return;
      }
      shard = [s[0] as number, s[1] as number];
    }
    this.sessionStartLimit();
    this.startLimit.remaining = Math.max(0, this.startLimit.remaining - 1);
    stats.gateway.identifies += 1;
    this.evictSessions();
    const session: Session = { id: randomBytes(16).toString('hex'), seq: 0, intents, shard, replay: [], connection };
    this.sessions.set(session.id, session);
    connection.session = session;
    logger.debug({ session: session.id, intents, shard }, 'gateway session identified');
    // IDENTIFY may carry the starting presence; an unreadable one is ignored rather than fatal.
    const initial = body.presence === undefined ? undefined : parsePresence(body.presence);
    if (initial) store.setPresence(store.bot.id, initial);
    const onThisShard = this.onShard(session, store.guildId);
    const ready: GatewayReadyDispatchData & ReadyExtras = {
      v: 10,
      user: { ...store.bot, verified: true, mfa_enabled: false, email: null },
      guilds: onThisShard ? [{ id: store.guildId, unavailable: true }] : [],
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.opts.url(),
      shard,
      application: { id: store.applicationId, flags: noFlags, flags_new: '0' },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      auth_session_id_hash: randomBytes(16).toString('base64'),
      _trace: ['["zmq-notify-sandbox",{"micros":0}]'],
    };
    this.send(session, Dispatch.Ready, ready);
    // Without the GUILDS intent Discord sends no GUILD_CREATE (discord.js then waits out waitGuildTimeout).
    if (onThisShard && (intents & Intent.Guilds) !== 0) this.send(session, Dispatch.GuildCreate, guildCreatePayload(store));
  }

  private resume(connection: Connection, d: unknown): void {
    const { stats } = this.opts;
    const body = this.authenticate<GatewayResumeData>(connection, d);
    if (!body) return;
    const session = typeof body.session_id === 'string' ? this.sessions.get(body.session_id) : undefined;
    const seq = typeof body.seq === 'number' ? body.seq : -1;
    const expired = session?.disconnectedAt !== undefined && Date.now() - session.disconnectedAt > this.opts.resumeWindowMs;
    const oldest = session?.replay[0]?.s ?? (session ? session.seq + 1 : 0);
    // Resumable only if every event after `seq` is still in the replay buffer.
    if (!session || expired || seq > session.seq || seq < oldest - 1) {
      if (session) this.sessions.delete(session.id);
      stats.gateway.invalidSessions += 1;
      this.sendRaw(connection, { op: Op.InvalidSession, d: false });
      return;
    }
    if (session.connection && session.connection !== connection) session.connection.ws.close(CloseCode.UnknownError, 'Session resumed elsewhere');
    session.connection = connection;
    delete session.disconnectedAt;
    connection.session = session;
    stats.gateway.resumes += 1;
    for (const entry of session.replay) if (entry.s > seq) this.sendText(connection, entry.text);
    this.send(session, Dispatch.Resumed, { _trace: ['["zmq-notify-sandbox",{"micros":0}]'] });
  }

  private guildMembersChunk(session: Session, d: unknown): void {
    const { store } = this.opts;
    const body = (typeof d === 'object' && d !== null ? d : {}) as Untrusted<GatewayRequestGuildMembersDataWithQuery & GatewayRequestGuildMembersDataWithUserIds>;
    const guilds = Array.isArray(body.guild_id) ? body.guild_id : [body.guild_id];
    if (!guilds.includes(store.guildId)) return;
    let members: APIGuildMember[] = memberPayloads(store);
    if (Array.isArray(body.user_ids)) {
      const wanted = body.user_ids.map(String);
      members = members.filter((m) => wanted.includes(m.user.id));
    } else if (typeof body.query === 'string' && body.query !== '') {
      const q = body.query.toLowerCase();
      members = members.filter((m) => m.user.username.toLowerCase().startsWith(q));
    }
    if (typeof body.limit === 'number' && body.limit > 0) members = members.slice(0, body.limit);
    this.send(session, Dispatch.GuildMembersChunk, {
      guild_id: store.guildId,
      members,
      chunk_index: 0,
      chunk_count: 1,
      ...(typeof body.nonce === 'string' && { nonce: body.nonce }),
    });
  }

  private evictSessions(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) {
      if (s.disconnectedAt !== undefined && now - s.disconnectedAt > this.opts.resumeWindowMs) this.sessions.delete(s.id);
    }
    while (this.sessions.size >= maxSessions) {
      const idle = [...this.sessions.values()].find((s) => !s.connection) ?? this.sessions.values().next().value;
      if (!idle) break;
      idle.connection?.ws.close(CloseCode.SessionTimedOut, 'Session timed out');
      this.sessions.delete(idle.id);
    }
  }

  /** Numbers a dispatch, keeps it for RESUME and sends it if the session is connected. */
  private send(session: Session, event: Dispatch, data: unknown): void {
    session.seq += 1;
    const text = JSON.stringify({ op: Op.Dispatch, t: event, s: session.seq, d: data });
    if (event !== Dispatch.Resumed) {
      session.replay.push({ s: session.seq, text });
      if (session.replay.length > replayBufferSize) session.replay.shift();
    }
    this.opts.stats.gateway.dispatched += 1;
    if (session.connection) this.sendText(session.connection, text);
  }

  private sendRaw(connection: Connection, payload: Record<string, unknown>): void {
    this.sendText(connection, JSON.stringify({ s: null, t: null, ...payload }));
  }

  private sendText(connection: Connection, text: string): void {
    const { ws, deflate } = connection;
    if (!deflate) {
      if (ws.readyState === ws.OPEN) ws.send(text);
      return;
    }
    // zlib-stream: one deflate context for the whole connection, each payload ending in a sync flush.
    connection.sending = connection.sending.then(
      () =>
        new Promise<void>((resolve) => {
          const chunks: Buffer[] = [];
          const onData = (chunk: Buffer): void => {
            chunks.push(chunk);
          };
          deflate.on('data', onData);
          deflate.write(text);
          deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
            deflate.off('data', onData);
            if (ws.readyState === ws.OPEN) ws.send(Buffer.concat(chunks), { binary: true });
            resolve();
          });
        }),
    );
  }
}
