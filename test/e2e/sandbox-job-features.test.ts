import { ActivityType, DiscordAPIError, GatewayIntentBits, PermissionFlagsBits, type Client, type TextChannel } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView, SandboxState } from '../../src/sandbox/index.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { connectClient, getJson, postJson, startSandbox, textChannel, type StartedSandbox } from '../helpers/sandbox.ts';

// What the job methods need of Discord, as the sandbox does it, driven by a stock discord.js client.
let started: StartedSandbox;
let client: Client<true>;
let channel: TextChannel;
const wait = { timeout: 10_000, interval: 25 };

const state = (): Promise<SandboxState> => getJson<SandboxState>(`${started.address.url}/sandbox/state`);
const seed = (body: Record<string, unknown>): Promise<{ status: number; body: MessageView & { error?: string } }> => postJson(`${started.address.url}/sandbox/messages`, body);

beforeAll(async () => {
  started = await startSandbox({ guild: { name: 'ops' }, channels: [{ name: 'announcements' }, { name: 'ops-log' }] });
  client = await connectClient(started.address, { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.GuildMembers, GatewayIntentBits.DirectMessages] });
  channel = textChannel(client, started.sandbox, 'announcements');
});

afterAll(async () => {
  await client?.destroy();
  await started?.sandbox.stop();
});

describe('presence (gateway op 3)', () => {
  it("keeps the bot's status and activity and shows them in /sandbox/state", async () => {
    client.user.setPresence({ status: 'dnd', activities: [{ name: 'nightly backups', type: ActivityType.Watching }] });
    await expect.poll(async () => (await state()).presences, wait).toEqual([
      { user_id: client.user.id, status: 'dnd', activities: [{ name: 'nightly backups', type: ActivityType.Watching }], since: null, afk: false, updated_at: expect.any(String) },
    ]);
  });
});

describe('channel history', () => {
  it('POST /sandbox/messages seeds a message days old; GET …/messages pages through the history newest first with limit/before', async () => {
    const old = await seed({ channel_id: channel.id, content: 'from last month', author: 'alice', age_days: 30 });
    expect(old.status).toBe(201);
    expect(Date.now() - Date.parse(old.body.timestamp)).toBeGreaterThan(29 * 24 * 3600 * 1000);
    expect(old.body.author.username).toBe('alice');
    for (const content of ['one', 'two', 'three']) await channel.send(content);
    const newest = await channel.messages.fetch({ limit: 2 });
    expect([...newest.values()].map((m) => m.content)).toEqual(['three', 'two']);
    const before = await channel.messages.fetch({ limit: 10, before: newest.last()?.id });
    expect([...before.values()].map((m) => m.content)).toEqual(['one', 'from last month']);
    // Bad seeds say what is wrong: an unknown channel, empty content, a negative age.
    expect((await seed({ channel_id: '1', content: 'x' })).status).toBe(400);
    expect((await seed({ channel_id: channel.id, content: '' })).body.error).toMatch(/"content"/);
    expect((await seed({ channel_id: channel.id, content: 'x', age_days: -1 })).body.error).toMatch(/"age_days"/);
  });
});

describe('deletes', () => {
  it('bulk-deletes messages younger than 14 days, refuses a batch with an older one as Discord does (50034), deletes that one on its own', async () => {
    const ops = textChannel(client, started.sandbox, 'ops-log');
    const old = await seed({ channel_id: ops.id, content: 'three weeks old', age_days: 21 });
    const recent = [await ops.send('recent 1'), await ops.send('recent 2')];
    const refused = await ops.bulkDelete([old.body.id, ...recent.map((m) => m.id)], false).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(DiscordAPIError);
    expect((refused as DiscordAPIError).code).toBe(50034);
    expect((refused as DiscordAPIError).message).toBe('You can only bulk delete messages that are under 14 days old.');
    const deleted = await ops.bulkDelete(recent.map((m) => m.id));
    expect(deleted.size).toBe(2);
    await ops.messages.delete(old.body.id);
    expect(await getJson<MessageView[]>(`${started.address.url}/sandbox/messages?channel_id=${ops.id}`)).toEqual([]);
  });
});

