import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxState } from '../../src/sandbox/index.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { channels, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';
import { getJson, postJson } from '../helpers/sandbox.ts';
import { PythonScheduleZero, type CallOutcome } from '../helpers/schedulezero.ts';
import { freePort } from '../helpers/transport.ts';

// The bot as ScheduleZero's job handler with the default sprockets (core + announcement), against
// a pyzmq server speaking ScheduleZero's protocol byte for byte and the sandbox Discord.
const audit = '100000000000000105';
const wait = { timeout: 20_000, interval: 50 };

let t: TestBot;
let server: PythonScheduleZero;
let serverAddress: string;
let jobAddress: string;
let state: SandboxState;

function reply(out: CallOutcome): Record<string, unknown> {
  if (!('reply' in out)) throw new Error(`no reply: timed out after ${out.elapsed} s`);
  return out.reply;
}

function call(method: string, params: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
  return server.call(jobAddress, { call: { method, params } }, timeoutMs).then(reply);
}

function registers(): Record<string, unknown>[] {
  return server.registrations().filter((r) => r.request.method === 'register').map((r) => r.request.params as Record<string, unknown>);
}

const role = (name: string): string => state.roles.find((r) => r.name === name)?.id ?? '';
const member = (username: string): SandboxState['members'][number] => {
  const found = state.members.find((m) => m.username === username);
  if (!found) throw new Error(`no member ${username}`);
  return found;
};

beforeAll(async () => {
  serverAddress = `tcp://127.0.0.1:${await freePort()}`;
  server = await PythonScheduleZero.start(serverAddress);
  t = await startTestBot({
    config: {
      notification_channels: { ...channels, jobs: audit },
      schedulezero: { handler_id: 'sz-bot', handler_port: 0, server_address: serverAddress, reply_timeout_ms: 2_000, ping_interval_s: 1 },
    },
  });
  jobAddress = t.bot.jobs.handler?.endpoint.endpoint ?? '';
  await server.waitFor((e) => e.event === 'registration' && JSON.parse(e.request).method === 'register');
  state = await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`);
});

afterAll(async () => {
  await t?.close();
  await server?.stop();
});

describe('registration', () => {
  it('registers every enabled method (core + announcement, not moderation) at the job endpoint it bound', async () => {
    const [params] = registers();
    expect(params).toEqual({
      handler_id: 'sz-bot',
      address: jobAddress,
      methods: [
        'cleanup_old_messages',
        'schedule_announcement',
        'send_announcement',
        'send_embed',
        'send_embed_announcement',
        'send_message',
        'send_to_multiple_channels',
        'update_role',
        'update_status',
        'ping',
      ],
    });
    expect(jobAddress).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const health = await t.healthz();
    expect(health).toMatchObject({ status: 'ok', jobs: { enabled: true, registration: { state: 'registered', server: serverAddress, handlerId: 'sz-bot' } } });
    expect((await t.metrics()).get('zmq_notify_handler_registered')).toBe(1);
  });

  it('/zmq_status shows the registration and the job endpoint', async () => {
    const { body } = await t.invoke({ command: 'zmq_status' });
    const field = body.reply?.embeds[0]?.fields?.find((f) => f.name === 'ScheduleZero')?.value ?? '';
    expect(field).toContain(`🟢 **registered** with \`${serverAddress}\` as \`sz-bot\` · 9 methods`);
    expect(field).toContain(`job endpoint \`${jobAddress}\``);
  });

  it('answers the server ping ScheduleZero sends before reusing a client', async () => {
    expect(await call('ping', {})).toEqual({ success: true, message: 'pong', handler_id: 'sz-bot' });
  });
});

