import { Errors } from '../errors.ts';
import { channelPayload, guildPayload, memberPayload, memberPayloads } from '../payloads.ts';
import type { RouteDef } from '../router.ts';
import { intParam, noContent, ok, snowflakeParam, type RestDeps } from './deps.ts';


/** The guild, its channels, roles and members, and role changes on members. */
export function guildRoutes({ store }: RestDeps): RouteDef[] {
  const guild = (params: Record<string, string>): void => store.requireGuild(params.guild_id ?? '');
  const roleChange = (params: Record<string, string>): { userId: string; roleId: string } => {
    guild(params);
    const roleId = params.role_id ?? '';
    const role = store.role(roleId);
    // Discord's hierarchy: a bot manages only roles below its own highest role.
    const botTop = Math.max(...store.member(store.bot.id).roles.map((r) => store.role(r).position));
    if (role.position >= botTop || role.managed) throw Errors.missingPermissions();
    return { userId: params.user_id ?? '', roleId };
  };
  return [
    { method: 'GET', path: '/guilds/:guild_id', auth: 'bot', limit: 'route', handler: ({ params, query }) => (guild(params), ok(guildPayload(store, query.get('with_counts') === 'true'))) },
    {
      method: 'GET',
      path: '/guilds/:guild_id/channels',
      auth: 'bot',
      limit: 'route',
      handler: ({ params }) => (guild(params), ok(store.guildChannels().map((c) => channelPayload(store, c)))),
    },
    { method: 'GET', path: '/guilds/:guild_id/roles', auth: 'bot', limit: 'route', handler: ({ params }) => (guild(params), ok(store.allRoles())) },
    {
      method: 'GET',
      path: '/guilds/:guild_id/members',
      auth: 'bot',
      limit: 'route',
      handler: ({ params, query }) => {
        guild(params);
        const limit = intParam(query, 'limit', 1, 1000, 1);
        const after = BigInt(snowflakeParam(query, 'after') ?? '0');
        const members = memberPayloads(store).filter((m) => BigInt(m.user.id) > after).sort((a, b) => (BigInt(a.user.id) < BigInt(b.user.id) ? -1 : 1));
        return ok(members.slice(0, limit));
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/members/search',
      auth: 'bot',
      limit: 'route',
      handler: ({ params, query }) => {
        guild(params);
        const limit = intParam(query, 'limit', 1, 1000, 1);
        const q = (query.get('query') ?? '').toLowerCase();
        return ok(memberPayloads(store).filter((m) => m.user.username.toLowerCase().startsWith(q)).slice(0, limit));
      },
    },
    { method: 'GET', path: '/guilds/:guild_id/members/:user_id', auth: 'bot', limit: 'route', handler: ({ params }) => (guild(params), ok(memberPayload(store, params.user_id ?? ''))) },
    {
      method: 'PUT',
      path: '/guilds/:guild_id/members/:user_id/roles/:role_id',
      auth: 'bot',
      limit: 'route',
      handler: ({ params }) => {
        const { userId, roleId } = roleChange(params);
        store.addRole(userId, roleId);
        return noContent;
      },
    },
    {
      method: 'DELETE',
      path: '/guilds/:guild_id/members/:user_id/roles/:role_id',
      auth: 'bot',
      limit: 'route',
      handler: ({ params }) => {
        const { userId, roleId } = roleChange(params);
        store.removeRole(userId, roleId);
        return noContent;
      },
    },
  ];
}
