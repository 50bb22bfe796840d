import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.ts';
import { JobRegistry } from '../../src/jobs/registry.ts';
import { SprocketManager, sprocketEntries } from '../../src/jobs/sprocket-manager.ts';
import { configProblems } from '../helpers/config-problems.ts';
import { captureLogger, run } from '../helpers/transport.ts';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'zmq-notify-jobs-config-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});


describe('schedulezero: in the config', () => {
  it("reads the seed's handler file unchanged from a path relative to the config file", () => {
    const d = dir();
    writeFileSync(join(d, 'schedulezero.yaml'), 'handler_id: "my-discord-bot"\nhandler_port: 5000\nserver_address: "tcp://127.0.0.1:4242"\napi_endpoint: "http://localhost:8888"\n');
    writeFileSync(join(d, 'bot.yaml'), 'schedulezero: schedulezero.yaml\n');
    const { config } = loadConfig(join(d, 'bot.yaml'));
    expect(config.schedulezero).toMatchObject({ handler_id: 'my-discord-bot', handler_port: 5000, server_address: 'tcp://127.0.0.1:4242', api_endpoint: 'http://localhost:8888', handler_host: '127.0.0.1', reply_timeout_ms: 8000 });
    expect(sprocketEntries(config).map((e) => e.use)).toEqual(['core', 'announcement']);
  });

  it('names the key for a missing file, a misspelt key in it, and a reply timeout ScheduleZero would not wait for', () => {
    const d = dir();
    writeFileSync(join(d, 'missing.yaml'), 'schedulezero: nowhere.yaml\n');
    expect(configProblems(() => loadConfig(join(d, 'missing.yaml')))[0]).toMatch(/^schedulezero: got "nowhere.yaml", expected a readable YAML file/);
    writeFileSync(join(d, 'sz.yaml'), 'handler_id: bot\nhandler_prot: 5000\n');
    writeFileSync(join(d, 'typo.yaml'), 'schedulezero: ./sz.yaml\n');
    expect(configProblems(() => loadConfig(join(d, 'typo.yaml')))).toEqual(['schedulezero.handler_prot: got 5000, expected no such key (unknown key; check its spelling)']);
    expect(configProblems(() => parseConfig({ schedulezero: { handler_id: 'b', reply_timeout_ms: 12_000 } }))[0]).toMatch(/^schedulezero.reply_timeout_ms: got 12000, expected/);
    expect(configProblems(() => parseConfig({ schedulezero: { handler_id: 'b', allow_ips: ['10.0.0.0/8', '::1', 'scheduler.local', '10.0.0.0/33'] } }))).toEqual([
      'schedulezero.allow_ips[2]: got "scheduler.local", expected an IP address or subnet such as 10.0.0.5, 10.0.0.0/8 or ::1',
      'schedulezero.allow_ips[3]: got "10.0.0.0/33", expected an IP address or subnet such as 10.0.0.5, 10.0.0.0/8 or ::1',
    ]);
  });

  it('takes sprockets as names, files and { use, ...config }; core and announcement when none are listed', () => {
    // The bot's own scheduler runs job methods too, so the defaults do not wait for schedulezero:.
    expect(sprocketEntries(parseConfig({}))).toEqual([
      { use: 'core', config: {} },
      { use: 'announcement', config: {} },
    ]);
    const config = parseConfig({
      schedulezero: { handler_id: 'b' },
      sprockets: ['core', { use: 'moderation', channels: [1234567890123456789n.toString()], roles: ['42'], delete_pace_ms: 10 }, './custom.ts'],
    });
    expect(sprocketEntries(config)).toEqual([
      { use: 'core', config: {} },
      { use: 'moderation', config: { channels: ['1234567890123456789'], roles: ['42'], delete_pace_ms: 10 } },
      { use: './custom.ts', config: {} },
    ]);
    expect(configProblems(() => parseConfig({ sprockets: [{ use: 'moderation', channels: ['general'] }] }))[0]).toMatch(/^sprockets\[0\]\.channels\[0\]: got "general", expected a Discord ID/);
  });
});

