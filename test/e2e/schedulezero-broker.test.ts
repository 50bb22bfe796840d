import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIEmbed } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageView } from '../../src/sandbox/index.ts';
import { startBot, type BotProcess } from '../helpers/bot-process.ts';
import { embedText, startTestBot } from '../helpers/bot.ts';
import { startPythonBroker, type PythonBroker } from '../helpers/schedulezero-broker.ts';
import { getJson, postJson } from '../helpers/sandbox.ts';
import { repoRoot } from '../helpers/transport.ts';

const wait = { timeout: 20_000, interval: 100 };
// The seed's own channel IDs (config/examples/schedulezero-cog.yaml, unquoted in the file).
const seedChannels = { job_failed: '1234567890123456789', job_executed: '1234567890123456790', handler_status: '1234567890123456791' };

let py: PythonBroker;
let bot: BotProcess;
let sandboxUrl = '';
let dir = '';

async function embeds(channelId: string): Promise<APIEmbed[]> {
  const messages = await getJson<MessageView[]>(`${sandboxUrl}/sandbox/messages?channel_id=${channelId}`);
  return messages.flatMap((m) => m.embeds);
}

async function titles(channelId: string): Promise<string[]> {
  return (await embeds(channelId)).map((e) => e.title ?? '');
}

beforeAll(async () => {
  py = await startPythonBroker();
  dir = mkdtempSync(join(tmpdir(), 'zmq-notify-sz-'));
  // The seed's listener file as its users wrote it, pointed at the broker; only the sandbox and HTTP
  // ports (free ones) and a short watchdog are added.
  const seed = readFileSync(join(repoRoot, 'config/examples/schedulezero-cog.yaml'), 'utf8');
  expect(seed).toContain('zmq_pub_address: "tcp://127.0.0.1:4243"');
  const config = [
    seed.replace('zmq_pub_address: "tcp://127.0.0.1:4243"', `zmq_pub_address: "${py.pub}"`),
    'sandbox: { host: 127.0.0.1, port: 0 }',
    'http: { host: 127.0.0.1, port: 0 }',
    'alerts: { heartbeat_timeout_s: 1.5 }',
    'subscriber: { reconnect_interval_ms: 50, reconnect_max_interval_ms: 200 }',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'config.yaml'), config);
  // A host in India (UTC+5:30): a naive timestamp must still be read as UTC.
  bot = await startBot(join(dir, 'config.yaml'), { env: { DISCORD_TOKEN: '', ZMQ_NOTIFY_SANDBOX_TOKEN: '', TZ: 'Asia/Kolkata' } });
  const started = await bot.waitForLine((l) => typeof l.sandbox === 'string');
  sandboxUrl = String(started.sandbox).replace(/\/$/, '');
});

