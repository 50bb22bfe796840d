import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { createLogger, moduleLogger } from '../observability/logger.ts';
import { RestApi } from './api.ts';
import { AttachmentStore } from './attachments.ts';
import { FaultInjector, type FaultStatus } from './faults.ts';
import { Gateway } from './gateway.ts';
import { handleInspect, stateOf } from './inspect.ts';
import type { MessageView, SandboxState } from './inspection.ts';
import { InteractionBroker, type InvokeRequest, type InvokeResult } from './interactions.ts';
import { LiveFeed } from './live-feed.ts';
import { loadPage, pagePolicy, type PageAsset } from './page.ts';
import { RateLimiter } from './rate-limits.ts';
import { sendJson, sendText } from './respond.ts';
import { applicationRoutes } from './rest/applications.ts';
import { channelRoutes } from './rest/channels.ts';
import type { RestDeps } from './rest/deps.ts';
import { gatewayRoutes } from './rest/gateway.ts';
import { guildRoutes } from './rest/guilds.ts';
import { interactionRoutes } from './rest/interactions.ts';
import { messageRoutes } from './rest/messages.ts';
import { userRoutes } from './rest/users.ts';
import { pathSegments } from './router.ts';
import { SnowflakeGenerator } from './snowflake.ts';
import { SandboxStats } from './stats.ts';
import { SandboxStore } from './store.ts';
import { generateBotToken } from './token.ts';
import { messageView } from './views.ts';

/** Rate limits the sandbox enforces; the defaults are Discord's. */
export interface SandboxRateLimits {
  /** Messages one channel accepts per window (Discord: 5). */
  messagesPerWindow?: number;
  /** The message window in ms (Discord: 5000). */
  windowMs?: number;
  /** Requests per second across the bot (Discord: 50). */
  globalPerSecond?: number;
  /** Requests per window for every other route, per major resource. */
  routePerWindow?: number;
  /** That window in ms. */
  routeWindowMs?: number;
}

/** How a {@link SandboxServer} is set up; everything is optional. */
export interface SandboxOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** The one bot token accepted (default: generated, shaped like Discord's). */
  token?: string;
  guild?: { id?: string; name?: string };
  /** Text channels to create; `general` is always added. */
  channels?: { id?: string; name: string }[];
  /** The application's (and bot user's) ID (default: generated). */
  applicationId?: string;
  /** The bot user's name (default `zmq-notify`). */
  botName?: string;
  rateLimits?: SandboxRateLimits;
  /** Messages kept per channel (default 1000); the oldest are dropped. */
  maxMessagesPerChannel?: number;
  /** Gateway heartbeat interval sent in HELLO (default 41250, Discord's). */
  heartbeatIntervalMs?: number;
  /** How long a dropped gateway session stays resumable (default 120000). */
  resumeWindowMs?: number;
  interactions?: {
    /** Time the bot has to acknowledge an interaction (default 3000, Discord's). */
    ackTimeoutMs?: number;
    /** How long POST /sandbox/interactions waits for a deferred reply (default 15000). */
    replyTimeoutMs?: number;
    /** Quiet time after the last response before follow-ups stop being collected (default 300). */
    settleMs?: number;
  };
  /** Total attachment bytes kept in memory (default 64 MiB). */
  maxAttachmentBytes?: number;
  logger?: Logger;
}

/** Where a started sandbox listens. */
export interface SandboxAddress {
  /** http://host:port: the page and the inspection API. */
  url: string;
  /** http://host:port/api: what a discord.js client's `rest.api` option takes. */
  apiUrl: string;
  /** ws://host:port/gateway: what GET /gateway/bot hands out. */
  gatewayUrl: string;
  token: string;
  port: number;
}

/** discord.js Client options that point a stock client at a sandbox (spread them into `new Client`). */
export function sandboxClientOptions(url: string): { rest: { api: string } } {
  return { rest: { api: `${url.replace(/\/$/, '')}/api` } };
}

const maxBodyBytes = 25 * 1024 * 1024;

/**
 * A local Discord: REST under /api/v10 and the Gateway over WebSocket, enforcing Discord's
 * payload limits, token and rate limits, plus an inspection API under /sandbox/ and a live
 * preview page at /. A stock discord.js 14 client logs into it with
 * `new Client({ intents, ...sandboxClientOptions(url) })` and `client.login(token)`.
 */
