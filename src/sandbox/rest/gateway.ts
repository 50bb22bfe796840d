import type { RouteDef } from '../router.ts';
import { ok, type RestDeps } from './deps.ts';

/** GET /gateway and GET /gateway/bot: where the Gateway is, and the session start limit. */
export function gatewayRoutes(deps: RestDeps): RouteDef[] {
  return [
    { method: 'GET', path: '/gateway', auth: 'none', limit: 'route', handler: () => ok({ url: deps.gatewayUrl() }) },
    {
      method: 'GET',
      path: '/gateway/bot',
      auth: 'bot',
      limit: 'route',
      handler: () => ok({ url: deps.gatewayUrl(), shards: 1, session_start_limit: deps.gateway.sessionStartLimit() }),
    },
  ];
}