afterAll(async () => {
  if (bot && bot.child.exitCode === null) {
    bot.child.kill('SIGTERM');
    await bot.exited;
  }
  await py?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the seed config against a pyzmq process sending ScheduleZero broker messages (bot child process, TZ=Asia/Kolkata)', () => {
  it('posts one failure alert per failed job (message and traceback), job.missed, "recovered" on the next success, nothing for bookkeeping events; broken messages are counted by kind', async () => {
    await py.send({ op: 'heartbeats', interval: 0.2 });
    const health = () => getJson<{ publishers: { src: string; loss_detection: string; lost: number | null }[]; listener: { connected: string[] } }>(`${bot.url}/healthz`);
    await vi.waitFor(async () => expect((await health()).publishers.map((p) => p.src)).toContain(py.instanceId), wait);

    const a = 'backup-handler_run_backup_1764581400.123456';
    const b = 'report-handler_build_report_1764581401.5';
    const now = new Date().toISOString().replace('Z', '000+00:00');
    await py.send({ op: 'event', class: 'ScheduleAdded', body: { timestamp: now, schedule_id: a, task_id: 'job_executor', next_fire_time: now } });
    await py.send({ op: 'event', class: 'JobAdded', body: { timestamp: now, job_id: 'c0ffee00-0000-4000-8000-000000000001', task_id: 'job_executor', schedule_id: a } });
    await py.send({ op: 'event', class: 'JobAcquired', body: { timestamp: now, job_id: 'c0ffee00-0000-4000-8000-000000000001', scheduler_id: 'h', task_id: 'job_executor', schedule_id: a, scheduled_start: now } });
    await py.send({ op: 'released', schedule_id: a, outcome: 'error', error: "[Errno 28] No space left on device: '/var/backups/データ'" });
    await py.send({ op: 'released', schedule_id: b, outcome: 'error', error: 'Request timeout: build_report' });
    await py.send({ op: 'event', class: 'JobExploded', body: { timestamp: now } });
    await py.send({ op: 'raw_payload', payload: 'Sm9iUmVsZWFzZWQge30*!' });
    await py.send({ op: 'raw_payload', payload: Buffer.from('JobReleased {"timestamp": 2026-12-01').toString('base64') });
    await py.send({ op: 'released', schedule_id: 'nightly_cleanup_1', outcome: 'missed_start_deadline' });

    await vi.waitFor(async () => expect(await titles(seedChannels.job_failed)).toHaveLength(3), wait);
    await py.send({ op: 'released', schedule_id: a, outcome: 'success' });
    await vi.waitFor(async () => expect(await titles(seedChannels.job_failed)).toHaveLength(4), wait);

    const failures = await embeds(seedChannels.job_failed);
    expect(failures.map((e) => e.title).sort()).toEqual(
      [`❌ Job failed: ${a}`, `❌ Job failed: ${b}`, '⏰ Job missed: nightly_cleanup_1', `✅ Job recovered: ${a}`].sort(),
    );
    const alertA = failures.find((e) => e.title === `❌ Job failed: ${a}`) as APIEmbed;
    expect(alertA.fields?.find((f) => f.name === 'Error')?.value).toBe("Exception: Handler returned error: [Errno 28] No space left on device: '/var/backups/データ'");
    expect(alertA.description).toMatch(/^```py\n {2}File ".*schedulezero_broker\.py", line \d+, in job_released\n/);
    expect(alertA.description).toContain('raise Exception(message)');
    expect(embedText(alertA)).toContain('src scheduler-');
    const alertB = failures.find((e) => e.title === `❌ Job failed: ${b}`) as APIEmbed;
    expect(embedText(alertB)).toContain('Exception: Handler returned error: Request timeout: build_report');
    const missed = failures.find((e) => e.title?.startsWith('⏰')) as APIEmbed;
    expect(missed.description).toMatch(/^This run never started \(it was due <t:\d+:f> \(<t:\d+:R>\)\): it missed its start deadline\.$/);
    const recovered = failures.find((e) => e.title === `✅ Job recovered: ${a}`) as APIEmbed;
    expect(embedText(recovered)).toContain('No space left on device');

    // The success is a job.executed notice; ScheduleAdded (job.scheduled), JobAdded and JobAcquired are debug: not posted.
    await vi.waitFor(async () => expect(await titles(seedChannels.job_executed)).toEqual([`✅ Job executed: ${a}`]), wait);

    const metrics = await bot.metrics();
    // Delivered and counted, not posted: job.scheduled (ScheduleAdded), job.added (JobAdded), job.started (JobAcquired).
    expect(metrics.get('zmq_notify_events_skipped_total{reason="filtered",route="job_notices"}')).toBe(3);
    expect(metrics.get('zmq_notify_events_received_total{topic_prefix="job."}')).toBe(7);
    expect(metrics.get('zmq_notify_frames_malformed_total{kind="unknown_event_class"}')).toBe(1);
    expect(metrics.get('zmq_notify_frames_malformed_total{kind="bad_base64"}')).toBe(1);
    expect(metrics.get('zmq_notify_frames_malformed_total{kind="invalid_notification"}')).toBe(1);
    const warned = bot.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('malformed ZeroMQ message'));
    expect(warned.map((l) => l.kind).sort()).toEqual(['bad_base64', 'invalid_notification', 'unknown_event_class']);

    // No sequence numbers: loss detection is reported unavailable, not "0 lost".
    const publisher = (await health()).publishers.find((p) => p.src === py.instanceId);
    expect(publisher).toMatchObject({ loss_detection: 'unavailable: this publisher sends no sequence numbers', lost: null });
    const status = await postJson<{ reply?: { embeds: APIEmbed[] } }>(`${sandboxUrl}/sandbox/interactions`, { command: 'zmq_status' });
    const statusText = embedText(status.body.reply?.embeds[0] as APIEmbed);
    expect(statusText).toContain(`\`${py.instanceId}\` no sequence numbers (loss detection unavailable)`);
    expect(statusText).toContain('loss detection unavailable');
  });

  it('a naive scheduler.started time (catalog message on the same endpoint) is shown as UTC on a host in TZ=Asia/Kolkata', async () => {
    await py.send({ op: 'catalog', topic: 'scheduler.started', payload: { deployment: 'clock', timestamp: '2026-03-01T12:00:00' } });
    await vi.waitFor(async () => expect((await embeds(seedChannels.handler_status)).some((e) => e.title?.includes('clock'))).toBe(true), wait);
    const started = (await embeds(seedChannels.handler_status)).find((e) => e.title?.includes('clock')) as APIEmbed;
    // Read as host-local time it would be 06:30 UTC.
    expect(Date.parse(started.timestamp ?? '')).toBe(Date.UTC(2026, 2, 1, 12, 0, 0));
  });

  it('"scheduler silent" when the broker\'s heartbeats stop (alerts.heartbeat_timeout_s 1.5), naming its instance_id', async () => {
    await py.send({ op: 'heartbeats', interval: 0 });
    await vi.waitFor(async () => expect((await titles(seedChannels.handler_status)).filter((t) => t.includes('silent'))).toHaveLength(1), wait);
    const silent = (await embeds(seedChannels.handler_status)).find((e) => e.title?.includes('silent')) as APIEmbed;
    expect(silent.title).toBe(`⚠️ Scheduler silent: ${py.instanceId}`);
    // What reached the sandbox in all: 4 in the failure channel, 1 notice, the scheduler start and the silence.
    expect(await titles(seedChannels.job_failed)).toHaveLength(4);
    expect(await titles(seedChannels.job_executed)).toHaveLength(1);
    expect(await titles(seedChannels.handler_status)).toHaveLength(2);
  });
});