describe('core methods, effects checked in the sandbox', () => {
  it('send_message: a 19-digit channel_id sent as a JSON number posts the content there', async () => {
    const out = await call('send_message', { channel_id: BigInt(channels.job_executed), content: 'Backup finished' });
    expect(out).toEqual({ success: true, message_id: expect.stringMatching(/^\d+$/), channel_id: channels.job_executed, content: 'Backup finished' });
    const posted = (await t.messages(channels.job_executed)).find((m) => m.id === out.message_id);
    expect(posted?.content).toBe('Backup finished');
  });

  it('send_message: a mention in the content does not ping anyone', async () => {
    const out = await call('send_message', { channel_id: BigInt(channels.job_executed), content: `@everyone <@&${role('oncall')}> look` });
    const posted = (await t.messages(channels.job_executed)).find((m) => m.id === out.message_id);
    expect(posted?.mentions).toEqual({ users: [], roles: [], everyone: false, here: false });
  });

  it('send_embed: title, description and color (default 0x00ff00)', async () => {
    const out = await call('send_embed', { channel_id: BigInt(channels.job_executed), title: 'Nightly', description: 'All green' });
    expect(out).toEqual({ success: true, message_id: expect.any(String), channel_id: channels.job_executed });
    const posted = (await t.messages(channels.job_executed)).find((m) => m.id === out.message_id);
    expect(posted?.embeds).toEqual([{ type: 'rich', title: 'Nightly', description: 'All green', color: 0x00ff00 }]);
  });

  it('schedule_announcement: pings the role it names', async () => {
    const oncall = role('oncall');
    const out = await call('schedule_announcement', { channel_id: BigInt(channels.scheduler), message: 'Maintenance at 22:00', role_id: BigInt(oncall) });
    expect(out).toEqual({ success: true, message_id: expect.any(String), channel_id: channels.scheduler, mentioned_role: oncall });
    const posted = (await t.messages(channels.scheduler)).find((m) => m.id === out.message_id);
    expect(posted?.content).toBe(`<@&${oncall}> Maintenance at 22:00`);
    expect(posted?.mentions.roles).toEqual([oncall]);
  });

  it('update_role: adds and removes a member role', async () => {
    const bob = member('bob');
    const oncall = role('oncall');
    const added = await call('update_role', { guild_id: BigInt(state.guild.id), user_id: BigInt(bob.id), role_id: BigInt(oncall), action: 'add' });
    expect(added).toEqual({ success: true, user_id: bob.id, role_id: oncall, action: 'add' });
    let now = await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`);
    expect(now.members.find((m) => m.id === bob.id)?.roles).toContain(oncall);
    await call('update_role', { guild_id: BigInt(state.guild.id), user_id: BigInt(bob.id), role_id: BigInt(oncall), action: 'remove' });
    now = await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`);
    expect(now.members.find((m) => m.id === bob.id)?.roles).not.toContain(oncall);
  });

  it('update_role: an unknown role and an unknown action are clear errors', async () => {
    const bob = member('bob');
    const unknown = await call('update_role', { guild_id: BigInt(state.guild.id), user_id: BigInt(bob.id), role_id: 123456789012345678n, action: 'add' });
    expect(unknown).toEqual({ success: false, error: 'Role 123456789012345678 not found' });
    const action = await call('update_role', { guild_id: BigInt(state.guild.id), user_id: BigInt(bob.id), role_id: BigInt(role('oncall')), action: 'toggle' });
    expect(action).toEqual({ success: false, error: expect.stringMatching(/^action: got "toggle", expected one of "add"\|"remove"/) });
  });

  it('send_message to a channel that does not exist answers "Channel <id> not found"', async () => {
    expect(await call('send_message', { channel_id: 123456789012345678n, content: 'x' })).toEqual({ success: false, error: 'Channel 123456789012345678 not found' });
  });
});

