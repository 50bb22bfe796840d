import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInSprockets } from '../../src/jobs/sprockets/index.ts';
import type { SandboxState } from '../../src/sandbox/index.ts';
import { channels, startTestBot, type TestBot } from '../helpers/bot.ts';
import { getJson } from '../helpers/sandbox.ts';
import { PythonScheduleZero, type CallOutcome } from '../helpers/schedulezero.ts';
import { freePort } from '../helpers/transport.ts';

// The moderation sprocket, listed with allow-lists, against the pyzmq ScheduleZero and the sandbox.
let t: TestBot;
let server: PythonScheduleZero;
let jobAddress: string;
let state: SandboxState;
const allowed = channels.scheduler;
const notAllowed = channels.job_failed;

function reply(out: CallOutcome): Record<string, unknown> {
  if (!('reply' in out)) throw new Error(`no reply: timed out after ${out.elapsed} s`);
  return out.reply;
}

function call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  return server.call(jobAddress, { call: { method, params } }).then(reply);
}

const role = (name: string): string => state.roles.find((r) => r.name === name)?.id ?? '';
const user = (username: string): string => state.members.find((m) => m.username === username)?.id ?? '';
const rolesOf = async (userId: string): Promise<string[]> => (await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`)).members.find((m) => m.id === userId)?.roles ?? [];
const routeCount = async (route: string): Promise<number> => ((await getJson<{ requests: { byRoute: Record<string, number> } }>(`${t.sandboxUrl}/sandbox/stats`)).requests.byRoute[route] ?? 0);

beforeAll(async () => {
  const serverAddress = `tcp://127.0.0.1:${await freePort()}`;
  server = await PythonScheduleZero.start(serverAddress);
  t = await startTestBot({
    config: {
      schedulezero: { handler_id: 'mod-bot', handler_port: 0, server_address: serverAddress },
      sprockets: ['core', { use: 'moderation', channels: [allowed, channels.job_executed], delete_pace_ms: 10 }],
    },
  });
  // The sandbox makes its role IDs at start: the roles allow-list is added to the listed config then.
  state = await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`);
  const listed = t.bot.jobs.registry.get('moderation');
  if (!listed) throw new Error('moderation is not loaded');
  await t.bot.jobs.registry.unload('moderation');
  t.bot.jobs.registry.load(listed.definition, { ...listed.config, roles: [role('oncall')] });
  state = await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`);
  jobAddress = t.bot.jobs.handler?.endpoint.endpoint ?? '';
  await server.waitFor((e) => e.event === 'registration' && JSON.parse(e.request).params?.handler_id === 'mod-bot' && JSON.parse(e.request).params?.methods?.includes('send_dm'));
});

afterAll(async () => {
  await t?.close();
  await server?.stop();
});