describe('the bot pointed at a REP socket (ScheduleZero\'s registration server)', () => {
  it('says so in the log, /healthz (503, with the reason) and /zmq_status: which endpoint, not a PUB socket, the broker\'s default tcp://…:5555', async () => {
    const rep = await startPythonBroker({ rep: true });
    const t = await startTestBot({ config: { zmq_pub_address: [rep.rep as string] } });
    try {
      const endpoint = rep.rep as string;
      const health = async () => {
        const res = await fetch(`${t.bot.httpUrl}/healthz`);
        return { code: res.status, body: (await res.json()) as { status: string; reasons: string[]; listener: { connected: string[]; problems: { endpoint: string; message: string }[] } } };
      };
      await vi.waitFor(async () => expect((await health()).code).toBe(503), wait);
      const { body } = await health();
      expect(body.status).toBe('unavailable');
      expect(body.listener.connected).toEqual([]);
      expect(body.listener.problems.map((p) => p.endpoint)).toEqual([endpoint]);
      expect(body.reasons).toHaveLength(1);
      expect(body.reasons[0]).toContain(`${endpoint} is not a ZeroMQ PUB socket`);
      expect(body.reasons[0]).toContain("ScheduleZero's event broker publishes on tcp://127.0.0.1:5555 by default");

      const logged = t.logs().filter((l) => l.level === 50 && l.endpoint === endpoint);
      expect(logged).toHaveLength(1);
      expect(logged[0]?.msg).toBe(body.reasons[0]);
      expect(t.logs().some((l) => l.msg === 'ZeroMQ publisher connected')).toBe(false);

      const { body: reply } = await t.invoke({ command: 'zmq_status' });
      const embed = reply.reply?.embeds[0] as APIEmbed;
      expect(embed.fields?.find((f) => f.name === 'Listener')?.value).toContain(`⛔ \`${endpoint}\` is not a PUB socket`);
      expect(embed.fields?.find((f) => f.name === '⛔ Not a publisher')?.value).toBe(body.reasons[0]);
    } finally {
      await t.close();
      await rep.close();
    }
  });
});