describe('member roles', () => {
  it('adds and removes a role, shown in /sandbox/state', async () => {
    const s = await state();
    const bob = s.members.find((m) => m.username === 'bob')!.id;
    const oncall = s.roles.find((r) => r.name === 'oncall')!.id;
    const guild = client.guilds.cache.first()!;
    await guild.members.addRole({ user: bob, role: oncall });
    expect((await state()).members.find((m) => m.id === bob)?.roles).toContain(oncall);
    await guild.members.removeRole({ user: bob, role: oncall });
    expect((await state()).members.find((m) => m.id === bob)?.roles).not.toContain(oncall);
  });
});

describe('channel permission overwrites', () => {
  it('sets, reads back, dispatches (CHANNEL_UPDATE) and deletes an overwrite; refuses a bad type and an unknown role', async () => {
    const guild = client.guilds.cache.first()!;
    await channel.permissionOverwrites.edit(guild.roles.everyone, { SendMessages: false }, { reason: 'lockdown' });
    const listed = (await state()).channels.find((c) => c.id === channel.id)?.permission_overwrites;
    expect(listed).toEqual([{ id: guild.id, type: 0, allow: '0', deny: PermissionFlagsBits.SendMessages.toString() }]);
    // The client's cache follows CHANNEL_UPDATE from the gateway.
    await expect.poll(() => channel.permissionOverwrites.cache.get(guild.id)?.deny.has(PermissionFlagsBits.SendMessages) ?? false, wait).toBe(true);
    const rest = client.rest;
    const badType = await rest.put(`/channels/${channel.id}/permissions/${guild.id}`, { body: { type: 7, deny: '2048' } }).catch((err: unknown) => err);
    expect((badType as DiscordAPIError).code).toBe(50035);
    const unknownRole = await rest.put(`/channels/${channel.id}/permissions/123456789012345678`, { body: { type: 0, deny: '2048' } }).catch((err: unknown) => err);
    expect((unknownRole as DiscordAPIError).code).toBe(10011);
    await channel.permissionOverwrites.delete(guild.roles.everyone);
    expect((await state()).channels.find((c) => c.id === channel.id)?.permission_overwrites).toEqual([]);
    const again = await rest.delete(`/channels/${channel.id}/permissions/${guild.id}`).catch((err: unknown) => err);
    expect((again as DiscordAPIError).code).toBe(10009);
  });
});

describe('DMs', () => {
  it('opens a DM channel with a user and sends into it; /sandbox/state lists it', async () => {
    const s = await state();
    const alice = s.members.find((m) => m.username === 'alice')!.id;
    const user = await client.users.fetch(alice);
    const sent = await user.send('your report is ready');
    const dm = (await state()).dm_channels.find((c) => c.recipient_id === alice);
    expect(dm?.id).toBe(sent.channelId);
    const messages = await getJson<MessageView[]>(`${started.address.url}/sandbox/messages?channel_id=${dm?.id}`);
    expect(messages.map((m) => m.content)).toEqual(['your report is ready']);
  });
});

describe('the page', () => {
  it('shows the members with roles and the bot’s presence, a locked channel, and the DM with its message', async () => {
    const guild = client.guilds.cache.first()!;
    await channel.permissionOverwrites.edit(guild.roles.everyone, { SendMessages: false });
    const browser = await launchBrowser();
    try {
      const page = browser.page;
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${started.address.url}/#${channel.id}`);
      await page.waitForSelector('#status.live', { timeout: 10_000 });
      const bot = page.locator(`.member[data-member="${client.user.id}"]`);
      expect(await bot.locator('.presence').textContent()).toBe('dnd • Watching nightly backups');
      expect(await page.locator(`[data-channel="${channel.id}"] .lock`).count()).toBe(1);
      expect(await page.locator('.welcome').textContent()).toContain('Locked: @everyone may not send messages.');
      const dm = (await state()).dm_channels[0]!;
      await page.locator(`#dms [data-channel="${dm.id}"]`).click();
      await page.waitForSelector('text=your report is ready', { timeout: 5_000 });
      expect(await page.locator('#channel-title').textContent()).toBe('alice');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
