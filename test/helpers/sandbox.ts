import { Client, Events, GatewayIntentBits, type ClientOptions, type TextChannel } from 'discord.js';
import { createLogger } from '../../src/observability/logger.ts';
import { SandboxServer, sandboxClientOptions, type SandboxAddress, type SandboxOptions } from '../../src/sandbox/index.ts';

/** A started sandbox and where it listens. */
export interface StartedSandbox {
  sandbox: SandboxServer;
  address: SandboxAddress;
}

/** Starts a sandbox on 127.0.0.1 port 0; logs only warnings unless LOG_LEVEL says otherwise. */
export async function startSandbox(options: SandboxOptions = {}): Promise<StartedSandbox> {
  const sandbox = new SandboxServer({ logger: createLogger({ level: process.env.LOG_LEVEL ?? 'error', pretty: false }), ...options });
  const address = await sandbox.start();
  return { sandbox, address };
}

/** The intents the tests' clients use unless told otherwise. */
export const defaultIntents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.GuildMembers];

/** A stock discord.js Client pointed at the sandbox, logged in and ready. */
export async function connectClient(address: SandboxAddress, options: Partial<ClientOptions> = {}): Promise<Client<true>> {
  const client = new Client({ intents: defaultIntents, ...sandboxClientOptions(address.url), ...options });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(address.token);
  await ready;
  return client as Client<true>;
}

/** A guild text channel from the client's cache, by the sandbox channel's name. */
export function textChannel(client: Client, sandbox: SandboxServer, name: string): TextChannel {
  const channel = client.channels.cache.get(sandbox.channelId(name));
  if (!channel || !channel.isTextBased() || channel.isDMBased()) throw new Error(`channel ${name} is not cached as a guild text channel`);
  return channel as TextChannel;
}

/** GETs a sandbox URL and parses its JSON. */
export async function getJson<T = unknown>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** POSTs JSON to a sandbox URL; returns the status and parsed body. */
export async function postJson<T = unknown>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}
