import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { JobScheduler } from '../../src/jobs/scheduler/job-scheduler.ts';
import { openStore } from '../../src/store/index.ts';
import { captureLogger } from '../helpers/transport.ts';

const bin = new URL('../../bin/zmq-notify.js', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });
}

function configFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-schedules-'));
  dirs.push(dir);
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      'storage: { path: data/bot.db }',
      'scheduler: { timezone: Asia/Jerusalem }',
      'schedules:',
      '  - { id: launch, at: "2030-07-01T09:00:00", timezone: America/New_York, method: send_message, params: { channel_id: "1" } }',
      '  - { id: weekdays, cron: "30 14 * * 1-5", method: send_message, send_alert: true }',
      '',
    ].join('\n'),
  );
  return file;
}

describe('zmq-notify schedules', () => {
  it('lists configured schedules with run times in their own zone, without creating the database', () => {
    const file = configFile();
    const result = run(['schedules', '-c', file]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('# 2 schedule(s): 2 from');
    expect(result.stdout).toMatch(/does not exist yet/);
    // 09:00 in New York on 1 July 2030 is EDT, 13:00 UTC; a one-shot has one run.
    expect(result.stdout).toContain('launch  at 2030-07-01T09:00:00 (America/New_York)');
    expect(result.stdout).toContain('next: Mon 2030-07-01 09:00:00 EDT (13:00:00 UTC)');
    // The cron job is in scheduler.timezone (Jerusalem): five weekday runs at 14:30 local.
    const weekdays = result.stdout.split('weekdays')[1] ?? '';
    expect(weekdays.match(/\d{4}-\d{2}-\d{2} 14:30:00 GMT\+[23]/g)).toHaveLength(5);
    expect(weekdays).toContain('[config, send_alert]');
    expect(existsSync(join(file, '..', 'data', 'bot.db')), 'listing does not create the database').toBe(false);
  });

  it('shows schedules added from Discord from the store, and exits 2 for a bad --count', async () => {
    const file = configFile();
    const loaded = loadConfig(file);
    const store = openStore({ path: loaded.config.storage.path, baseDir: loaded.baseDir });
    const scheduler = new JobScheduler({ config: loaded.config, logger: captureLogger().logger, store, call: () => Promise.resolve(null), emit: () => true });
    scheduler.start();
    scheduler.add({ id: 'standup', trigger: { cron: '0 9 * * 1', timezone: 'Europe/Berlin' }, method: 'send_message', params: {}, sendAlert: false, overrides: {}, origin: 'discord', createdBy: '<@42>' });
    scheduler.pause('standup');
    await scheduler.stop(1_000);
    store.close();

    const result = run(['schedules', '-c', file, '-n', '2']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('# 3 schedule(s)');
    expect(result.stdout).toContain('standup  cron 0 9 * * 1 (Europe/Berlin)  → send_message {}  [added from Discord by <@42>, PAUSED]');
    expect(result.stdout.split('standup')[1]?.match(/Mon \d{4}-\d{2}-\d{2} 09:00:00 GMT\+[12]/g)).toHaveLength(2);
    // Tried: a count of 0, a word, more than 50.
    for (const bad of ['0', 'five', '51']) {
      const refused = run(['schedules', '-c', file, '-n', bad]);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('expected a whole number from 1 to 50');
    }
  });
});

describe('zmq-notify check-config: schedules', () => {
  it('reports an unknown method and params the method refuses, with the key and what was expected; a good file passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-schedules-'));
    dirs.push(dir);
    const bad = join(dir, 'bad.yaml');
    // Tried: a misspelt method, a channel id that is not a snowflake with empty content.
    writeFileSync(
      bad,
      [
        'schedules:',
        '  - { id: a, every: 1m, method: send_mesage }',
        '  - { id: b, every: 1m, method: send_message, params: { channel_id: abc, content: "" } }',
        '  - { id: c, every: 1m, method: send_message, params: { channel_id: "123", content: fine } }',
        '',
      ].join('\n'),
    );
    const result = run(['check-config', '-c', bad]);
    expect(result.status).toBe(1);
    const problems = result.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^ {2}- schedules\[0\]\.method: got "send_mesage", expected a job method of the loaded sprockets; Unknown method: send_mesage \(loaded: .*send_message/);
    expect(problems[1]).toMatch(/^ {2}- schedules\[1\]\.params: channel_id: got "abc", expected a Discord ID.*content: got "", expected .* \(for method send_message\)$/);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'schedules:\n  - { id: c, cron: "0 9 * * 1-5", timezone: Europe/Berlin, method: send_message, params: { channel_id: "123", content: fine } }\n');
    const ok = run(['check-config', '-c', good]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('valid');
  });
});
