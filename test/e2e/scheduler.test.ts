import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ConfigInput } from '../../src/config/index.ts';
import { channels, embedsOf, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';
import { postJson } from '../helpers/sandbox.ts';

// The scheduler end to end: the real discord.js client against the sandbox, real job methods from
// the core sprocket, a real SQLite file. Counts are read from the sandbox's messages.
const wait = { timeout: 20_000, interval: 100 };
const ticks = '100000000000000201';
const dev = '100000000000000202';
const locked = '100000000000000203';
const admin = { permissions: '8' };
const bots: TestBot[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const bot of bots.splice(0)) await bot.close();
});
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(config: ConfigInput): Promise<TestBot> {
  const bot = await startTestBot({ config });
  bots.push(bot);
  return bot;
}

const contents = async (bot: TestBot, channelId: string): Promise<string[]> => (await bot.messages(channelId)).map((m) => m.content);

describe('scheduler in the bot (sandbox)', () => {
  it('an every-1s send_message job posts to its channel; a failing one gives a job.failed alert in the failure channel and a dev-channel alert', async () => {
    const bot = await start({
      scheduler: { dev_channel: dev },
      schedules: [
        { id: 'tick', every: '1s', method: 'send_message', params: { channel_id: ticks, content: 'tick from the scheduler' } },
        { id: 'broken', every: '1s', method: 'send_message', params: { channel_id: locked, content: 'never' }, send_alert: true },
      ],
    });
    // The bot may not post in the `locked` channel: the sandbox answers 403 Missing Permissions, so the method fails.
    expect((await postJson(`${bot.sandboxUrl}/sandbox/faults`, { channel_id: locked, status: 403, count: 1_000 })).status).toBe(201);
    await vi.waitFor(async () => expect((await contents(bot, ticks)).filter((c) => c === 'tick from the scheduler').length).toBeGreaterThanOrEqual(2), wait);
    await vi.waitFor(async () => {
      const alerts = embedsOf(await bot.messages(channels.job_failed)).map(embedText).filter((text) => text.includes('broken'));
      expect(alerts.length).toBeGreaterThanOrEqual(1);
      // The first failure's alert, or the same message edited into the repeat series by later failures.
      expect(alerts[0]).toMatch(/Job failed: broken|Job failing repeatedly: broken/);
      expect(alerts[0]).toMatch(/Missing Permissions|403/);
    }, wait);
    // send_alert: the same failure also reached the dev channel; the tick job (no send_alert) did not.
    await vi.waitFor(async () => {
      const devTexts = embedsOf(await bot.messages(dev)).map(embedText);
      expect(devTexts.some((t) => t.includes('broken') && /Job failed/.test(t))).toBe(true);
      expect(devTexts.some((t) => t.includes('tick'))).toBe(false);
    }, wait);
    // Repeat suppression applies as to any job: the failing job's alert is one message, edited, not one per second.
    const failureMessages = (await bot.messages(channels.job_failed)).filter((m) => m.embeds.some((e) => embedText(e).includes('broken')));
    expect(failureMessages.length).toBe(1);
  });

  it('/schedule add through /sandbox/interactions, then a restart: the schedule is still listed and runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-sched-e2e-'));
    dirs.push(dir);
    const config: ConfigInput = { storage: { path: join(dir, 'bot.db') }, notification_channels: { ...channels, job_executed: ticks } };
    const first = await start(config);
    const added = await first.invoke({
      command: 'schedule',
      member: admin,
      options: { add: { id: 'standup', method: 'send_message', every: '1s', params: JSON.stringify({ channel_id: channels.scheduler, content: 'standup time' }), timezone: 'Europe/Berlin' } },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.reply?.embeds[0]?.title).toBe('Schedule added: standup');
    await vi.waitFor(async () => expect(await contents(first, channels.scheduler)).toContain('standup time'), wait);
    await first.close();
    bots.splice(bots.indexOf(first), 1);

    const second = await start(config);
    const listed = await second.invoke({ command: 'schedule', member: admin, options: { list: {} } });
    expect(listed.body.reply?.ephemeral).toBe(true);
    const summary = embedText(listed.body.reply!.embeds[0]!);
    expect(summary).toContain('🔁 Interval (1)');
    expect(summary).toMatch(/\*\*standup\*\* · every `1s` · `send_message` · next <t:\d+:f> \(<t:\d+:R>\) · added from Discord/);
    // The second bot's own sandbox starts empty: these messages are the restarted bot's runs.
    await vi.waitFor(async () => expect((await contents(second, channels.scheduler)).filter((c) => c === 'standup time').length).toBeGreaterThanOrEqual(1), wait);
  });

  it('/schedule is refused for a member without permission, and a bad add is refused with why', async () => {
    const bot = await start({ schedules: [{ id: 'cfg', every: '1h', method: 'send_message', params: { channel_id: ticks, content: 'x' } }] });
    // Tried: no permissions at all, then Manage Messages only (not Administrator), for add and list.
    for (const permissions of ['0', '8192']) {
      for (const options of [{ add: { id: 'sneaky', method: 'send_message', every: '1s' } }, { list: {} }]) {
        const refused = await bot.invoke({ command: 'schedule', member: { permissions }, options });
        expect(refused.body.reply?.ephemeral).toBe(true);
        expect(refused.body.reply?.content).toMatch(/only server administrators/);
      }
    }
    expect(bot.bot.schedules.list().map((v) => v.id)).toEqual(['cfg']);
    expect(bot.logs().some((l) => /refused \/schedule add/.test(String(l.msg)))).toBe(true);
    // Tried as an administrator: an unknown method, bad params, two triggers, a bad zone, removing a config schedule.
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ add: { id: 'a', method: 'no_such_method', every: '1m' } }, /Unknown method: no_such_method \(loaded: .*send_message/],
      [{ add: { id: 'b', method: 'send_message', every: '1m', params: '{"channel_id": "abc"}' } }, /params: channel_id: got "abc", expected/],
      [{ add: { id: 'c', method: 'send_message', every: '1m', cron: '* * * * *' } }, /exactly one of cron:, every: or at:/],
      [{ add: { id: 'd', method: 'send_message', cron: '* * * * *', timezone: 'Mars/Base' } }, /timezone: got "Mars\/Base", expected an IANA time zone/],
      [{ remove: { id: 'cfg' } }, /defined in the config file/],
    ];
    for (const [options, reason] of cases) {
      const answer = await bot.invoke({ command: 'schedule', member: admin, options });
      expect(answer.body.reply?.content, JSON.stringify(options)).toMatch(reason);
    }
    expect(bot.bot.schedules.list().map((v) => v.id)).toEqual(['cfg']);
  });
});