describe('SprocketManager', () => {
  // The files live in a temp dir, outside this package: they import zod by its resolved path.
  const zodUrl = pathToFileURL(createRequire(import.meta.url).resolve('zod')).href;
  const sprocketFile = (greeting: string): string => `
import { z } from '${zodUrl}';
import { defineSprocket } from '${join(process.cwd(), 'src/jobs/sprocket.ts')}';
export default defineSprocket({ name: 'greetings', methods: { greet: { params: z.object({}), run: () => '${greeting}' } } });
`;

  function manager(entries: Parameters<typeof sprocketEntries>[0], baseDir: string): { registry: JobRegistry; sprockets: SprocketManager } {
    const { logger } = captureLogger('warn');
    const registry = new JobRegistry({ discord: () => ({}) as Client, logger });
    return { registry, sprockets: new SprocketManager(registry, sprocketEntries(entries), baseDir, logger) };
  }

  it('loads a sprocket file relative to the config', async () => {
    const d = dir();
    writeFileSync(join(d, 'greetings.mts'), sprocketFile('hello'));
    const { registry, sprockets } = manager({ schedulezero: null, sprockets: ['./greetings.mts'] }, d);
    await sprockets.start();
    expect(await registry.call('greet', {})).toBe('hello');
    expect(sprockets.available()[0]).toEqual({ name: 'greetings', source: './greetings.mts', loaded: true, methods: ['greet'] });
  });

  // Vitest's module runner keeps one copy of a file whatever its query string, so the reload is
  // checked where the bot really runs: node with tsx, as bin/zmq-notify.js starts it.
  it('reload imports the file again (under node + tsx, as the bot runs)', async () => {
    const d = dir();
    writeFileSync(join(d, 'greetings.mts'), sprocketFile('hello'));
    const script = join(d, 'reload.mts');
    writeFileSync(
      script,
      `
import { writeFileSync } from 'node:fs';
import { JobRegistry } from '${join(process.cwd(), 'src/jobs/registry.ts')}';
import { SprocketManager } from '${join(process.cwd(), 'src/jobs/sprocket-manager.ts')}';
import { createLogger } from '${join(process.cwd(), 'src/observability/logger.ts')}';
const logger = createLogger({ level: 'silent' });
const registry = new JobRegistry({ discord: () => { throw new Error('no discord'); }, logger });
const sprockets = new SprocketManager(registry, [{ use: './greetings.mts', config: {} }], ${JSON.stringify(d)}, logger);
await sprockets.start();
const before = await registry.call('greet', {});
writeFileSync(${JSON.stringify(join(d, 'greetings.mts'))}, ${JSON.stringify(sprocketFile('bonjour'))});
await sprockets.reload('greetings');
console.log(JSON.stringify([before, await registry.call('greet', {})]));
`,
    );
    const result = await run(process.execPath, ['--import', 'tsx', script]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(['hello', 'bonjour']);
  });

  it('loads config/examples/job-handler.yaml: the seed\'s handler file, the three built-ins and the example sprocket file', async () => {
    const loaded = loadConfig(new URL('../../config/examples/job-handler.yaml', import.meta.url).pathname);
    expect(loaded.config.schedulezero).toMatchObject({ handler_id: 'my-discord-bot', handler_port: 5000, server_address: 'tcp://127.0.0.1:4242' });
    const { registry, sprockets } = manager(loaded.config, loaded.baseDir);
    await sprockets.start();
    expect(registry.sprockets().map((s) => s.name)).toEqual(['core', 'announcement', 'moderation', 'greetings']);
    expect(registry.get('moderation')?.config).toEqual({ channels: ['1234567890123456789', '1234567890123456790'], roles: ['1234567890123456795'], delete_pace_ms: 1000 });
    expect(registry.methodNames()).toContain('say_hello');
  });

  it('says what is wrong with an entry that is neither a built-in nor a file, and refuses moderation unless listed', async () => {
    const d = dir();
    const { sprockets } = manager({ schedulezero: { handler_id: 'b' } as never, sprockets: ['moderatoin'] }, d);
    await expect(sprockets.start()).rejects.toThrow(/"moderatoin" is neither a built-in sprocket \(core, announcement, moderation\) nor a file path/);
    const defaults = manager({ schedulezero: { handler_id: 'b' } as never, sprockets: undefined }, d);
    await defaults.sprockets.start();
    await expect(defaults.sprockets.load('moderation')).rejects.toThrow(/off unless the config lists it/);
    expect(defaults.sprockets.available().map((s) => [s.name, s.loaded])).toEqual([
      ['core', true],
      ['announcement', true],
    ]);
  });
});