describe('moderation, listed with allow-lists', () => {
  it('registers its six methods with the core ones', () => {
    const methods = server.registrations().filter((r) => r.request.method === 'register').at(-1)?.request.params as { methods: string[] };
    expect(methods.methods).toEqual(expect.arrayContaining(['cleanup_messages', 'add_role_scheduled', 'remove_role_scheduled', 'lockdown_channel', 'unlock_channel', 'send_dm']));
    expect(methods.methods).not.toContain('send_announcement');
  });

  it('cleanup_messages deletes the matching recent messages in one bulk request and keeps the rest', async () => {
    for (const content of ['temp 1', 'keep me', 'temp 2', 'temp 3']) expect((await call('send_message', { channel_id: BigInt(allowed), content })).success).toBe(true);
    const bulkBefore = await routeCount('POST /channels/:channel_id/messages/bulk-delete');
    const out = await call('cleanup_messages', { channel_id: BigInt(allowed), limit: 50, contains: 'temp' });
    expect(out).toEqual({ success: true, deleted_count: 3, channel_id: allowed });
    expect((await t.messages(allowed)).map((m) => m.content)).toEqual(['keep me']);
    expect(await routeCount('POST /channels/:channel_id/messages/bulk-delete')).toBe(bulkBefore + 1);
  });

  it('cleanup_messages filters by author (user_id)', async () => {
    await call('send_message', { channel_id: BigInt(allowed), content: 'by the bot' });
    const out = await call('cleanup_messages', { channel_id: BigInt(allowed), user_id: BigInt(state.bot.id) });
    expect(out).toEqual({ success: true, deleted_count: 2, channel_id: allowed });
    expect(await t.messages(allowed)).toEqual([]);
  });

  it('refuses a channel outside its channels allow-list before touching Discord', async () => {
    await call('send_message', { channel_id: BigInt(notAllowed), content: 'stays' });
    const requests = (await getJson<{ requests: { total: number } }>(`${t.sandboxUrl}/sandbox/stats`)).requests.total;
    const out = await call('cleanup_messages', { channel_id: BigInt(notAllowed) });
    expect(out).toEqual({ success: false, error: expect.stringMatching(new RegExp(`^channel_id: ${notAllowed} is not in the channels allow-list of sprocket "moderation"`)) });
    expect((await getJson<{ requests: { total: number } }>(`${t.sandboxUrl}/sandbox/stats`)).requests.total).toBe(requests);
    expect((await t.messages(notAllowed)).map((m) => m.content)).toContain('stays');
  });

  it('add_role_scheduled / remove_role_scheduled change each member and list the one that is not a member', async () => {
    const [alice, bob] = [user('alice'), user('bob')];
    const oncall = role('oncall');
    const added = await call('add_role_scheduled', { guild_id: BigInt(state.guild.id), user_ids: [BigInt(bob), BigInt(alice), 123456789012345678n], role_id: BigInt(oncall) });
    expect(added).toEqual({ success: true, success_count: 2, total_users: 3, failed_users: [{ user_id: '123456789012345678', error: 'Member not found' }], role_name: 'oncall' });
    expect(await rolesOf(bob)).toContain(oncall);
    const removed = await call('remove_role_scheduled', { guild_id: BigInt(state.guild.id), user_ids: [BigInt(bob), BigInt(alice)], role_id: BigInt(oncall) });
    expect(removed).toMatchObject({ success: true, success_count: 2, total_users: 2, failed_users: [], role_name: 'oncall' });
    expect(await rolesOf(bob)).not.toContain(oncall);
    expect(await rolesOf(alice)).not.toContain(oncall);
  });

  it('refuses a role outside its roles allow-list, and changes nobody', async () => {
    const bob = user('bob');
    const admin = role('admin');
    const out = await call('add_role_scheduled', { guild_id: BigInt(state.guild.id), user_ids: [BigInt(bob)], role_id: BigInt(admin) });
    expect(out).toEqual({ success: false, error: expect.stringMatching(new RegExp(`^role_id: ${admin} is not in the roles allow-list of sprocket "moderation"`)) });
    expect(await rolesOf(bob)).not.toContain(admin);
  });

  it('send_dm opens a DM channel with the user and sends the message there', async () => {
    const bob = user('bob');
    const out = await call('send_dm', { user_id: BigInt(bob), message: 'Your report is ready' });
    expect(out).toEqual({ success: true, user_id: bob, username: 'bob', sent: true });
    const now = await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`);
    const dm = now.dm_channels.find((c) => c.recipient_id === bob);
    expect(dm).toBeDefined();
    expect((await t.messages(dm?.id ?? '')).map((m) => m.content)).toEqual(['Your report is ready']);
  });

  it('send_dm to a user that does not exist answers "User <id> not found"', async () => {
    expect(await call('send_dm', { user_id: 123456789012345678n, message: 'x' })).toEqual({ success: false, error: 'User 123456789012345678 not found' });
  });

  it('lockdown_channel denies @everyone Send Messages in the channel, unlock_channel lifts it', async () => {
    const overwrite = async (): Promise<{ id: string; type: number; allow: string; deny: string } | undefined> =>
      (await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`)).channels.find((c) => c.id === allowed)?.permission_overwrites.find((o) => o.id === state.guild.id);
    const locked = await call('lockdown_channel', { channel_id: BigInt(allowed), reason: 'Maintenance window' });
    expect(locked).toEqual({ success: true, channel_id: allowed, channel_name: 'scheduler', locked: true, reason: 'Maintenance window' });
    expect(await overwrite()).toEqual({ id: state.guild.id, type: 0, allow: '0', deny: String(1n << 11n) });
    const unlocked = await call('unlock_channel', { channel_id: BigInt(allowed) });
    expect(unlocked).toEqual({ success: true, channel_id: allowed, channel_name: 'scheduler', locked: false, reason: 'Scheduled unlock' });
    expect(await overwrite()).toEqual({ id: state.guild.id, type: 0, allow: '0', deny: '0' });
    expect(await call('lockdown_channel', { channel_id: BigInt(notAllowed) })).toMatchObject({ success: false, error: expect.stringMatching(/^channel_id: .* is not in the channels allow-list/) });
  });
});

describe('@everyone', () => {
  it('send_announcement pings @everyone when the sprocket config says allow_everyone: true', async () => {
    t.bot.jobs.registry.load(builtInSprockets.announcement!, { allow_everyone: true });
    try {
      const out = await call('send_announcement', { channel_id: BigInt(allowed), message: 'All hands at 15:00', everyone: true });
      expect(out).toEqual({ success: true, message_id: expect.any(String), channel_id: allowed, mentions: ['@everyone'], content: 'All hands at 15:00' });
      const posted = (await t.messages(allowed)).find((m) => m.id === out.message_id);
      expect(posted?.content).toBe('@everyone All hands at 15:00');
      expect(posted?.mentions.everyone).toBe(true);
    } finally {
      await t.bot.jobs.registry.unload('announcement');
    }
  });
});

describe('core methods that need the sandbox additions', () => {
  it("update_status sets the bot's activity through gateway op 3", async () => {
    const out = await call('update_status', { activity_type: 'Watching', name: 'the backups' });
    expect(out).toEqual({ success: true, activity_type: 'watching', name: 'the backups' });
    await expect
      .poll(async () => (await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`)).presences.find((p) => p.user_id === state.bot.id)?.activities, { timeout: 10_000, interval: 25 })
      .toEqual([{ name: 'the backups', type: 3 }]);
  });

  it('cleanup_old_messages deletes what is older than age_days: under 14 days in bulk, older one by one', async () => {
    const channel = channels.job_executed;
    const seed = async (content: string, age_days: number): Promise<void> => {
      const res = await fetch(`${t.sandboxUrl}/sandbox/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel_id: channel, content, age_days }) });
      expect(res.status).toBe(201);
    };
    await seed('20 days old a', 20);
    await seed('20 days old b', 20);
    await seed('10 days old a', 10);
    await seed('10 days old b', 10);
    await seed('yesterday', 1);
    const bulk = await routeCount('POST /channels/:channel_id/messages/bulk-delete');
    const single = await routeCount('DELETE /channels/:channel_id/messages/:message_id');
    const out = await call('cleanup_old_messages', { channel_id: BigInt(channel), age_days: 7 });
    expect(out).toEqual({ success: true, channel_id: channel, deleted_count: 4 });
    expect((await t.messages(channel)).map((m) => m.content)).toEqual(['yesterday']);
    expect(await routeCount('POST /channels/:channel_id/messages/bulk-delete')).toBe(bulk + 1);
    expect(await routeCount('DELETE /channels/:channel_id/messages/:message_id')).toBe(single + 2);
  });
});