describe('announcement methods', () => {
  it('send_announcement: a role ping, and @everyone refused without allow_everyone', async () => {
    const oncall = role('oncall');
    const out = await call('send_announcement', { channel_id: BigInt(channels.scheduler), message: 'Release 2.0', role_id: BigInt(oncall) });
    expect(out).toEqual({ success: true, message_id: expect.any(String), channel_id: channels.scheduler, mentions: [`role:${oncall}`], content: 'Release 2.0' });
    const posted = (await t.messages(channels.scheduler)).find((m) => m.id === out.message_id);
    expect(posted?.mentions.roles).toEqual([oncall]);
    const before = (await t.messages(channels.scheduler)).length;
    const everyone = await call('send_announcement', { channel_id: BigInt(channels.scheduler), message: 'Hi all', everyone: true });
    expect(everyone).toEqual({ success: false, error: expect.stringMatching(/^everyone: @everyone needs allow_everyone: true/) });
    expect((await t.messages(channels.scheduler)).length).toBe(before);
  });

  it('send_embed_announcement: footer, image and fields', async () => {
    const out = await call('send_embed_announcement', {
      channel_id: BigInt(channels.scheduler),
      description: 'Quarterly numbers',
      footer: 'Finance',
      image_url: 'https://example.com/chart.png',
      fields: [{ name: 'Revenue', value: '+12%', inline: true }, { value: 'Costs flat' }],
    });
    expect(out).toEqual({ success: true, message_id: expect.any(String), channel_id: channels.scheduler, embed_title: 'Announcement' });
    const [embed] = (await t.messages(channels.scheduler)).find((m) => m.id === out.message_id)?.embeds ?? [];
    expect(embed).toMatchObject({ title: 'Announcement', description: 'Quarterly numbers', color: 0x00ff00, footer: { text: 'Finance' }, image: { url: 'https://example.com/chart.png' } });
    expect(embed?.fields).toEqual([{ name: 'Revenue', value: '+12%', inline: true }, { name: 'Field', value: 'Costs flat', inline: false }]);
  });

  it('send_to_multiple_channels: sends to each, lists the one that failed', async () => {
    const out = await call('send_to_multiple_channels', { channel_ids: [BigInt(channels.job_failed), BigInt(channels.handler_status), 123456789012345678n], message: 'Broadcast' });
    expect(out).toEqual({ success: true, sent_count: 2, total_channels: 3, failed_channels: [{ channel_id: '123456789012345678', error: 'Channel 123456789012345678 not found' }] });
    for (const id of [channels.job_failed, channels.handler_status]) expect((await t.messages(id)).some((m) => m.content === 'Broadcast')).toBe(true);
  });
});

describe('bad requests', () => {
  it('an unknown method, a frame that is not JSON and bad params each get their error, and nothing is posted', async () => {
    const before = (await t.messages(channels.job_executed)).length;
    expect(await call('lockdown_channel', { channel_id: BigInt(channels.job_executed) })).toEqual({ success: false, error: 'Unknown method: lockdown_channel' });
    expect(reply(await server.call(jobAddress, { send: '{"method": "send_message", "params": {"channel_id": 1' }))).toEqual({ success: false, error: 'Invalid JSON' });
    expect(await call('send_message', { channel_id: 'general', content: 'x' })).toEqual({ success: false, error: expect.stringMatching(/^channel_id: got "general", expected a Discord ID/) });
    expect(await call('send_message', { channel_id: BigInt(channels.job_executed), content: '' })).toEqual({ success: false, error: expect.stringMatching(/^content: got "", expected/) });
    expect((await t.messages(channels.job_executed)).length).toBe(before);
  });
});

