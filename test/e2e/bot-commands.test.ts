import { Events, MessageFlags, type APIEmbed, type Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as zmq from 'zeromq';
import { interactionRouter, type SlashCommand } from '../../src/discord/commands/index.ts';
import type { DiscordExtensions } from '../../src/discord/module-context.ts';
import { defineModule } from '../../src/pipeline/module.ts';
import type { SandboxState } from '../../src/sandbox/index.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { deferred } from '../helpers/pipeline.ts';
import { channels, embedsOf, embedText, startTestBot, type TestBot } from '../helpers/bot.ts';
import { connectClient, getJson, postJson, startSandbox, type StartedSandbox } from '../helpers/sandbox.ts';

const wait = { timeout: 20_000, interval: 50 };

// A handler for test.block that holds the (concurrency 1) dispatcher until the test opens the gate,
// so events pile up in the queue and the counts stay still while they are compared.
let gate = deferred();
const blocker = defineModule<DiscordExtensions>({
  name: 'test-blocker',
  setup(ctx) {
    ctx.on('test.block', () => gate.promise);
  },
});

let t: TestBot;
let pub: EventPublisher;
let raw: zmq.Publisher;

beforeAll(async () => {
  t = await startTestBot({
    config: { topics: ['job.', 'scheduler.', 'test.'], dispatcher: { concurrency: 1, handler_timeout_ms: 60_000 } },
    modules: [blocker],
  });
  pub = new EventPublisher({ endpoint: t.endpoints.pub, src: 'sched-cmd', lingerMs: 1_000 });
  await pub.open();
  raw = new zmq.Publisher({ linger: 0 });
  await raw.bind(t.endpoints.raw);
  expect(await pub.waitForSubscriber(20_000, 'test.')).toBe(true);
});

afterAll(async () => {
  gate.resolve();
  raw?.close();
  await pub?.close();
  await t?.close();
});

function field(embed: APIEmbed, name: string): string {
  return embed.fields?.find((f) => f.name === name || f.name.startsWith(`${name} (`))?.value ?? '';
}

function num(text: string | undefined): number {
  return Number((text ?? 'NaN').replaceAll(',', ''));
}

// What the listener logged while `action` ran: a restart closes the socket and opens a new one.
async function restartStates(action: () => Promise<void>): Promise<string[]> {
  const before = t.logs().length;
  await action();
  return t
    .logs()
    .slice(before)
    .map((line) => line.msg)
    .filter((msg): msg is string => typeof msg === 'string' && (msg === 'ZeroMQ subscriber stopped' || msg === 'ZeroMQ subscriber started' || msg.startsWith('ZeroMQ subscriber restarted')));
}

describe('Bot slash commands through POST /sandbox/interactions', () => {
  it('/zmq_status answers ephemerally with the numbers /metrics shows (6 events + one-frame malformed messages, then a blocked handler and 4 queued)', async () => {
    for (let i = 0; i < 5; i++) await pub.publish('job.executed', { job_id: `ok-${i}` });
    await pub.publish('job.failed', { job_id: 'status-fail', job_name: 'etl', error: 'boom' });
    // A one-frame message cannot be salvaged: received and dropped as malformed. The raw socket gets
    // its subscriptions asynchronously, so it resends until one is counted.
    await vi.waitFor(async () => {
      await raw.send(['job.only-a-topic']);
      expect((await t.metrics()).get('zmq_notify_events_dropped_total{reason="malformed"}')).toBeGreaterThan(0);
    }, wait);
    await pub.publish('test.block', {});
    for (let i = 0; i < 4; i++) await pub.publish('job.executed', { job_id: `queued-${i}` });
    await vi.waitFor(async () => expect((await t.metrics()).get('zmq_notify_queue_depth')).toBe(4), wait);

    const { status, body } = await t.invoke({ command: 'zmq_status' });
    const metrics = await t.metrics();
    expect(status).toBe(200);
    expect(body.ephemeral).toBe(true);
    expect(body.reply?.ephemeral).toBe(true);
    expect((body.reply?.flags ?? 0) & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    const embed = body.reply?.embeds[0] as APIEmbed;
    expect(embed.title).toBe('zmq-notify status');

    const events = field(embed, 'Events');
    const counts = /received ([\d,]+) · dispatched ([\d,]+) · queued ([\d,]+)/.exec(events);
    const dropped = /dropped ([\d,]+)(?: \(([^)]*)\))?/.exec(events);
    expect(num(counts?.[1])).toBe(metrics.sum('zmq_notify_events_received_total'));
    expect(num(counts?.[2])).toBe(metrics.get('zmq_notify_events_dispatched_total'));
    expect(num(counts?.[3])).toBe(metrics.get('zmq_notify_queue_depth'));
    expect(num(dropped?.[1])).toBe(metrics.sum('zmq_notify_events_dropped_total'));
    expect(dropped?.[2]).toBe(`malformed ${metrics.get('zmq_notify_events_dropped_total{reason="malformed"}')}`);
    expect(num(/^([\d,]+) \/ ([\d,]+)/.exec(field(embed, 'Queue'))?.[1])).toBe(4);
    expect(num(/^([\d,]+) \/ ([\d,]+)/.exec(field(embed, 'Queue'))?.[2])).toBe(metrics.get('zmq_notify_queue_capacity'));
    // The counts hold together: received = dispatched + dropped + queued.
    expect(num(counts?.[1])).toBe(num(counts?.[2]) + num(dropped?.[1]) + num(counts?.[3]));

    expect(field(embed, 'Listener')).toContain(`${t.endpoints.pub}\` connected`);
    expect(field(embed, 'Topics')).toBe('`job.` `scheduler.` `test.`');
    expect(field(embed, 'Publishers')).toMatch(/`sched-cmd` seq 11 /);
    expect(field(embed, 'Handlers')).toContain('test-blocker');
    expect(field(embed, 'Outbox')).toMatch(/^\d+ pending/);
    gate.resolve();
    await vi.waitFor(async () => expect((await t.metrics()).get('zmq_notify_queue_depth')).toBe(0), wait);
  });

  it('/zmq_restart as a non-administrator (permissions "0") is refused politely and ephemerally, logged with the user, and the listener is not restarted', async () => {
    const state = await getJson<SandboxState>(`${t.sandboxUrl}/sandbox/state`);
    const alice = state.members.find((m) => m.username === 'alice');
    let reply: Awaited<ReturnType<TestBot['invoke']>> | undefined;
    const states = await restartStates(async () => {
      reply = await t.invoke({ command: 'zmq_restart', member: { permissions: '0' } });
    });
    expect(reply?.status).toBe(200);
    expect(reply?.body.ephemeral).toBe(true);
    expect(reply?.body.reply?.content).toMatch(/^Sorry, only server administrators can restart the listener/);
    expect(states).toEqual([]);
    expect(t.bot.app.status().listener).toMatchObject({ state: 'running', restarts: 0 });
    expect(t.logs()).toContainEqual(expect.objectContaining({ level: 40, command: 'zmq_restart', userId: alice?.id, user: 'alice', msg: 'refused /zmq_restart for alice: not an administrator' }));
  });

  it('/zmq_restart as an administrator (permissions "8") hands over to a new socket in one plain (not deferred) reply, keeps the 3 queued events, and events sent after it arrive', async () => {
    gate = deferred();
    const dispatchedBefore = (await t.metrics()).get('zmq_notify_events_dispatched_total');
    await pub.publish('test.block', {});
    for (let i = 0; i < 3; i++) await pub.publish('job.executed', { job_id: `kept-${i}` });
    await vi.waitFor(async () => expect((await t.metrics()).get('zmq_notify_queue_depth')).toBe(3), wait);

    let reply: Awaited<ReturnType<TestBot['invoke']>> | undefined;
    const states = await restartStates(async () => {
      reply = await t.invoke({ command: 'zmq_restart', member: { permissions: '8' } });
    });
    expect(reply?.status).toBe(200);
    expect(reply?.body.deferred).toBe(false);
    const embed = reply?.body.reply?.embeds[0] as APIEmbed;
    expect(embed.title).toBe('ZeroMQ listener restarted');
    expect(embed.description).toMatch(/State: \*\*running\*\* · took [\d.]+ (ms|s)/);
    expect(embed.description).toContain(`🟢 \`${t.endpoints.pub}\` connected`);
    expect(embed.description).toMatch(/Kept: 3 queued event\(s\), \d+ read from the old socket before it closed, \d+ received by the new one meanwhile/);
    expect(embed.description).toContain('nothing in flight was dropped');
    expect(embed.description).toContain('No sequence gap');
    // The new socket came in beside the old one: the listener never stopped.
    expect(states).toEqual([expect.stringMatching(/^ZeroMQ subscriber restarted with a new socket \(handover: (caught-up|quiet)\)$/)]);
    expect(t.bot.app.status().listener).toMatchObject({ state: 'running', restarts: 1 });

    gate.resolve();
    await vi.waitFor(async () => expect((await t.metrics()).get('zmq_notify_events_dispatched_total')).toBe(dispatchedBefore + 4), wait);
    expect(await pub.waitForSubscriber(20_000, 'job.failed')).toBe(true);
    await pub.publish('job.failed', { job_id: 'after-restart', job_name: 'etl', error: 'still failing' });
    await vi.waitFor(async () => expect(embedsOf(await t.messages(channels.job_failed)).some((e) => embedText(e).includes('after-restart'))).toBe(true), wait);
  });

  it('a command the bot does not have (zmq_unknown, registered behind its back) gets an ephemeral answer instead of a hanging interaction', async () => {
    const client = t.bot.client as Client<true>;
    await client.application.commands.create({ name: 'zmq_unknown', description: 'not one of the bot\'s' }, client.guilds.cache.first()?.id ?? '');
    const { status, body } = await t.invoke({ command: 'zmq_unknown' });
    expect(status).toBe(200);
    expect(body.ephemeral).toBe(true);
    expect(body.reply?.content).toContain('This bot has no command /zmq_unknown');
  });
});

describe('interactionRouter with a command that throws (its own sandbox and client)', () => {
  let started: StartedSandbox;
  let client: Client<true>;
  const explode: SlashCommand = {
    data: { name: 'explode', description: 'throws before answering' },
    execute: () => Promise.reject(new Error('kaboom before reply')),
  };
  const explodeLate: SlashCommand = {
    data: { name: 'explode_late', description: 'defers, then throws' },
    async execute(interaction) {
      await interaction.deferReply();
      throw new Error('kaboom after defer');
    },
  };

  beforeAll(async () => {
    started = await startSandbox();
    client = await connectClient(started.address);
    const route = interactionRouter({ app: t.bot.app, outbox: t.bot.outbox, metrics: t.bot.metrics, logger: t.bot.logger }, [explode, explodeLate]);
    client.on(Events.InteractionCreate, (interaction) => void route(interaction));
    await client.application.commands.set([explode.data, explodeLate.data], client.guilds.cache.first()?.id ?? '');
  });

  afterAll(async () => {
    await client?.destroy();
    await started?.sandbox.stop();
  });

  it('throwing before any reply: answers with an ephemeral error naming the command and the message', async () => {
    const { status, body } = await postJson<{ ephemeral: boolean; reply: { content: string } | null }>(`${started.address.url}/sandbox/interactions`, { command: 'explode' });
    expect(status).toBe(200);
    expect(body.ephemeral).toBe(true);
    expect(body.reply?.content).toBe('/explode failed: kaboom before reply');
  });

  it('throwing after deferReply: the deferred reply is filled in with the error', async () => {
    const { status, body } = await postJson<{ deferred: boolean; reply: { content: string } | null }>(`${started.address.url}/sandbox/interactions`, { command: 'explode_late' });
    expect(status).toBe(200);
    expect(body.deferred).toBe(true);
    expect(body.reply?.content).toBe('/explode_late failed: kaboom after defer');
  });
});
