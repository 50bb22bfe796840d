import { Client, DiscordAPIError, DiscordjsErrorCodes, Events, GatewayIntentBits } from 'discord.js';
import type { Logger } from '../observability/logger.ts';

/** How long login may take, REST and gateway together, before start-up gives up. */
const LOGIN_TIMEOUT_MS = 30_000;

/** Raised when the bot cannot log in; the message says why and never contains the token. */
export class DiscordLoginError extends Error {
  constructor(
    message: string,
    /** The HTTP status Discord answered with, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DiscordLoginError';
  }
}

/**
 * A discord.js Client with the Guilds intent only: slash-command interactions arrive without
 * privileged intents, and the bot reads no messages. `apiUrl` points REST (and through
 * GET /gateway/bot, the gateway) elsewhere, e.g. at the sandbox.
 */
export function createDiscordClient(apiUrl?: string | null): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    // Nothing the bot sends may ping anyone, whatever a payload contains.
    allowedMentions: { parse: [] },
    ...(apiUrl ? { rest: { api: apiUrl.replace(/\/$/, '') } } : {}),
  });
}

/**
 * Logs the client in and waits for READY. `tokenSource` names where the token came from (e.g.
 * `$DISCORD_TOKEN`) for the error message; the token itself never appears in an error or a log.
 */
export async function loginClient(client: Client, token: string, options: { tokenSource: string; logger: Logger; timeoutMs?: number }): Promise<Client<true>> {
  const { tokenSource, logger } = options;
  const timeoutMs = options.timeoutMs ?? LOGIN_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
    client.once(Events.ClientReady, onReady);
  });
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DiscordLoginError(`Discord did not complete the login within ${timeoutMs / 1000} s (${apiOf(client)})`)), timeoutMs);
  });
  const loggedInAndReady = client.login(token).then(() => ready);
  // A login that fails after the timeout has nobody left to tell; the timeout is what is reported.
  loggedInAndReady.catch(() => undefined);
  try {
    await Promise.race([loggedInAndReady, timedOut]);
  } catch (err) {
    client.off(Events.ClientReady, onReady);
    await client.destroy();
    throw loginError(err, tokenSource, apiOf(client));
  } finally {
    clearTimeout(timer);
  }
  const loggedIn = client as Client<true>;
  logger.info({ user: loggedIn.user.tag, userId: loggedIn.user.id, guilds: loggedIn.guilds.cache.size, api: apiOf(client) }, `logged in to Discord as ${loggedIn.user.tag}`);
  return loggedIn;
}

function apiOf(client: Client): string {
  return client.rest.options.api;
}

// discord.js reports a 401 on GET /gateway/bot as TokenInvalid; everything else keeps its own message.
function loginError(err: unknown, tokenSource: string, api: string): DiscordLoginError {
  if (err instanceof DiscordLoginError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === DiscordjsErrorCodes.TokenInvalid || (err instanceof DiscordAPIError && err.status === 401)) {
    return new DiscordLoginError(`Discord rejected the bot token from ${tokenSource} (401 Unauthorized at ${api}); check that it is the Bot token from the Developer Portal's Bot page`, 401);
  }
  if (err instanceof DiscordAPIError) return new DiscordLoginError(`Discord refused the login (${err.status} at ${api}): ${err.message}`, err.status);
  if (code === DiscordjsErrorCodes.DisallowedIntents) return new DiscordLoginError(`Discord refused the gateway intents: ${(err as Error).message}`);
  return new DiscordLoginError(`cannot log in to Discord at ${api}: ${(err as Error).message ?? String(err)}`);
}
