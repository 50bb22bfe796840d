import { FormErrors } from '../errors.ts';
import { channelPayload } from '../payloads.ts';
import type { RouteDef } from '../router.ts';
import { ok, type RestDeps } from './deps.ts';

/** The bot's own user, its guilds, other users, and DM channel creation. */
export function userRoutes({ store }: RestDeps): RouteDef[] {
  return [
    { method: 'GET', path: '/users/@me', auth: 'bot', limit: 'route', handler: () => ok({ ...store.bot, verified: true, mfa_enabled: false, locale: 'en-US', email: null }) },
    {
      method: 'GET',
      path: '/users/@me/guilds',
      auth: 'bot',
      limit: 'route',
      handler: () => ok([{ id: store.guildId, name: store.guildName, icon: null, banner: null, owner: false, permissions: store.memberPermissions(store.bot.id).toString(), features: [] }]),
    },
    { method: 'GET', path: '/users/:user_id', auth: 'bot', limit: 'route', handler: ({ params }) => ok(store.user(params.user_id ?? '')) },
    {
      method: 'POST',
      path: '/users/@me/channels',
      auth: 'bot',
      limit: 'route',
      handler: ({ body }) => {
        const raw = body.json as { recipient_id?: unknown } | undefined;
        const recipient = raw?.recipient_id;
        if (typeof recipient !== 'string' && typeof recipient !== 'number') {
          const errors = new FormErrors();
          errors.add(['recipient_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
          errors.throwIfAny();
        }
        return ok(channelPayload(store, store.dmChannel(String(recipient))));
      },
    },
  ];
}
