import { channelPayload } from '../payloads.ts';
import type { RouteDef } from '../router.ts';
import { noContent, ok, type RestDeps } from './deps.ts';

/** Channel fetches, permission overwrites and the typing indicator. */
export function channelRoutes({ store }: RestDeps): RouteDef[] {
  return [
    { method: 'GET', path: '/channels/:channel_id', auth: 'bot', limit: 'route', handler: ({ params }) => ok(channelPayload(store, store.channel(params.channel_id ?? ''))) },
    {
      method: 'PUT',
      path: '/channels/:channel_id/permissions/:overwrite_id',
      auth: 'bot',
      limit: 'route',
      handler: ({ params, body }) => {
        store.setOverwrite(params.channel_id ?? '', params.overwrite_id ?? '', body.json);
        return noContent;
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id/permissions/:overwrite_id',
      auth: 'bot',
      limit: 'route',
      handler: ({ params }) => {
        store.deleteOverwrite(params.channel_id ?? '', params.overwrite_id ?? '');
        return noContent;
      },
    },
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