describe('a slow Discord', () => {
  it('answers within 10 s while the channel is 429d, runs the retried call once, and gives a later retry the first result', async () => {
    const params = { channel_id: BigInt(channels.handler_status), content: 'Report ready (rate limited)' };
    const fault = await postJson(`${t.sandboxUrl}/sandbox/faults`, { channel_id: channels.handler_status, status: 429, count: 1, retry_after: 4 });
    expect(fault.status).toBe(201);
    const first = await server.call(jobAddress, { call: { method: 'send_message', params } });
    expect(first).toMatchObject({ reply: { success: true, pending: true, status: 'accepted', method: 'send_message' } });
    expect('elapsed' in first && first.elapsed).toBeLessThan(10);
    // ScheduleZero retrying the same call while it still waits for Discord: the same job.
    const retry = reply(await server.call(jobAddress, { call: { method: 'send_message', params } }));
    expect(retry.success).toBe(true);
    await expect.poll(async () => (await t.messages(channels.handler_status)).filter((m) => m.content === params.content).length, wait).toBe(1);
    const late = reply(await server.call(jobAddress, { call: { method: 'send_message', params } }));
    const [posted] = (await t.messages(channels.handler_status)).filter((m) => m.content === params.content);
    expect(late).toEqual({ success: true, message_id: posted?.id, channel_id: channels.handler_status, content: params.content });
    expect((await t.messages(channels.handler_status)).filter((m) => m.content === params.content)).toHaveLength(1);
    const metrics = await t.metrics();
    expect(metrics.get('zmq_notify_jobs_total{method="send_message",outcome="duplicate"}')).toBe(2);
  });
});

describe('job messages beside the Outbox', () => {
  it('a burst of job messages and failure alerts on one channel: each job its own message, no 429 from Discord', async () => {
    const stats = (): Promise<{ responses: { byStatus: Record<string, number> } }> => getJson(`${t.sandboxUrl}/sandbox/stats`);
    const limited = (await stats()).responses.byStatus['429'] ?? 0;
    const publisher = new EventPublisher({ endpoint: t.endpoints.pub, src: 'jobs-burst', lingerMs: 1_000 });
    await publisher.open();
    try {
      expect(await publisher.waitForSubscriber(20_000, 'job.')).toBe(true);
      const jobs = Array.from({ length: 6 }, (_, i) => call('send_message', { channel_id: BigInt(channels.job_failed), content: `job message ${i}` }));
      for (let i = 0; i < 6; i++) await publisher.publish('job.failed', { job_id: `burst-${i}`, job_name: `burst ${i}`, error: 'disk full' });
      for (const out of await Promise.all(jobs)) expect(out.success).toBe(true);
      await expect.poll(async () => (await t.messages(channels.job_failed)).filter((m) => m.content.startsWith('job message ')).length, wait).toBe(6);
      await expect.poll(async () => (await t.messages(channels.job_failed)).flatMap((m) => m.embeds.map(embedText)).join('\n'), wait).toMatch(/burst 5/);
    } finally {
      await publisher.close();
    }
    // The job messages went through the bot's one REST client, whose buckets the Outbox shares.
    expect((await stats()).responses.byStatus['429'] ?? 0).toBe(limited);
  });
});

describe('audit and metrics', () => {
  it('counts every call by method and outcome and writes an audit line for each in notification_channels.jobs', async () => {
    const metrics = await t.metrics();
    expect(metrics.get('zmq_notify_jobs_total{method="(unknown)",outcome="unknown_method"}')).toBe(1);
    expect(metrics.get('zmq_notify_jobs_total{method="send_message",outcome="invalid"}')).toBe(2);
    expect(metrics.get('zmq_notify_jobs_total{method="update_role",outcome="success"}')).toBe(2);
    await expect.poll(async () => (await t.messages(audit)).flatMap((m) => m.embeds.map(embedText)).join('\n'), wait).toMatch(/`send_embed` from \*\*schedulezero\*\*: \*\*success\*\*/);
    const text = (await t.messages(audit)).flatMap((m) => m.embeds.map(embedText)).join('\n');
    expect(text).toMatch(/`lockdown_channel` from \*\*schedulezero\*\*: \*\*unknown_method\*\*/);
  });
});

