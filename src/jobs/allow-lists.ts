import { JobRefusedError, type AllowListGuard, type SprocketConfig } from './sprocket.ts';

type ListKey = 'channels' | 'roles' | 'users' | 'guilds';

/** Which params name which kind of ID; the registry checks them against the sprocket's lists before the method runs. */
const idParams: Readonly<Record<string, ListKey>> = {
  channel_id: 'channels',
  channel_ids: 'channels',
  role_id: 'roles',
  role_ids: 'roles',
  user_id: 'users',
  user_ids: 'users',
  guild_id: 'guilds',
};

function listed(config: SprocketConfig, key: ListKey, id: string, sprocket: string): void {
  const list = config[key];
  if (!Array.isArray(list)) return;
  if (!list.map(String).includes(String(id))) {
    throw new JobRefusedError(`${String(id)} is not in the ${key} allow-list of sprocket "${sprocket}" (sprockets: { use: ${sprocket}, ${key}: [...] })`);
  }
}

/** The allow-list checks of one sprocket, for methods that check an ID themselves. */
export function allowListGuard(sprocket: string, config: SprocketConfig): AllowListGuard {
  return {
    channel: (id) => listed(config, 'channels', id, sprocket),
    role: (id) => listed(config, 'roles', id, sprocket),
    user: (id) => listed(config, 'users', id, sprocket),
    guild: (id) => listed(config, 'guilds', id, sprocket),
    everyone: () => {
      if (config.allow_everyone !== true) throw new JobRefusedError(`@everyone needs allow_everyone: true in the config of sprocket "${sprocket}"`);
    },
  };
}

/**
 * Checks the validated params of a call against its sprocket's allow-lists: every `channel_id(s)`,
 * `role_id(s)`, `user_id(s)` and `guild_id` must be listed when that list is configured, and
 * `everyone: true` needs `allow_everyone`. Throws {@link JobRefusedError} naming the param.
 */
export function checkAllowLists(sprocket: string, config: SprocketConfig, params: unknown): void {
  if (params === null || typeof params !== 'object') return;
  const guard = allowListGuard(sprocket, config);
  for (const [param, value] of Object.entries(params as Record<string, unknown>)) {
    if (param === 'everyone' && value === true) {
      try {
        guard.everyone();
      } catch (err) {
        throw new JobRefusedError(`everyone: ${(err as Error).message}`);
      }
      continue;
    }
    const key = idParams[param];
    if (key === undefined || value === undefined || value === null) continue;
    for (const id of Array.isArray(value) ? value : [value]) {
      try {
        listed(config, key, String(id), sprocket);
      } catch (err) {
        throw new JobRefusedError(`${param}: ${(err as Error).message}`);
      }
    }
  }
}