describe('/schedule autocomplete and on: schedulezero (sandbox)', () => {
  it('method and id options autocomplete from the registry and the schedules, only for those who may use them', async () => {
    const bot = await start({ schedules: [{ id: 'daily_report', every: '1h', method: 'send_message', params: { channel_id: ticks, content: 'x' } }] });
    const methods = await bot.invoke({ command: 'schedule', member: admin, focused: 'method', options: { add: { method: 'send_e' } } });
    expect(methods.status, JSON.stringify(methods.body)).toBe(200);
    expect(methods.body.response_type).toBe(8);
    expect(methods.body.choices?.map((c) => c.value)).toEqual(['send_embed', 'send_embed_announcement']);
    const ids = await bot.invoke({ command: 'schedule', member: admin, focused: 'id', options: { run: { id: 'daily' } } });
    expect(ids.body.choices).toEqual([{ name: 'daily_report', value: 'daily_report' }]);
    // Tried: a member without permission (no names leak), a focused option that was not given.
    const refused = await bot.invoke({ command: 'schedule', member: { permissions: '0' }, focused: 'method', options: { add: { method: '' } } });
    expect(refused.body.choices).toEqual([]);
    const unknown = await bot.invoke({ command: 'schedule', member: admin, focused: 'params', options: { add: { method: 'x' } } });
    expect(unknown.status).toBe(400);
  });

  it('on: schedulezero POSTs the schedule to ScheduleZero\'s /api/schedule and says what it answered', async () => {
    const received: Record<string, unknown>[] = [];
    let answer = { status: 201, body: {} as Record<string, unknown> };
    const api = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        received.push({ url: req.url, ...(JSON.parse(text) as Record<string, unknown>) });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
      const bot = await start({ schedulezero: { handler_id: 'discord-bot', handler_port: 0, server_address: 'tcp://127.0.0.1:9', api_endpoint: endpoint } });
      answer = { status: 201, body: { status: 'success', job_id: 'nightly' } };
      const ok = await bot.invoke({
        command: 'schedule',
        member: admin,
        options: { add: { id: 'nightly', method: 'send_message', cron: '0 22 * * 1-5', timezone: 'Europe/Berlin', params: JSON.stringify({ channel_id: ticks, content: 'good night' }), on: 'schedulezero' } },
      });
      expect(ok.body.reply?.embeds[0]?.title).toBe('Scheduled on ScheduleZero: nightly');
      expect(received).toEqual([
        {
          url: '/api/schedule',
          handler_id: 'discord-bot',
          job_method: 'send_message',
          job_params: { channel_id: ticks, content: 'good night' },
          trigger: { type: 'cron', minute: '0', hour: '22', day: '*', month: '*', day_of_week: 'mon-fri', timezone: 'Europe/Berlin' },
          job_id: 'nightly',
        },
      ]);
      expect(bot.bot.schedules.list(), 'not kept by the bot: ScheduleZero runs it').toEqual([]);
      // Tried: ScheduleZero refusing (409 for a taken id); a bad method is refused before any request.
      answer = { status: 409, body: { error: { code: 409, message: "Job ID 'nightly' already exists." } } };
      const taken = await bot.invoke({ command: 'schedule', member: admin, options: { add: { id: 'nightly', method: 'send_message', every: '1h', params: JSON.stringify({ channel_id: ticks, content: 'x' }), on: 'schedulezero' } } });
      expect(taken.body.reply?.content).toBe("/schedule add on ScheduleZero: ScheduleZero refused the schedule (HTTP 409): Job ID 'nightly' already exists.");
      const bad = await bot.invoke({ command: 'schedule', member: admin, options: { add: { id: 'x', method: 'nope', every: '1h', on: 'schedulezero' } } });
      expect(bad.body.reply?.content).toMatch(/Unknown method: nope/);
      expect(received).toHaveLength(2);
    } finally {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    }
  });

  it('on: schedulezero without schedulezero.api_endpoint is refused with what to set', async () => {
    const bot = await start({});
    const answer = await bot.invoke({ command: 'schedule', member: admin, options: { add: { id: 'x', method: 'send_message', every: '1h', on: 'schedulezero' } } });
    expect(answer.body.reply?.content).toMatch(/needs schedulezero\.api_endpoint/);
  });
});
