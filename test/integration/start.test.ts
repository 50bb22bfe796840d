import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as zmq from 'zeromq';
import { toYaml, type ConfigInput } from '../../src/config/index.ts';
import { EventPublisher } from '../../src/transport/publisher.ts';
import { startBot, type BotProcess } from '../helpers/bot-process.ts';
import { repoRoot, runCli } from '../helpers/transport.ts';

const wait = { timeout: 20_000, interval: 50 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeConfig(dir: string, config: ConfigInput): string {
  const path = join(dir, 'config.yaml');
  writeFileSync(path, toYaml(config));
  return path;
}

async function bot(configPath: string): Promise<BotProcess> {
  const proc = await startBot(configPath);
  cleanups.push(() => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  });
  return proc;
}

// The bot connects its SUB socket to zmq_pub_address, so the test's publishers bind.
async function boundPublisher(): Promise<EventPublisher> {
  const pub = new EventPublisher({ endpoint: 'tcp://127.0.0.1:*', src: 'itest', lingerMs: 1_000 });
  await pub.open();
  cleanups.push(() => pub.close());
  return pub;
}

// A module (in the temp dir, loaded by path) whose handler sleeps, then appends the event's seq to a file.
function slowModule(dir: string, sleepMs: number): { spec: string; handledFile: string } {
  const handledFile = join(dir, 'handled.txt');
  writeFileSync(
    join(dir, 'slow.mts'),
    `import { appendFileSync } from 'node:fs';
     import { setTimeout as sleep } from 'node:timers/promises';
     export default {
       name: 'slow',
       setup(ctx: { on(prefix: string, handler: (e: { meta: { seq?: number } }) => Promise<void>): () => void }) {
         ctx.on('', async (e) => {
           await sleep(${sleepMs});
           appendFileSync(${JSON.stringify(handledFile)}, String(e.meta.seq) + '\\n');
         });
       },
     };`,
  );
  return { spec: './slow.mts', handledFile };
}

