import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { readBody, type RequestBody } from './body.ts';
import { ApiError, Errors } from './errors.ts';
import type { Fault, FaultInjector } from './faults.ts';
import type { BucketRule, RateDecision, RateLimiter } from './rate-limits.ts';
import { sendJson, sendText } from './respond.ts';
import { Router, type RouteDef } from './router.ts';
import type { SandboxStats } from './stats.ts';

/** Per-route limits: message creation per channel, and the bucket every other route gets. */
export interface RouteLimits {
  messagesPerWindow: number;
  windowMs: number;
  routePerWindow: number;
  routeWindowMs: number;
}

/** What the REST pipeline needs. */
export interface RestApiOptions {
  token: string;
  routes: RouteDef[];
  limiter: RateLimiter;
  limits: RouteLimits;
  faults: FaultInjector;
  stats: SandboxStats;
  logger: Logger;
  maxBodyBytes: number;
}

const cloudflare502 = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n';
const emptyBody: RequestBody = { json: undefined, files: [] };

/**
 * Discord's REST API under /api/v{9,10}: routing, bot-token authentication, the global and
 * per-route rate limits, injected faults, then the route itself. Every answer that carries
 * a bucket gets its X-RateLimit-* headers; every error has Discord's `{message, code}` shape.
 */
export class RestApi {
  private readonly router = new Router();
  private readonly rules = new Map<RouteDef, BucketRule>();

  constructor(private readonly opts: RestApiOptions) {
    this.router.add(opts.routes);
  }

  /** Handles one request whose path starts with /api. */
  async handle(req: IncomingMessage, res: ServerResponse, segments: string[], query: URLSearchParams): Promise<void> {
    const { stats, logger } = this.opts;
    const method = (req.method ?? 'GET').toUpperCase();
    let rest = segments.slice(1);
    const version = /^v(\d+)$/.exec(rest[0] ?? '');
    if (version) {
      if (version[1] !== '10' && version[1] !== '9') return this.error(res, Errors.invalidApiVersion());
      rest = rest.slice(1);
    }
    const match = this.router.match(method, rest);
    if (match === undefined || match === 'methodMismatch') {
      stats.unknownRoutes += 1;
      stats.request(`${method} (unknown) /${rest.join('/')}`);
      logger.warn({ method, path: req.url?.split('?')[0] }, 'sandbox: no such Discord API route (answered 404)');
      return this.error(res, match === undefined ? Errors.notFound() : Errors.methodNotAllowed());
    }
    const { route, params } = match;
    stats.request(`${route.method} ${route.path}`);

    if (route.auth === 'bot' && !this.authorized(req)) {
      stats.unauthorized += 1;
      return this.error(res, Errors.unauthorized());
    }
    if (route.auth === 'bot') {
      const global = this.opts.limiter.takeGlobal();
      if (!global.allowed) {
        stats.rateLimited.global += 1;
        return this.tooMany(res, global);
      }
    }
    const rule = this.ruleFor(route);
    const major = params.channel_id ?? params.guild_id ?? (params.token !== undefined ? `${params.application_id ?? params.interaction_id}/${params.token}` : 'global');
    const channel = route.channelOf ? route.channelOf(params) : params.channel_id;
    const fault = channel === undefined ? undefined : this.opts.faults.take(channel);
    if (fault) return this.serveFault(res, fault, rule, major);

    let headers: Record<string, string> = {};
    if (rule) {
      const decision = this.opts.limiter.take(rule, major);
      if (!decision.allowed) {
        stats.rateLimited.route += 1;
        return this.tooMany(res, decision);
      }
      headers = decision.headers;
    }
    try {
      const body = method === 'POST' || method === 'PATCH' || method === 'PUT' ? await readBody(req, this.opts.maxBodyBytes) : emptyBody;
      const result = await route.handler({ params, query, body, req });
      stats.status(result.status);
      sendJson(res, result.status, result.body, { ...headers, ...result.headers });
    } catch (err) {
      if (!(err instanceof ApiError)) {
        logger.error({ err, method, route: route.path }, 'sandbox: route failed');
        return this.error(res, new ApiError(500, 0, '500: Internal Server Error'), headers);
      }
      if (err.code === 50035 || err.code === 50006 || err.code === 40005 || err.code === 50109) stats.rejectedPayloads += 1;
      this.error(res, err, headers);
    }
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const m = /^Bot (.+)$/i.exec(header);
    return m !== null && m[1] === this.opts.token;
  }

  private ruleFor(route: RouteDef): BucketRule | undefined {
    if (route.limit === 'none') return undefined;
    let rule = this.rules.get(route);
    if (!rule) {
      const { limits } = this.opts;
      rule =
        route.limit === 'messages'
          ? { name: `${route.method} ${route.path}`, limit: limits.messagesPerWindow, windowMs: limits.windowMs }
          : { name: `${route.method} ${route.path}`, limit: limits.routePerWindow, windowMs: limits.routeWindowMs };
      this.rules.set(route, rule);
    }
    return rule;
  }

  private serveFault(res: ServerResponse, fault: Fault, rule: BucketRule | undefined, major: string): void {
    const { stats, limiter } = this.opts;
    stats.fault(fault.status);
    stats.status(fault.status);
    const headers = rule ? limiter.peek(rule, major) : {};
    switch (fault.status) {
      case 429:
        stats.rateLimited.injected += 1;
        return this.tooMany(res, limiter.sharedLimit(rule, major, fault.retryAfter * 1000), false);
      case 500:
        return sendJson(res, 500, { message: '500: Internal Server Error', code: 0 }, headers);
      case 502:
        return sendText(res, 502, cloudflare502, 'text/html', headers);
      case 403:
        return sendJson(res, 403, Errors.missingPermissions().body(), headers);
      case 404:
        return sendJson(res, 404, Errors.unknownChannel().body(), headers);
    }
  }

  /** Answers a 429; `countStatus` is false when the caller has already counted the status. */
  private tooMany(res: ServerResponse, decision: RateDecision, countStatus = true): void {
    const { stats } = this.opts;
    stats.rateLimited.total += 1;
    if (countStatus) stats.status(429);
    sendJson(res, 429, decision.body, decision.headers);
  }

  private error(res: ServerResponse, err: ApiError, headers: Record<string, string> = {}): void {
    this.opts.stats.status(err.status);
    sendJson(res, err.status, err.body(), { ...headers, ...err.headers });
  }
}