export class SandboxServer {
  /** The one bot token the sandbox accepts. */
  readonly token: string;
  private readonly options: SandboxOptions;
  private readonly logger: Logger;
  private readonly store: SandboxStore;
  private readonly statsCounters = new SandboxStats();
  private readonly faults = new FaultInjector();
  private readonly gateway: Gateway;
  private readonly broker: InteractionBroker;
  private readonly feed: LiveFeed;
  private readonly rest: RestApi;
  private readonly http: Server;
  private readonly page = loadPage();
  private address: SandboxAddress | undefined;

  constructor(options: SandboxOptions = {}) {
    this.options = options;
    this.logger = options.logger ?? moduleLogger(createLogger(), 'sandbox');
    const ids = new SnowflakeGenerator();
    this.store = new SandboxStore({
      guild: { ...(options.guild?.id !== undefined && { id: options.guild.id }), name: options.guild?.name ?? 'zmq-notify sandbox' },
      channels: options.channels ?? [],
      ...(options.applicationId !== undefined && { applicationId: options.applicationId }),
      botName: options.botName ?? 'zmq-notify',
      maxMessagesPerChannel: options.maxMessagesPerChannel ?? 1000,
      ids,
    });
    this.statsCounters.watch(this.store);
    this.token = options.token ?? generateBotToken(this.store.bot.id);
    const limits = options.rateLimits ?? {};
    const gatewayUrl = (): string => this.address?.gatewayUrl ?? '';
    this.gateway = new Gateway({
      store: this.store,
      stats: this.statsCounters,
      logger: this.logger,
      token: this.token,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      resumeWindowMs: options.resumeWindowMs ?? 120_000,
      url: gatewayUrl,
    });
    this.broker = new InteractionBroker(
      this.store,
      ids,
      {
        ackTimeoutMs: options.interactions?.ackTimeoutMs ?? 3000,
        replyTimeoutMs: options.interactions?.replyTimeoutMs ?? 15_000,
        settleMs: options.interactions?.settleMs ?? 300,
      },
      (payload) => this.gateway.dispatch(GatewayDispatchEvents.InteractionCreate, payload, 0, this.store.guildId),
    );
    this.feed = new LiveFeed(this.store);
    const attachments = new AttachmentStore(options.maxAttachmentBytes ?? 64 * 1024 * 1024, ids, () => this.address?.url ?? '');
    const deps: RestDeps = { store: this.store, broker: this.broker, attachments, gateway: this.gateway, gatewayUrl };
    this.rest = new RestApi({
      token: this.token,
      routes: [
        ...gatewayRoutes(deps),
        ...userRoutes(deps),
        ...applicationRoutes(deps),
        ...guildRoutes(deps),
        ...channelRoutes(deps),
        ...messageRoutes(deps),
        ...interactionRoutes(deps),
      ],
      limiter: new RateLimiter(limits.globalPerSecond ?? 50),
      limits: {
        messagesPerWindow: limits.messagesPerWindow ?? 5,
        windowMs: limits.windowMs ?? 5000,
        routePerWindow: limits.routePerWindow ?? 50,
        routeWindowMs: limits.routeWindowMs ?? 1000,
      },
      faults: this.faults,
      stats: this.statsCounters,
      logger: this.logger,
      maxBodyBytes,
    });
    this.http = createServer((req, res) => {
      this.route(req, res, attachments).catch((err: unknown) => {
        this.logger.error({ err, url: req.url }, 'sandbox: request failed');
        sendJson(res, 500, { message: '500: Internal Server Error', code: 0 });
      });
    });
    this.http.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://sandbox.invalid').pathname.replace(/\/+$/, '');
      if (path === '/gateway') this.gateway.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
  }

  /** Starts listening; resolves to the URLs and token to hand to a client. */
  async start(): Promise<SandboxAddress> {
    if (this.address) return this.address;
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 0, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const { port } = this.http.address() as AddressInfo;
    // A wildcard bind is reached through loopback; an IPv6 literal needs brackets in a URL.
    const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
    const url = `http://${reachable}:${port}`;
    this.address = { url, apiUrl: `${url}/api`, gatewayUrl: `ws://${reachable}:${port}/gateway`, token: this.token, port };
    this.logger.info({ url, guild: this.store.guildId, channels: this.store.guildChannels().length }, 'sandbox Discord server listening');
    return this.address;
  }

