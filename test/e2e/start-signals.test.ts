import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runtimeFlags } from '../../bin/runtime-flags.js';
import type { EventPublisher } from '../../src/transport/publisher.ts';
import { commandLine, processTree, startBot, type BotProcess, type StartVia } from '../helpers/bot-process.ts';
import { publishedConfig } from '../helpers/bot-config.ts';
import { channels } from '../helpers/bot.ts';
import { eventsCarried } from '../helpers/embed-checks.ts';
import { followMessages } from '../helpers/message-feed.ts';
import { postJson } from '../helpers/sandbox.ts';
import { runCli } from '../helpers/transport.ts';

// How the bot hears SIGTERM and SIGINT however it was started: under `npm start` (npm forwards the
// signal; the script execs node, so no shell swallows it), as the bare bin (the launcher relaunches
// node with the V8 flags and forwards signals), and as a terminal's Ctrl-C (the whole group).

const wait = { timeout: 20_000, interval: 50 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A bot started `via`, subscribed to a publisher, with its sandbox's message feed followed. */
async function startWatchedBot(via: StartVia, options: { detached?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const { pub, configPath, remove } = await publishedConfig({ src: 'sched-signals' });
  cleanups.push(remove);
  const proc = await startBot(configPath, { via, detached: options.detached, env: { DISCORD_TOKEN: '', ZMQ_NOTIFY_SANDBOX_TOKEN: '', ...options.env } });
  cleanups.push(() => {
    for (const pid of processTree(proc.child.pid ?? 0).reverse()) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  const started = await proc.waitForLine((l) => typeof l.sandbox === 'string');
  const sandboxUrl = String(started.sandbox).replace(/\/$/, '');
  const feed = followMessages(sandboxUrl);
  expect(await pub.waitForSubscriber(20_000, 'job.')).toBe(true);
  return { proc, pub, sandboxUrl, feed };
}

/** Holds 6 job.failed alerts in the Outbox behind a 429 (retry after 2 s) so a signal finds them pending. */
async function holdAlerts(proc: BotProcess, pub: EventPublisher, sandboxUrl: string, prefix: string): Promise<void> {
  const fault = await postJson(`${sandboxUrl}/sandbox/faults`, { channel_id: channels.job_failed, status: 429, count: 1, retry_after: 2 });
  expect(fault.status).toBe(201);
  for (let i = 1; i <= 6; i++) await pub.publish('job.failed', { job_id: `${prefix}-${i}`, job_name: 'etl', error: 'boom' });
  await vi.waitFor(async () => {
    const m = await proc.metrics();
    expect(m.get('zmq_notify_events_to_outbox_total')).toBe(6);
    expect(m.get('zmq_notify_outbox_pending')).toBeGreaterThan(0);
  }, wait);
}

type Feed = ReturnType<typeof followMessages>;

/** Alerts the sandbox has shown in the failure channel so far. */
function alertsPosted(feed: Feed): number {
  return eventsCarried(feed.messages.filter((m) => m.author.bot && m.interaction === undefined && m.channel_id === channels.job_failed));
}

/** Every one of the 6 alerts reached the sandbox, though fewer had when the signal was sent, and the bot said it drained. */
async function expectDrained(proc: BotProcess, feed: Feed, postedAtSignal: number): Promise<void> {
  expect(postedAtSignal).toBeLessThan(6);
  await feed.ended;
  expect(alertsPosted(feed)).toBe(6);
  const stopped = proc.lines().find((l) => l.msg === 'bot stopped: queue and Outbox drained');
  expect(stopped).toMatchObject({ drained: true, outbox: { drained: true, abandoned: 0 } });
  expect(proc.lines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('second '))).toBe(false);
}

describe('zmq-notify start: signals reach the bot', () => {
  it('`npm start` plus SIGTERM to npm: npm runs node itself (no shell between), the bot posts the 6 alerts it held and npm exits 0', async () => {
    const { proc, pub, sandboxUrl, feed } = await startWatchedBot('npm start');
    const npmPid = proc.child.pid ?? 0;
    // npm's one child is the bot, given the runtime flags by the start script (no relaunch).
    const below = processTree(npmPid).slice(1);
    expect(below).toHaveLength(1);
    const bot = commandLine(below[0] ?? 0);
    expect(bot.slice(1, 1 + runtimeFlags.length)).toEqual([...runtimeFlags]);
    expect(bot).toContain('bin/zmq-notify.js');
    await holdAlerts(proc, pub, sandboxUrl, 'npm');

    const postedAtSignal = alertsPosted(feed);
    process.kill(npmPid, 'SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    await expectDrained(proc, feed, postedAtSignal);
  });

  it('a Ctrl-C under `npm start` (SIGINT to the whole process group, which npm forwards once more) still drains and exits 0, not 130', async () => {
    const { proc, pub, sandboxUrl, feed } = await startWatchedBot('npm start', { detached: true });
    await holdAlerts(proc, pub, sandboxUrl, 'ctrlc');

    const postedAtSignal = alertsPosted(feed);
    process.kill(-(proc.child.pid ?? 0), 'SIGINT');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    await expectDrained(proc, feed, postedAtSignal);
  });

  it('the bare bin relaunches node with the V8 flags; SIGTERM to the launcher reaches the bot, which drains, and the launcher exits 0', async () => {
    const { proc, pub, sandboxUrl, feed } = await startWatchedBot('launcher');
    const launcher = proc.child.pid ?? 0;
    expect(commandLine(launcher)).not.toContain(runtimeFlags[0]);
    const below = processTree(launcher).slice(1);
    expect(below).toHaveLength(1);
    expect(commandLine(below[0] ?? 0)).toEqual(expect.arrayContaining([...runtimeFlags]));
    await holdAlerts(proc, pub, sandboxUrl, 'bin');

    const postedAtSignal = alertsPosted(feed);
    process.kill(launcher, 'SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    await expectDrained(proc, feed, postedAtSignal);
  });

  it('a launcher killed with SIGKILL leaves no bot running unseen: the bot drains and exits', async () => {
    const { proc, pub, sandboxUrl, feed } = await startWatchedBot('launcher');
    const [launcher, bot] = processTree(proc.child.pid ?? 0);
    expect(bot).toBeDefined();
    await holdAlerts(proc, pub, sandboxUrl, 'orphan');

    const postedAtSignal = alertsPosted(feed);
    process.kill(launcher ?? 0, 'SIGKILL');
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await vi.waitFor(() => expect(alive(bot ?? 0)).toBe(false), wait);
    // The bot kept writing to the same stdout pipe after its launcher died.
    await expectDrained(proc, feed, postedAtSignal);
  });
});

describe('zmq-notify start under npx', () => {
  it("a SIGTERM that kills only npx's `sh -c` (the shell does not pass it on): the bot sees its parent gone, posts the 6 alerts it held and exits", async () => {
    // npm sets npm_lifecycle_event for what it runs; outside npm a lost parent means nothing.
    const { proc, pub, sandboxUrl, feed } = await startWatchedBot('npx', { env: { npm_lifecycle_event: 'npx' } });
    const [shell, launcher, bot] = processTree(proc.child.pid ?? 0);
    expect(commandLine(shell ?? 0)[0]).toBe('sh');
    expect(commandLine(bot ?? 0)).toEqual(expect.arrayContaining([...runtimeFlags]));
    await holdAlerts(proc, pub, sandboxUrl, 'npx');

    const postedAtSignal = alertsPosted(feed);
    process.kill(shell ?? 0, 'SIGTERM');
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGTERM' });
    await vi.waitFor(() => expect([launcher, bot].filter((pid) => alive(pid ?? 0))).toEqual([]), wait);
    await expectDrained(proc, feed, postedAtSignal);
  });
});

describe('zmq-notify --version', () => {
  it('prints the version in package.json and exits 0 (--version and -V); a misspelt --versoin exits 2', async () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(await runCli(['-V'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect((await runCli(['--versoin'])).code).toBe(2);
  });
});
