import { validateMessage } from '../limits.ts';
import { RecentNonces } from '../nonces.ts';
import type { RouteDef } from '../router.ts';
import { intParam, noContent, ok, snowflakeParam, type RestDeps } from './deps.ts';

/** Sending, editing, deleting and reading a channel's messages. */
export function messageRoutes({ store, attachments }: RestDeps): RouteDef[] {
  const channelId = (params: Record<string, string>): string => store.channel(params.channel_id ?? '').id;
  const nonces = new RecentNonces();
  return [
    {
      method: 'GET',
      path: '/channels/:channel_id/messages',
      auth: 'bot',
      limit: 'route',
      handler: ({ params, query }) => {
        const channel = store.channel(params.channel_id ?? '');
        const before = snowflakeParam(query, 'before');
        const after = snowflakeParam(query, 'after');
        const around = snowflakeParam(query, 'around');
        const history = channel.log.history({
          limit: intParam(query, 'limit', 1, 100, 50),
          ...(before !== undefined && { before }),
          ...(after !== undefined && { after }),
          ...(around !== undefined && { around }),
        });
        return ok(history.map((m) => m.message));
      },
    },
    {
      method: 'GET',
      path: '/channels/:channel_id/messages/:message_id',
      auth: 'bot',
      limit: 'route',
      handler: ({ params }) => ok(store.message(channelId(params), params.message_id ?? '').message),
    },
    {
      method: 'POST',
      path: '/channels/:channel_id/messages',
      auth: 'bot',
      limit: 'messages',
      handler: ({ params, body }) => {
        const id = channelId(params);
        const input = validateMessage(body.json, { requireBody: true, hasFiles: body.files.length > 0 });
        // As Discord does: a retried create whose first try had landed returns that message, once.
        const enforced = input.enforceNonce === true && input.nonce !== undefined ? input.nonce : undefined;
        if (enforced !== undefined) {
          const earlier = nonces.find(id, store.bot.id, enforced);
          const existing = earlier === undefined ? undefined : store.channel(id).log.get(earlier);
          if (existing) return ok(existing.message);
        }
        const files = attachments.save(id, body.files);
        const created = store.createMessage(id, input, { attachments: files });
        if (enforced !== undefined) nonces.remember(id, store.bot.id, enforced, created.message.id);
        return ok(created.message);
      },
    },
    {
      method: 'PATCH',
      path: '/channels/:channel_id/messages/:message_id',
      auth: 'bot',
      limit: 'route',
      handler: ({ params, body }) => {
        const id = channelId(params);
        store.message(id, params.message_id ?? '');
        const input = validateMessage(body.json, { requireBody: false });
        const files = body.files.length > 0 ? attachments.save(id, body.files) : undefined;
        return ok(store.editMessage(id, params.message_id ?? '', input, files ? { attachments: files } : {}).message);
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id/messages/:message_id',
      auth: 'bot',
      limit: 'route',
      handler: ({ params }) => {
        store.message(channelId(params), params.message_id ?? '');
        store.deleteMessage(channelId(params), params.message_id ?? '');
        return noContent;
      },
    },
    {
      method: 'POST',
      path: '/channels/:channel_id/messages/bulk-delete',
      auth: 'bot',
      limit: 'route',
      handler: ({ params, body }) => {
        store.bulkDelete(channelId(params), body.json);
        return noContent;
      },
    },
  ];
}