  /** Stops listening and closes every connection, stream and pending wait. */
  async stop(): Promise<void> {
    this.broker.close();
    this.feed.close();
    await this.gateway.close();
    if (!this.http.listening) return;
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.address = undefined;
  }

  /** http://host:port once started ('' before). */
  get url(): string {
    return this.address?.url ?? '';
  }

  /** The guild, channels, roles, members, commands and gateway sessions (GET /sandbox/state). */
  state(): SandboxState {
    return stateOf({ store: this.store, gateway: this.gateway, gatewayUrl: () => this.address?.gatewayUrl ?? '' });
  }

  /** The ID of the guild channel with this name. */
  channelId(name: string): string {
    const channel = this.store.guildChannels().find((c) => c.name === name);
    if (!channel) throw new Error(`the sandbox has no channel named ${name}`);
    return channel.id;
  }

  /** A channel's kept messages, oldest first (GET /sandbox/messages?channel_id=). */
  messages(channelId: string): MessageView[] {
    return (this.store.findChannel(channelId)?.log.all() ?? []).map((m) => messageView(this.store, m));
  }

  /** The counters GET /sandbox/stats returns. */
  stats(): Record<string, unknown> {
    return this.statsCounters.snapshot();
  }

  /** Makes the next `count` requests touching a channel fail with `status` (POST /sandbox/faults). */
  injectFault(channelId: string, status: FaultStatus, count = 1, retryAfterSeconds = 1): void {
    this.store.channel(channelId);
    this.faults.add({ channelId, status, count, retryAfter: retryAfterSeconds });
  }

  /** Invokes a registered slash command as a member (POST /sandbox/interactions). */
  async invoke(request: InvokeRequest): Promise<{ status: number; result: InvokeResult | { error: string } }> {
    return this.broker.invoke(request);
  }

  /** Drops every gateway connection; the sessions stay resumable. */
  dropGatewayConnections(mode: 'close' | 'reconnect' | 'terminate' = 'close'): number {
    return this.gateway.dropConnections(mode);
  }

  private async route(req: IncomingMessage, res: ServerResponse, attachments: AttachmentStore): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const segments = pathSegments(url.pathname);
    if (!segments) return sendJson(res, 400, { message: '400: Bad Request', code: 0 });
    const method = (req.method ?? 'GET').toUpperCase();
    if (segments[0] === 'api') return this.rest.handle(req, res, segments, url.searchParams);
    if (segments[0] === 'sandbox') {
      return handleInspect(
        { store: this.store, stats: this.statsCounters, faults: this.faults, broker: this.broker, gateway: this.gateway, feed: this.feed, gatewayUrl: () => this.address?.gatewayUrl ?? '' },
        req,
        res,
        segments,
        url.searchParams,
      );
    }
    if (segments[0] === 'attachments' && method === 'GET') {
      const file = attachments.get(segments.slice(1).join('/'));
      if (!file) return sendText(res, 404, 'Not Found\n', 'text/plain');
      return sendText(res, 200, file.data, file.contentType, { 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'; sandbox", 'Content-Disposition': 'inline' });
    }
    const asset = method === 'GET' ? this.pageAsset(segments) : undefined;
    if (asset) {
      return sendText(res, 200, asset.body, asset.contentType, {
        'Content-Security-Policy': pagePolicy,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
      });
    }
    if (segments[0] === 'favicon.ico') return sendText(res, 204, '', 'image/x-icon');
    sendText(res, 404, 'Not Found\n', 'text/plain');
  }

  // `/` is the page, `/page/<file>` its script and styles; only the page's own files are served.
  private pageAsset(segments: string[]): PageAsset | undefined {
    if (segments.length === 0) return this.page.get('index.html');
    if (segments.length === 2 && segments[0] === 'page' && segments[1] !== 'index.html') return this.page.get(segments[1] ?? '');
    return undefined;
  }
}
