import type { IncomingMessage } from 'node:http';
import type { RequestBody } from './body.ts';

/** HTTP methods the REST API routes on. */
export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** What a route handler receives. */
export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: RequestBody;
  req: IncomingMessage;
}

/** What a route handler answers; `body` undefined means 204 No Content. */
export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One REST route, with how it is authenticated and rate limited. */
export interface RouteDef {
  method: Method;
  /** Path under /api/v10 with `:name` parameters, e.g. `/channels/:channel_id/messages`. */
  path: string;
  /** `bot`: needs `Authorization: Bot <token>`; `none`: interaction and webhook-token routes. */
  auth: 'bot' | 'none';
  /** Which bucket limits it: message creation, the generic per-route bucket, or none (interaction callbacks). */
  limit: 'messages' | 'route' | 'none';
  /** The channel a request touches, for injected faults (defaults to `:channel_id`). */
  channelOf?: (params: Record<string, string>) => string | undefined;
  handler: (ctx: RouteContext) => RouteResult | Promise<RouteResult>;
}

/** A route matched against a request path. */
export interface RouteMatch {
  route: RouteDef;
  params: Record<string, string>;
}

interface Compiled {
  route: RouteDef;
  segments: string[];
}

/** Splits a path into decoded segments (discord.js sends `@original` as `%40original`). */
export function pathSegments(path: string): string[] | undefined {
  try {
    return path.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** Matches request paths to routes; literal segments win over parameters. */
export class Router {
  private readonly compiled: Compiled[] = [];

  /** Adds routes. */
  add(routes: RouteDef[]): void {
    for (const route of routes) this.compiled.push({ route, segments: route.path.split('/').filter((s) => s !== '') });
    // Routes with more literal segments first, so `/users/@me` beats `/users/:user_id`.
    this.compiled.sort((a, b) => literals(b.segments) - literals(a.segments));
  }

  /** The route for a method and path; `methodMismatch` when the path exists under another method. */
  match(method: string, segments: string[]): RouteMatch | 'methodMismatch' | undefined {
    let pathMatched = false;
    for (const { route, segments: pattern } of this.compiled) {
      const params = matchSegments(pattern, segments);
      if (!params) continue;
      if (route.method === method) return { route, params };
      pathMatched = true;
    }
    return pathMatched ? 'methodMismatch' : undefined;
  }
}

function literals(segments: string[]): number {
  return segments.filter((s) => !s.startsWith(':')).length;
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const a = actual[i] as string;
    if (p.startsWith(':')) params[p.slice(1)] = a;
    else if (p !== a) return undefined;
  }
  return params;
}
