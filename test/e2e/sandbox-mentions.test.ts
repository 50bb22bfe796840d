import type { Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView, SandboxState } from '../../src/sandbox/index.ts';
import { connectClient, getJson, startSandbox, textChannel, type StartedSandbox } from '../helpers/sandbox.ts';

let started: StartedSandbox;
let client: Client<true>;
let state: SandboxState;

beforeAll(async () => {
  started = await startSandbox({ rateLimits: { windowMs: 200 } });
  client = await connectClient(started.address);
  state = await getJson<SandboxState>(`${started.address.url}/sandbox/state`);
});

afterAll(async () => {
  await client?.destroy();
  await started?.sandbox.stop();
});

/** Sends through discord.js and returns the sandbox's record of who it pinged. */
async function pinged(options: Parameters<ReturnType<typeof textChannel>['send']>[0]): Promise<MessageView['mentions']> {
  const sent = await textChannel(client, started.sandbox, 'general').send(options);
  const stored = await getJson<MessageView[]>(`${started.address.url}/sandbox/messages?channel_id=${sent.channelId}`);
  return stored.find((m) => m.id === sent.id)!.mentions;
}

const id = (username: string): string => state.members.find((m) => m.username === username)!.id;
const role = (name: string): string => state.roles.find((r) => r.name === name)!.id;

describe('sandbox allowed_mentions: what each message would have pinged', () => {
  it('@everyone with allowed_mentions {parse: []} pings nobody', async () => {
    expect(await pinged({ content: '@everyone job failed', allowedMentions: { parse: [] } })).toEqual({ users: [], roles: [], everyone: false, here: false });
  });

  it('@everyone without allowed_mentions pings everyone (Discord\'s default parses everything)', async () => {
    expect(await pinged({ content: '@everyone job failed' })).toMatchObject({ everyone: true });
  });

  it('without allowed_mentions, <@id>, <@!id>, <@&role> and @here all ping', async () => {
    const result = await pinged({ content: `<@${id('alice')}> <@!${id('bob')}> <@&${role('oncall')}> @here` });
    expect(result.users.sort()).toEqual([id('alice'), id('bob')].sort());
    expect(result.roles).toEqual([role('oncall')]);
    expect(result.here).toBe(true);
  });

  it('parse: ["users"] pings users but not roles or @everyone', async () => {
    const result = await pinged({ content: `<@${id('alice')}> <@&${role('oncall')}> @everyone`, allowedMentions: { parse: ['users'] } });
    expect(result).toEqual({ users: [id('alice')], roles: [], everyone: false, here: false });
  });

  it('users: [alice] pings alice only, even when bob is mentioned too', async () => {
    const result = await pinged({ content: `<@${id('alice')}> <@${id('bob')}>`, allowedMentions: { users: [id('alice')] } });
    expect(result.users).toEqual([id('alice')]);
  });

  it('mentions inside embeds never ping', async () => {
    expect(await pinged({ embeds: [{ description: `@everyone <@${id('alice')}>` }] })).toEqual({ users: [], roles: [], everyone: false, here: false });
  });

  it('parse: ["users"] together with a users list is refused as Discord does (mutually exclusive)', async () => {
    const err = await textChannel(client, started.sandbox, 'general')
      .send({ content: 'x', allowedMentions: { parse: ['users'], users: [id('alice')] } })
      .catch((e: unknown) => e as { code: number; rawError: unknown });
    expect(err).toMatchObject({ code: 50035, rawError: { errors: { allowed_mentions: { _errors: [{ code: 'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE' }] } } } });
  });
});
