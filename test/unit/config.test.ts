import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, describeResolved, endpointsOf, loadConfig, parseConfig } from '../../src/config/index.ts';
import { configProblems } from '../helpers/config-problems.ts';

function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  return file;
}


describe('config loading', () => {
  it('loads the Python cog file unchanged, channel IDs as exact strings', () => {
    const { config } = loadConfig(new URL('../../config/examples/schedulezero-cog.yaml', import.meta.url).pathname);
    expect(config.zmq_pub_address).toBe('tcp://127.0.0.1:4243');
    expect(config.topics).toEqual(['job.', 'handler.', 'scheduler.']);
    expect(config.notification_channels).toEqual({
      job_failed: '1234567890123456789',
      job_executed: '1234567890123456790',
      handler_status: '1234567890123456791',
    });
    expect(config.filters).toEqual({ notify_only_on_failure: false, min_severity: 'info' });
  });

  it('keeps every digit of an unquoted 19-digit snowflake that a JS number would round', () => {
    // 1234567890123456789 as a Number is 1234567890123456800: the wrong channel.
    const file = writeConfig('notification_channels:\n  job_failed: 1234567890123456789\n  job_executed: 987654321098765432\n');
    const { config } = loadConfig(file);
    expect(config.notification_channels.job_failed).toBe('1234567890123456789');
    expect(config.notification_channels.job_executed).toBe('987654321098765432');
  });

  it('accepts quoted IDs and small unquoted ones as digit strings', () => {
    const config = parseConfig({ notification_channels: { job_failed: '42', handler_status: 17 }, discord: { guild_id: '1100000000000000001' } });
    expect(config.notification_channels.job_failed).toBe('42');
    expect(config.notification_channels.handler_status).toBe('17');
    expect(config.discord.guild_id).toBe('1100000000000000001');
  });

  it('fills in defaults for an empty file', () => {
    const { config } = loadConfig(writeConfig(''));
    expect(config.queue.capacity).toBe(10_000);
    expect(config.dispatcher).toEqual({ concurrency: 16, handler_timeout_ms: 10_000, abandon_after_ms: 5_000, max_events_per_second: null });
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 9464 });
    expect(endpointsOf(config)).toEqual(['tcp://127.0.0.1:4243']);
  });

  it('a section left out and a section given as {} or with one key get the same defaults, so an outer default can never drift from the section defaults', () => {
    const none = parseConfig({});
    expect(parseConfig({ alerts: {}, queue: {}, outbox: {}, http: {}, sandbox: {} })).toEqual(none);
    expect(parseConfig({ alerts: { repeat_window_s: 60 } }).alerts).toEqual({ ...none.alerts, repeat_window_s: 60 });
    expect(parseConfig({ dispatcher: { concurrency: 2 } }).dispatcher).toEqual({ ...none.dispatcher, concurrency: 2 });
  });

  it('takes a list of endpoints', () => {
    const config = parseConfig({ zmq_pub_address: ['tcp://127.0.0.1:1', 'ipc:///tmp/x.sock'] });
    expect(endpointsOf(config)).toEqual(['tcp://127.0.0.1:1', 'ipc:///tmp/x.sock']);
  });

  it('names every invalid key at once, with the value and what was expected', () => {
    const problems = configProblems(() =>
      parseConfig({
        zmq_pub_address: 'http://example',
        topics: 'job.',
        notification_channels: { job_failed: 'general' },
        filters: { min_severity: 'loud' },
        queue: { capacity: -5, capcity: 3 },
        dispatcher: { concurrency: '8' },
        http: { port: 70000 },
      }),
    );
    const expectations: [string, string][] = [
      ['zmq_pub_address:', '"http://example"'],
      ['topics:', '"job."'],
      ['notification_channels.job_failed:', '"general"'],
      ['filters.min_severity:', '"loud"'],
      ['queue.capacity:', '-5'],
      ['queue.capcity:', 'unknown key'],
      ['dispatcher.concurrency:', '"8"'],
      ['http.port:', '70000'],
    ];
    for (const [key, detail] of expectations) {
      const line = problems.find((p) => p.startsWith(key));
      expect(line, `a problem for ${key} in ${JSON.stringify(problems)}`).toBeDefined();
      expect(line).toContain(detail);
      expect(line).toContain('expected');
    }
    expect(problems).toHaveLength(expectations.length);
  });

  it('says what a bad severity may be', () => {
    const [problem] = configProblems(() => parseConfig({ filters: { min_severity: 'loud' } }));
    expect(problem).toMatch(/"debug".*"info".*"warning".*"error".*"critical"/);
  });

  it('reports YAML syntax errors and unreadable files as ConfigError', () => {
    expect(configProblems(() => loadConfig(writeConfig('topics: [job.\n')))[0]).toMatch(/not valid YAML/);
    expect(configProblems(() => loadConfig('/nonexistent/zmq-notify.yaml'))[0]).toMatch(/cannot read the file/);
    expect(configProblems(() => loadConfig(writeConfig('- just\n- a list\n')))[0]).toMatch(/expected a mapping/);
  });

  it('reads the bot token from the variable the config names and never prints it', () => {
    const file = writeConfig('discord:\n  token_env: MY_BOT_TOKEN\n');
    const loaded = loadConfig(file, { MY_BOT_TOKEN: 'secret-token-value' });
    expect(loaded.secrets.discordToken).toBe('secret-token-value');
    const printed = JSON.stringify(describeResolved(loaded));
    expect(printed).not.toContain('secret-token-value');
    expect(printed).toContain('MY_BOT_TOKEN');
    expect(loadConfig(file, {}).secrets.discordToken).toBeUndefined();
  });

  it('the embedded default is valid', () => {
    expect(() => loadConfig(defaultConfigPath)).not.toThrow();
  });

  it('outbox.max_age takes seconds or a duration (90, 30m, 24h; default 24h), storage.path defaults to data/zmq-notify.db; bad input is named', () => {
    expect(parseConfig({}).outbox.max_age).toBe(86_400_000);
    expect(parseConfig({}).storage.path).toBe('data/zmq-notify.db');
    expect(parseConfig({ outbox: { max_age: 90 } }).outbox.max_age).toBe(90_000);
    expect(parseConfig({ outbox: { max_age: '30m' } }).outbox.max_age).toBe(1_800_000);
    expect(parseConfig({ outbox: { max_age: '7d' } }).outbox.max_age).toBe(604_800_000);
    // Bad input tried: a word, a negative number, a retry cap above a minute, an empty path.
    expect(() => parseConfig({ outbox: { max_age: 'soon' } })).toThrow(/outbox\.max_age: got "soon", expected a duration such as 90s/);
    expect(() => parseConfig({ outbox: { max_age: -5 } })).toThrow(/outbox\.max_age/);
    expect(() => parseConfig({ outbox: { retry_max_delay_ms: 120_000 } })).toThrow(/outbox\.retry_max_delay_ms: got 120000, expected number to be <=60000/);
    expect(() => parseConfig({ storage: { path: '' } })).toThrow(/storage\.path/);
  });
});
