import { DiscordAPIError, Events, type ApplicationCommandDataResolvable, MessageFlags, PermissionFlagsBits, type ChatInputCommandInteraction, type Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvokeResult, SandboxState } from '../../src/sandbox/index.ts';
import { connectClient, getJson, postJson, startSandbox, type StartedSandbox } from '../helpers/sandbox.ts';

let started: StartedSandbox;
let client: Client<true>;
/** What the bot's handler saw or suffered, by interaction ID. */
const seen = new Map<string, { interaction: ChatInputCommandInteraction; lateError?: unknown }>();

// The bot under test: one behaviour per command, written with the plain discord.js API.
async function handle(interaction: ChatInputCommandInteraction): Promise<void> {
  const entry: { interaction: ChatInputCommandInteraction; lateError?: unknown } = { interaction };
  seen.set(interaction.id, entry);
  switch (interaction.commandName) {
    case 'ping':
      await interaction.reply({ content: 'pong', embeds: [{ title: 'Listener', description: 'running', color: 0x57f287 }] });
      return;
    case 'slow':
      await interaction.deferReply();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await interaction.editReply({ content: 'done after a while' });
      return;
    case 'multi':
      await interaction.reply('first');
      await interaction.followUp('second');
      await interaction.followUp({ content: 'third (only you)', flags: MessageFlags.Ephemeral });
      return;
    case 'secret':
      await interaction.reply({ content: 'for your eyes only', flags: MessageFlags.Ephemeral });
      return;
    case 'admin-only': {
      const admin = interaction.memberPermissions?.has(PermissionFlagsBits.Administrator) === true;
      await interaction.reply({ content: admin ? 'restarting' : 'administrators only', flags: admin ? undefined : MessageFlags.Ephemeral });
      return;
    }
    case 'echo': {
      const who = interaction.options.getUser('who', true);
      await interaction.reply(`${interaction.options.getString('text', true)} for ${who.username} x${interaction.options.getInteger('times') ?? 1}`);
      return;
    }
    case 'silent':
      // Answers after Discord's 3 s (here: the sandbox's shortened ack timeout) has passed.
      await new Promise((resolve) => setTimeout(resolve, 700));
      entry.lateError = await interaction.reply('too late').catch((e: unknown) => e);
      return;
  }
}

beforeAll(async () => {
  started = await startSandbox({ interactions: { ackTimeoutMs: 500, replyTimeoutMs: 5000, settleMs: 150 } });
  client = await connectClient(started.address);
  client.on(Events.InteractionCreate, (interaction) => {
    if (interaction.isChatInputCommand()) void handle(interaction);
  });
});

afterAll(async () => {
  await client?.destroy();
  await started?.sandbox.stop();
});

/** The bot's guild commands, as it registers them. */
const definitions: ApplicationCommandDataResolvable[] = [
  { name: 'ping', description: 'Is the listener alive?' },
  { name: 'slow', description: 'Deferred reply' },
  { name: 'multi', description: 'Reply and follow-ups' },
  { name: 'secret', description: 'Ephemeral reply' },
  { name: 'admin-only', description: 'Administrators only', defaultMemberPermissions: PermissionFlagsBits.Administrator },
  {
    name: 'echo',
    description: 'Echo with options',
    options: [
      { type: 3, name: 'text', description: 'what to say', required: true },
      { type: 6, name: 'who', description: 'for whom', required: true },
      { type: 4, name: 'times', description: 'how often' },
    ],
  },
  { name: 'silent', description: 'Never answers in time' },
];

async function invoke(body: Record<string, unknown>): Promise<{ status: number; body: InvokeResult & { error?: string } }> {
  return postJson<InvokeResult & { error?: string }>(`${started.address.url}/sandbox/interactions`, body);
}

