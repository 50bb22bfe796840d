import type { RouteDef } from '../router.ts';
import { noContent, ok, type RestDeps } from './deps.ts';

/** Interaction callbacks and the interaction webhook (follow-ups, @original). No bot token: the URL's token authenticates. */
export function interactionRoutes({ broker, attachments }: RestDeps): RouteDef[] {
  const channelOf = (params: Record<string, string>): string | undefined => broker.channelOfToken(params.token ?? '');
  const upload = (params: Record<string, string>, files: Parameters<typeof attachments.save>[1]) => {
    const channel = channelOf(params);
    return channel === undefined || files.length === 0 ? [] : attachments.save(channel, files);
  };
  const base = '/webhooks/:application_id/:token';
  return [
    {
      method: 'POST',
      path: '/interactions/:interaction_id/:token/callback',
      auth: 'none',
      limit: 'none',
      channelOf,
      handler: ({ params, body, query }) => {
        const result = broker.callback(params.interaction_id ?? '', params.token ?? '', body.json, upload(params, body.files), query.get('with_response') === 'true');
        return result.body === undefined ? noContent : ok(result.body, result.status);
      },
    },
    {
      method: 'POST',
      path: base,
      auth: 'none',
      limit: 'route',
      channelOf,
      handler: ({ params, body, query }) => {
        const result = broker.followUp(params.application_id ?? '', params.token ?? '', body.json, upload(params, body.files), query.get('wait') === 'true');
        return result.body === undefined ? noContent : ok(result.body, result.status);
      },
    },
    {
      method: 'GET',
      path: `${base}/messages/:message_id`,
      auth: 'none',
      limit: 'route',
      channelOf,
      handler: ({ params }) => ok(broker.fetch(params.application_id ?? '', params.token ?? '', params.message_id ?? '')),
    },
    {
      method: 'PATCH',
      path: `${base}/messages/:message_id`,
      auth: 'none',
      limit: 'route',
      channelOf,
      handler: ({ params, body }) => ok(broker.edit(params.application_id ?? '', params.token ?? '', params.message_id ?? '', body.json, upload(params, body.files))),
    },
    {
      method: 'DELETE',
      path: `${base}/messages/:message_id`,
      auth: 'none',
      limit: 'route',
      channelOf,
      handler: ({ params }) => {
        broker.remove(params.application_id ?? '', params.token ?? '', params.message_id ?? '');
        return noContent;
      },
    },
  ];
}
