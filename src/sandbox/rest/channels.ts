import { channelPayload } from '../payloads.ts';
import type { RouteDef } from '../router.ts';
import { noContent, ok, type RestDeps } from './deps.ts';

/** Channel fetches and the typing indicator. */
export function channelRoutes({ store }: RestDeps): RouteDef[] {
  return [
    { method: 'GET', path: '/channels/:channel_id', auth: 'bot', limit: 'route', handler: ({ params }) => ok(channelPayload(store, store.channel(params.channel_id ?? ''))) },
    {
      method: 'POST',
      path: '/channels/:channel_id/typing',
      auth: 'bot',
      limit: 'route',
      handler: ({ params }) => {
        store.channel(params.channel_id ?? '');
        return noContent;
      },
    },
  ];
}