describe('zmq-notify start (child process, real ZeroMQ)', () => {
  it('counts 300 events and 10 malformed messages exactly in /metrics: received 310, malformed by kind, dispatched 306, dropped 4', async () => {
    const pub = await boundPublisher();
    const raw = new zmq.XPublisher({ linger: 1_000 });
    await raw.bind('tcp://127.0.0.1:*');
    cleanups.push(() => raw.close());
    const dir = tempDir();
    const config = writeConfig(dir, {
      zmq_pub_address: [pub.endpoint, raw.lastEndpoint as string],
      topics: ['job.', 'scheduler.'],
      http: { host: '127.0.0.1', port: 0 },
      log_level: 'info',
    });
    const proc = await bot(config);

    expect(await pub.waitForSubscriber(20_000)).toBe(true);
    // The raw XPUB socket sees one subscription message per topic; once both arrived, sends reach the bot.
    const subscriptions = new Set<string>();
    while (subscriptions.size < 2) {
      const [message] = await raw.receive();
      if (message && message[0] === 1) subscriptions.add(message.subarray(1).toString());
    }

    const N = 300;
    for (let i = 0; i < N; i++) await pub.publish(i % 10 === 0 ? 'scheduler.heartbeat' : 'job.executed', { job_id: `j${i}`, i });
    const malformed: [kind: string, frames: (string | Buffer)[]][] = [
      ['single_frame', ['job.only-a-topic']],
      ['non_utf8_topic', [Buffer.from([0x6a, 0x6f, 0x62, 0x2e, 0xff, 0xfe]), '{}']],
      ['invalid_json', ['job.failed', '{"job_id": ']],
      ['not_object', ['job.failed', '[1, 2, 3]']],
      ['bad_envelope', ['scheduler.started', '{}', 'not an envelope']],
    ];
    for (let round = 0; round < 2; round++) for (const [, frames] of malformed) await raw.send(frames);
    const M = malformed.length * 2;

    await vi.waitFor(async () => expect((await proc.metrics()).sum('zmq_notify_events_received_total')).toBe(N + M), wait);
    await vi.waitFor(async () => expect((await proc.metrics()).get('zmq_notify_events_dispatched_total')).toBe(N + 6), wait);
    const m = await proc.metrics();
    // Salvaged messages count under their topic; unusable ones, whose topic cannot be read, under "".
    expect(m.get('zmq_notify_events_received_total{topic_prefix="job."}')).toBe(270 + 4);
    expect(m.get('zmq_notify_events_received_total{topic_prefix="scheduler."}')).toBe(30 + 2);
    expect(m.get('zmq_notify_events_received_total{topic_prefix=""}')).toBe(4);
    for (const [kind] of malformed) expect(m.get(`zmq_notify_frames_malformed_total{kind="${kind}"}`), kind).toBe(2);
    expect(m.get('zmq_notify_events_dropped_total{reason="malformed"}')).toBe(4);
    expect(m.sum('zmq_notify_events_dropped_total')).toBe(4);
    expect(m.get('zmq_notify_queue_depth')).toBe(0);
    expect(m.get('zmq_notify_queue_capacity')).toBe(10_000);
    expect(m.get('zmq_notify_events_lost_total')).toBe(0);
    expect(m.get('zmq_notify_handler_errors_total')).toBe(0);
    expect(m.get('zmq_notify_listener_up')).toBe(1);

    const health = await fetch(`${proc.url}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { listener: { state: string; connected: string[] }; publishers: { src: string; last_seq: number }[] };
    expect(body.listener.state).toBe('running');
    expect(body.listener.connected.length).toBe(2);
    expect(body.publishers).toContainEqual(expect.objectContaining({ src: 'itest', last_seq: N }));

    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });

  it('on SIGTERM with a backlog (40 events, handler sleeps 50 ms, concurrency 2), drains every queued event and exits 0', async () => {
    const pub = await boundPublisher();
    const dir = tempDir();
    const { spec, handledFile } = slowModule(dir, 50);
    const config = writeConfig(dir, {
      zmq_pub_address: pub.endpoint,
      http: { port: 0 },
      dispatcher: { concurrency: 2 },
      modules: [spec],
      log_level: 'info',
    });
    const proc = await bot(config);
    expect(await pub.waitForSubscriber(20_000)).toBe(true);
    for (let i = 0; i < 40; i++) await pub.publish('job.executed', { i });
    await vi.waitFor(async () => expect((await proc.metrics()).sum('zmq_notify_events_received_total')).toBe(40), wait);
    expect((await proc.metrics()).get('zmq_notify_queue_depth')).toBeGreaterThan(0);

    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    expect(code).toBe(0);
    const handled = readFileSync(handledFile, 'utf8').trim().split('\n').map(Number);
    expect(handled.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(proc.lines()).toContainEqual(expect.objectContaining({ msg: 'stopped: queue drained', drained: true, droppedOnShutdown: 0 }));
  });

  it('a second signal while draining exits at once with 130 for SIGINT (handler sleeps 60 s, drain bound 60 s)', async () => {
    const pub = await boundPublisher();
    const dir = tempDir();
    const { spec } = slowModule(dir, 60_000);
    const config = writeConfig(dir, {
      zmq_pub_address: pub.endpoint,
      http: { port: 0 },
      dispatcher: { handler_timeout_ms: 120_000 },
      shutdown: { drain_timeout_ms: 60_000 },
      modules: [spec],
      log_level: 'info',
    });
    const proc = await bot(config);
    expect(await pub.waitForSubscriber(20_000)).toBe(true);
    await pub.publish('job.executed', {});
    await vi.waitFor(async () => expect((await proc.metrics()).get('zmq_notify_events_dispatched_total')).toBe(1), wait);
    proc.child.kill('SIGTERM');
    await proc.waitForLine((l) => l.signal === 'SIGTERM' && typeof l.drainTimeoutMs === 'number');
    proc.child.kill('SIGINT');
    const { code } = await proc.exited;
    expect(code).toBe(130);
    expect(proc.lines()).toContainEqual(expect.objectContaining({ signal: 'SIGINT', exitCode: 130 }));
  });

  it('loads the example module from examples/modules by a path relative to the config file', async () => {
    const pub = await boundPublisher();
    const dir = tempDir();
    const config = writeConfig(dir, {
      zmq_pub_address: pub.endpoint,
      http: { port: 0 },
      modules: [relative(dir, join(repoRoot, 'examples/modules/deploy-tracker.ts'))],
      log_level: 'info',
    });
    const proc = await bot(config);
    expect(await pub.waitForSubscriber(20_000)).toBe(true);
    await pub.publish('scheduler.started', { deployment: 'prod' });
    await proc.waitForLine((l) => l.module === 'deploy-tracker' && l.msg === 'deployment prod is up');
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });

  it('a bad config prints the ConfigError naming the key and exits 1 (queue.capacity: -5)', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { queue: { capacity: -5 } });
    const result = await runCli(['start', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`invalid configuration in ${config}`);
    expect(result.stderr).toMatch(/queue\.capacity: got -5, expected/);
  });

  it('a module that fails to load stops start-up with an error naming it and exit code 1 (./missing.ts)', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { zmq_pub_address: 'tcp://127.0.0.1:9', http: { port: 0 }, modules: ['./missing.ts'] });
    const result = await runCli(['start', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^zmq-notify start: module "\.\/missing\.ts" failed to load: /);
  });

  it('a .ts module outside an ES-module package fails with a hint to name it .mts (./plain.ts in a temp dir)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'plain.ts'), `export default { name: 'plain', setup() {} };`);
    const config = writeConfig(dir, { zmq_pub_address: 'tcp://127.0.0.1:9', http: { port: 0 }, modules: ['./plain.ts'] });
    const result = await runCli(['start', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('zmq-notify start: module "./plain.ts" failed to load: ');
    expect(result.stderr).toContain('must be named .mts / .mjs');
  });
});