describe('/zmq_sprockets', () => {
  it('is refused to a member who is not an administrator', async () => {
    const { body } = await t.invoke({ command: 'zmq_sprockets', options: [{ name: 'unload', options: [{ name: 'name', value: 'announcement' }] }], member: { permissions: '0' } });
    expect(body.reply?.content).toMatch(/only server administrators/);
    expect(t.bot.jobs.registry.has('announcement')).toBe(true);
  });

  it('unloads and loads a sprocket at run time, registering the new method list each time', async () => {
    const before = registers().length;
    const unloaded = await t.invoke({ command: 'zmq_sprockets', options: [{ name: 'unload', options: [{ name: 'name', value: 'announcement' }] }], member: { permissions: '8' } });
    expect(unloaded.status).toBe(200);
    expect(embedText(unloaded.body.reply?.embeds[0] ?? {})).toMatch(/Unloaded \*\*announcement\*\*/);
    await expect.poll(() => registers().length, wait).toBeGreaterThan(before);
    expect(registers().at(-1)?.methods).toEqual(['cleanup_old_messages', 'schedule_announcement', 'send_embed', 'send_message', 'update_role', 'update_status', 'ping']);
    expect(await call('send_announcement', { channel_id: BigInt(channels.scheduler), message: 'x' })).toEqual({ success: false, error: 'Unknown method: send_announcement' });
    const loaded = await t.invoke({ command: 'zmq_sprockets', options: [{ name: 'load', options: [{ name: 'name', value: 'announcement' }] }], member: { permissions: '8' } });
    expect(embedText(loaded.body.reply?.embeds[0] ?? {})).toMatch(/Loaded \*\*announcement\*\*: `send_announcement`/);
    await expect.poll(() => registers().at(-1)?.methods, wait).toContain('send_announcement');
    expect((await call('send_announcement', { channel_id: BigInt(channels.scheduler), message: 'Back again' })).success).toBe(true);
  });

  it('refuses to load moderation when the config does not list it', async () => {
    const { body } = await t.invoke({ command: 'zmq_sprockets', options: [{ name: 'load', options: [{ name: 'name', value: 'moderation' }] }], member: { permissions: '8' } });
    expect(embedText(body.reply?.embeds[0] ?? {})).toMatch(/moderation" is off unless the config lists it/);
    expect(await call('cleanup_messages', { channel_id: BigInt(channels.scheduler) })).toEqual({ success: false, error: 'Unknown method: cleanup_messages' });
  });

  it('lists the sprockets and their methods', async () => {
    const { body } = await t.invoke({ command: 'zmq_sprockets', options: [{ name: 'list' }], member: { permissions: '8' } });
    const text = embedText(body.reply?.embeds[0] ?? {});
    expect(text).toMatch(/🟢 \*\*core\*\* \(built-in\) — `send_message`/);
    expect(text).toMatch(/🟢 \*\*announcement\*\*/);
  });
});

describe('restarts', () => {
  it('registers again when the server restarts, and reports offline when the bot stops', async () => {
    await server.stop();
    // While the server is gone the bot cannot take jobs: /healthz says so.
    await expect.poll(async () => (await t.healthz()).reasons, wait).toEqual([expect.stringMatching(new RegExp(`^not registered with the ScheduleZero server at ${serverAddress} \\((connecting|retrying)`))]);
    const res = await fetch(`${t.bot.httpUrl}/healthz`);
    expect(res.status).toBe(503);
    server = await PythonScheduleZero.start(serverAddress);
    await server.waitFor((e) => e.event === 'registration' && JSON.parse(e.request).method === 'register');
    await expect.poll(async () => (await t.healthz()).status, wait).toBe('ok');
    expect(await call('send_message', { channel_id: BigInt(channels.job_executed), content: 'after restart' })).toMatchObject({ success: true });
    await t.bot.stop();
    await server.waitFor((e) => e.event === 'registration' && JSON.parse(e.request).method === 'report_status');
    const offline = server.registrations().find((r) => r.request.method === 'report_status');
    expect(offline?.request).toEqual({ method: 'report_status', params: { handler_id: 'sz-bot', status: 'offline' } });
    expect(offline?.reply).toEqual({ success: true, handler_id: 'sz-bot', status: 'offline' });
  });
});
