import { Errors } from '../errors.ts';
import type { RouteDef } from '../router.ts';
import { noContent, ok, type RestDeps } from './deps.ts';

/** The application object and its slash commands (global and per guild). */
export function applicationRoutes({ store }: RestDeps): RouteDef[] {
  const app = (id: string | undefined): void => {
    if (id !== store.applicationId) throw Errors.missingAccess();
  };
  const scope = (params: Record<string, string>): string | null => {
    app(params.application_id);
    if (params.guild_id === undefined) return null;
    store.requireGuild(params.guild_id);
    return params.guild_id;
  };
  const commandRoutes = (base: string): RouteDef[] => [
    { method: 'GET', path: base, auth: 'bot', limit: 'route', handler: ({ params }) => ok(store.commands.list(scope(params))) },
    { method: 'PUT', path: base, auth: 'bot', limit: 'route', handler: ({ params, body }) => ok(store.commands.overwrite(scope(params), body.json)) },
    {
      method: 'POST',
      path: base,
      auth: 'bot',
      limit: 'route',
      handler: ({ params, body }) => {
        const { command, created } = store.commands.upsert(scope(params), body.json);
        return ok(command, created ? 201 : 200);
      },
    },
    { method: 'GET', path: `${base}/:command_id`, auth: 'bot', limit: 'route', handler: ({ params }) => ok(store.commands.get(scope(params), params.command_id ?? '')) },
    { method: 'PATCH', path: `${base}/:command_id`, auth: 'bot', limit: 'route', handler: ({ params, body }) => ok(store.commands.edit(scope(params), params.command_id ?? '', body.json)) },
    {
      method: 'DELETE',
      path: `${base}/:command_id`,
      auth: 'bot',
      limit: 'route',
      handler: ({ params }) => {
        store.commands.remove(scope(params), params.command_id ?? '');
        return noContent;
      },
    },
  ];
  return [
    {
      method: 'GET',
      path: '/applications/@me',
      auth: 'bot',
      limit: 'route',
      handler: () =>
        ok({
          id: store.applicationId,
          name: store.bot.username,
          icon: null,
          description: 'zmq-notify sandbox application',
          summary: '',
          type: null,
          bot_public: false,
          bot_require_code_grant: false,
          verify_key: '0'.repeat(64),
          flags: 0,
          hook: true,
          is_monetized: false,
          tags: [],
          team: null,
          owner: store.user(store.ownerId),
          bot: store.bot,
          install_params: { scopes: ['bot', 'applications.commands'], permissions: '8' },
          integration_types_config: { 0: {} },
          approximate_guild_count: 1,
          interactions_endpoint_url: null,
          role_connections_verification_url: null,
          redirect_uris: [],
        }),
    },
    ...commandRoutes('/applications/:application_id/commands'),
    ...commandRoutes('/applications/:application_id/guilds/:guild_id/commands'),
  ];
}
