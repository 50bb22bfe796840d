import { AttachmentBuilder, ChannelType, Client, DiscordAPIError, GatewayIntentBits, type Message } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxClientOptions, type MessageView, type SandboxState } from '../../src/sandbox/index.ts';
import { connectClient, getJson, startSandbox, textChannel, type StartedSandbox } from '../helpers/sandbox.ts';

// One sandbox and one logged-in stock discord.js client for the whole file.
let started: StartedSandbox;
let client: Client<true>;

beforeAll(async () => {
  started = await startSandbox({
    guild: { id: '100000000000000001', name: 'ops' },
    channels: [{ id: '100000000000000101', name: 'job-failed' }, { name: 'job-executed' }],
    // Discord's 5 messages per channel, in a short window so the file stays quick.
    rateLimits: { messagesPerWindow: 5, windowMs: 250 },
  });
  client = await connectClient(started.address);
});

afterAll(async () => {
  await client?.destroy();
  await started?.sandbox.stop();
});

async function expectApiError(promise: Promise<unknown>): Promise<DiscordAPIError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DiscordAPIError);
  return err as DiscordAPIError;
}

describe('sandbox: a stock discord.js client', () => {
  it('logs in and is ready with the guild, its channels, roles and members cached', () => {
    const guild = client.guilds.cache.get('100000000000000001');
    expect(guild?.name).toBe('ops');
    expect(guild?.available).toBe(true);
    const names = guild?.channels.cache.map((c) => c.name).sort();
    expect(names).toEqual(['general', 'job-executed', 'job-failed']);
    expect(client.channels.cache.get('100000000000000101')?.type).toBe(ChannelType.GuildText);
    expect(guild?.roles.everyone.id).toBe(guild?.id);
    expect(guild?.members.cache.map((m) => m.user.username).sort()).toEqual(['alice', 'bob', 'sandbox-owner', 'zmq-notify']);
    expect(client.user.bot).toBe(true);
    expect(client.application.id).toBe(client.user.id);
  });

  it('posts an embed that GET /sandbox/messages returns with its fields, colour and footer', async () => {
    const channel = textChannel(client, started.sandbox, 'job-failed');
    const sent = await channel.send({
      embeds: [{ title: 'Job failed: nightly-backup', description: 'exit code 3', color: 0xed4245, fields: [{ name: 'retry', value: '2', inline: true }], footer: { text: 'scheduler-a' }, timestamp: '2024-05-01T10:00:00Z' }],
    });
    expect(sent.embeds[0]?.title).toBe('Job failed: nightly-backup');
    const messages = await getJson<MessageView[]>(`${started.address.url}/sandbox/messages?channel_id=${channel.id}`);
    const stored = messages.find((m) => m.id === sent.id);
    expect(stored?.embeds[0]).toMatchObject({
      title: 'Job failed: nightly-backup',
      description: 'exit code 3',
      color: 0xed4245,
      fields: [{ name: 'retry', value: '2', inline: true }],
      footer: { text: 'scheduler-a' },
      timestamp: '2024-05-01T10:00:00.000+00:00',
    });
    expect(stored?.author.id).toBe(client.user.id);
  });

  it('receives its own message back as MESSAGE_CREATE over the gateway', async () => {
    const channel = textChannel(client, started.sandbox, 'general');
    const seen = new Promise<Message>((resolve) => client.on('messageCreate', (m) => m.content === 'gateway echo' && resolve(m)));
    await channel.send('gateway echo');
    expect((await seen).channelId).toBe(channel.id);
  });

  it('rejects 11 embeds with DiscordAPIError 50035 and the errors tree at embeds', async () => {
    const channel = textChannel(client, started.sandbox, 'general');
    const err = await expectApiError(channel.send({ embeds: Array.from({ length: 11 }, (_, i) => ({ title: `e${i}` })) }));
    expect(err.status).toBe(400);
    expect(err.code).toBe(50035);
    expect(err.rawError).toMatchObject({ message: 'Invalid Form Body', errors: { embeds: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 10 or fewer in length.' }] } } });
  });

  it('rejects a 4097-character description at embeds.0.description, and accepts 4096', async () => {
    const channel = textChannel(client, started.sandbox, 'general');
    const err = await expectApiError(channel.send({ embeds: [{ description: 'x'.repeat(4097) }] }));
    expect(err.code).toBe(50035);
    expect(err.rawError).toMatchObject({ errors: { embeds: { 0: { description: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 4096 or fewer in length.' }] } } } } });
    expect(err.message).toContain('embeds[0].description[BASE_TYPE_MAX_LENGTH]');
    await expect(channel.send({ embeds: [{ description: 'x'.repeat(4096) }] })).resolves.toBeTruthy();
  });

  it('rejects 6001 characters across two embeds (each within its own limits) and accepts 6000', async () => {
    const channel = textChannel(client, started.sandbox, 'general');
    const err = await expectApiError(channel.send({ embeds: [{ description: 'a'.repeat(4000) }, { description: 'b'.repeat(1745), title: 't'.repeat(256) }] }));
    expect(err.code).toBe(50035);
    expect(err.rawError).toMatchObject({ errors: { embeds: { _errors: [{ code: 'MAX_EMBED_SIZE_EXCEEDED' }] } } });
    await expect(channel.send({ embeds: [{ description: 'a'.repeat(4000) }, { description: 'b'.repeat(1744), title: 't'.repeat(256) }] })).resolves.toBeTruthy();
  });

  it('rejects 2001 characters of content, 26 fields, a 1025-character field value and an empty message', async () => {
    const channel = textChannel(client, started.sandbox, 'general');
    expect((await expectApiError(channel.send('c'.repeat(2001)))).rawError).toMatchObject({ errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } });
    const fields = Array.from({ length: 26 }, (_, i) => ({ name: `f${i}`, value: 'v' }));
    expect((await expectApiError(channel.send({ embeds: [{ fields }] }))).rawError).toMatchObject({ errors: { embeds: { 0: { fields: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } } } });
    const long = await expectApiError(channel.send({ embeds: [{ fields: [{ name: 'n', value: 'v'.repeat(1025) }] }] }));
    expect(long.rawError).toMatchObject({ errors: { embeds: { 0: { fields: { 0: { value: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } } } } } });
    const empty = await expectApiError(client.rest.post(`/channels/${channel.id}/messages`, { body: { content: '' } }));
    expect(empty.code).toBe(50006);
    const stats = await getJson<{ rejectedPayloads: number }>(`${started.address.url}/sandbox/stats`);
    expect(stats.rejectedPayloads).toBeGreaterThanOrEqual(4);
  });

  it('edits, fetches, pages through history with limit/before, and deletes and bulk-deletes messages', async () => {
    const channel = textChannel(client, started.sandbox, 'job-executed');
    const countsBefore = (started.sandbox.stats() as { messages: { created: number; edited: number; deleted: number } }).messages;
    const sent: Message[] = [];
    for (let i = 0; i < 4; i++) sent.push(await channel.send(`history ${i}`));
    const edited = await sent[0]!.edit({ content: 'history 0 (edited)' });
    expect(edited.editedTimestamp).not.toBeNull();
    const newest = await channel.messages.fetch({ limit: 2, cache: false });
    expect(newest.map((m) => m.content)).toEqual(['history 3', 'history 2']);
    const older = await channel.messages.fetch({ limit: 10, before: sent[2]!.id, cache: false });
    expect(older.map((m) => m.content)).toEqual(['history 1', 'history 0 (edited)']);
    expect((await channel.messages.fetch({ message: sent[1]!.id, force: true })).content).toBe('history 1');
    await sent[3]!.delete();
    await channel.bulkDelete([sent[1]!.id, sent[2]!.id]);
    const left = started.sandbox.messages(channel.id).map((m) => m.content);
    expect(left).toEqual(['history 0 (edited)']);
    // /sandbox/stats counts what happened to messages: 4 created, 1 edited, 1 + 2 deleted.
    const countsAfter = (started.sandbox.stats() as { messages: typeof countsBefore }).messages;
    expect(countsAfter.created - countsBefore.created).toBe(4);
    expect(countsAfter.edited - countsBefore.edited).toBe(1);
    expect(countsAfter.deleted - countsBefore.deleted).toBe(3);
    const missing = await expectApiError(channel.messages.fetch({ message: sent[3]!.id, force: true }));
    expect([missing.status, missing.code]).toEqual([404, 10008]);
  });

  it('uploads a file as multipart/form-data (payload_json + files[0]) and serves it back', async () => {
    const channel = textChannel(client, started.sandbox, 'general');
    const sent = await channel.send({ content: 'traceback attached', files: [new AttachmentBuilder(Buffer.from('Traceback (most recent call last)\n'), { name: 'trace.txt' })] });
    const attachment = sent.attachments.first();
    expect(attachment?.name).toBe('trace.txt');
    const res = await fetch(attachment!.url);
    expect(await res.text()).toBe('Traceback (most recent call last)\n');
  });

  it('opens a DM channel and sends to it, and adds and removes a role on a member', async () => {
    const state = await getJson<SandboxState>(`${started.address.url}/sandbox/state`);
    const alice = state.members.find((m) => m.username === 'alice')!;
    const oncall = state.roles.find((r) => r.name === 'oncall')!;
    const user = await client.users.fetch(alice.id);
    const dm = await user.send('direct alert');
    expect(dm.channel.type).toBe(ChannelType.DM);
    expect(started.sandbox.messages(dm.channelId).map((m) => m.content)).toEqual(['direct alert']);

    const guild = client.guilds.cache.get(state.guild.id)!;
    const bob = await guild.members.fetch(state.members.find((m) => m.username === 'bob')!.id);
    await bob.roles.add(oncall.id);
    expect((await getJson<SandboxState>(`${started.address.url}/sandbox/state`)).members.find((m) => m.id === bob.id)?.roles).toContain(oncall.id);
    await bob.roles.remove(oncall.id);
    expect((await getJson<SandboxState>(`${started.address.url}/sandbox/state`)).members.find((m) => m.id === bob.id)?.roles).not.toContain(oncall.id);
    // Roles at or above the bot's own highest role are refused, as on Discord.
    const admin = state.roles.find((r) => r.name === 'admin')!;
    expect((await expectApiError(bob.roles.add(admin.id))).code).toBe(50013);
  });

  it('answers an unknown route with 404 in Discord\'s shape and counts it', async () => {
    const res = await fetch(`${started.address.apiUrl}/v10/channels/100000000000000101/pins/nope`, { headers: { authorization: `Bot ${started.address.token}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: '404: Not Found', code: 0 });
    const stats = await getJson<{ unknownRoutes: number }>(`${started.address.url}/sandbox/stats`);
    expect(stats.unknownRoutes).toBeGreaterThanOrEqual(1);
  });

  it('refuses a wrong token: REST answers 401 {message, code: 0} and login rejects', async () => {
    const res = await fetch(`${started.address.apiUrl}/v10/users/@me`, { headers: { authorization: `Bot ${started.address.token}x` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: '401: Unauthorized', code: 0 });
    const intruder = new Client({ intents: [GatewayIntentBits.Guilds], ...sandboxClientOptions(started.address.url) });
    await expect(intruder.login('not-the-token')).rejects.toMatchObject({ code: 'TokenInvalid' });
    await intruder.destroy();
    const stats = await getJson<{ unauthorized: number }>(`${started.address.url}/sandbox/stats`);
    expect(stats.unauthorized).toBeGreaterThanOrEqual(2);
  });
});