describe('sandbox slash commands', () => {
  it('registers guild commands (PUT) and returns ids and options arrays as Discord does; GET /sandbox/state lists them', async () => {
    const guildId = client.guilds.cache.first()!.id;
    const commands = await client.application.commands.set(definitions, guildId);
    expect(commands.size).toBe(7);
    const echo = commands.find((c) => c.name === 'echo')!;
    expect(echo.id).toMatch(/^\d{17,20}$/);
    expect(echo.guildId).toBe(guildId);
    expect(echo.options.map((o) => [o.name, o.type, 'required' in o ? o.required : undefined])).toEqual([
      ['text', 3, true],
      ['who', 6, true],
      ['times', 4, false],
    ]);
    expect(commands.find((c) => c.name === 'admin-only')!.defaultMemberPermissions?.has(PermissionFlagsBits.Administrator)).toBe(true);
    // Re-registering keeps each command's ID, as Discord does.
    const again = await client.application.commands.set([...definitions].reverse(), guildId);
    expect(again.find((c) => c.name === 'ping')!.id).toBe(commands.find((c) => c.name === 'ping')!.id);
    const state = await getJson<SandboxState>(`${started.address.url}/sandbox/state`);
    expect(state.commands.guild.map((c) => (c as { name: string }).name).sort()).toEqual(['admin-only', 'echo', 'multi', 'ping', 'secret', 'silent', 'slow']);
  });

  it('registers global commands too, and refuses an invalid command name with 50035', async () => {
    const global = await client.application.commands.set([{ name: 'zmq_status', description: 'Listener status' }]);
    expect(global.first()!.guildId).toBeNull();
    const err = await client.application.commands.create({ name: 'Bad Name', description: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).code).toBe(50035);
  });

  it('reply: returns the bot\'s content and embed, and posts it in the channel', async () => {
    const { status, body } = await invoke({ command: 'ping', member: { permissions: '8' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ acknowledged: true, response_type: 4, deferred: false, ephemeral: false, reply: { content: 'pong', embeds: [{ title: 'Listener', description: 'running' }] }, followUps: [] });
    const inChannel = started.sandbox.messages(body.channel_id).find((m) => m.id === body.reply!.id);
    expect(inChannel?.interaction).toMatchObject({ command: 'ping', user: { username: 'alice' } });
  });

  it('deferReply + editReply: waits for the edit of @original and returns the final content', async () => {
    const { body } = await invoke({ command: 'slow' });
    expect(body).toMatchObject({ acknowledged: true, response_type: 5, deferred: true, reply: { content: 'done after a while', edited: false } });
    expect(body.error).toBeUndefined();
  });

  it('reply + followUp + ephemeral followUp: every message is returned, the ephemeral one flagged and kept out of channel history', async () => {
    const { body } = await invoke({ command: 'multi' });
    expect(body.reply?.content).toBe('first');
    expect(body.followUps.map((f) => [f.content, f.ephemeral])).toEqual([
      ['second', false],
      ['third (only you)', true],
    ]);
    const channel = client.channels.cache.get(body.channel_id);
    if (!channel?.isTextBased()) throw new Error('no channel');
    const history = await channel.messages.fetch({ limit: 10, cache: false });
    expect(history.map((m) => m.content)).toContain('second');
    expect(history.map((m) => m.content)).not.toContain('third (only you)');
  });

  it('ephemeral reply: flagged ephemeral (flags 64)', async () => {
    const { body } = await invoke({ command: 'secret' });
    expect(body).toMatchObject({ ephemeral: true, reply: { content: 'for your eyes only', ephemeral: true } });
    expect(body.reply!.flags & 64).toBe(64);
  });

  it('passes the member\'s permissions: Administrator ("8") versus none ("0")', async () => {
    expect((await invoke({ command: 'admin-only', member: { permissions: '8' } })).body.reply?.content).toBe('restarting');
    const denied = (await invoke({ command: 'admin-only', member: { permissions: '0' } })).body;
    expect(denied).toMatchObject({ ephemeral: true, reply: { content: 'administrators only' } });
  });

  it('passes options, resolving a user option for the bot, and refuses a missing required option', async () => {
    const state = await getJson<SandboxState>(`${started.address.url}/sandbox/state`);
    const bob = state.members.find((m) => m.username === 'bob')!;
    const { body } = await invoke({ command: 'echo', options: { text: 'hello', who: bob.id, times: 2 } });
    expect(body.reply?.content).toBe('hello for bob x2');
    const missing = await invoke({ command: 'echo', options: { text: 'hello' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toContain('"who" is required');
  });

  it('an interaction not acknowledged in time reports "The application did not respond", and the late reply fails with 10062', async () => {
    const { body } = await invoke({ command: 'silent' });
    expect(body).toMatchObject({ acknowledged: false, reply: null, error: 'The application did not respond' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const late = seen.get(body.interaction_id)?.lateError;
    expect(late).toBeInstanceOf(DiscordAPIError);
    expect((late as DiscordAPIError).code).toBe(10062);
  });

  it('an unknown command is a 404 naming it', async () => {
    const { status, body } = await invoke({ command: 'nope' });
    expect(status).toBe(404);
    expect(body.error).toContain('"nope"');
  });
});
