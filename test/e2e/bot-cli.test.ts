import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { toYaml, type ConfigInput } from '../../src/config/index.ts';
import type { SandboxState } from '../../src/sandbox/index.ts';
import { channels, guildId } from '../helpers/bot.ts';
import { getJson, startSandbox, type StartedSandbox } from '../helpers/sandbox.ts';
import { runCli } from '../helpers/transport.ts';

let started: StartedSandbox;
let dir: string;

beforeAll(async () => {
  started = await startSandbox({ guild: { id: guildId }, channels: [{ id: channels.job_failed, name: 'job-failed' }] });
  dir = mkdtempSync(join(tmpdir(), 'zmq-notify-cli-'));
});

afterAll(async () => {
  await started?.sandbox.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function writeConfig(name: string, config: ConfigInput): string {
  const path = join(dir, name);
  writeFileSync(path, toYaml(config));
  return path;
}

type Command = { name: string; default_member_permissions: string | null; contexts?: number[] | null };

describe('zmq-notify deploy-commands (child process) against a running sandbox (discord.api_url)', () => {
  it('with $DISCORD_TOKEN and discord.guild_id: registers /zmq_status, /zmq_restart, /zmq_sprockets and /schedule in the guild (restart: Administrator by default) and says where', async () => {
    vi.stubEnv('DISCORD_TOKEN', started.address.token);
    const config = writeConfig('guild.yaml', { discord: { guild_id: guildId, api_url: started.address.apiUrl } });
    const result = await runCli(['deploy-commands', '-c', config]);
    expect(result.code, result.stderr).toBe(0);
    const state = await getJson<SandboxState>(`${started.address.url}/sandbox/state`);
    expect(result.stdout.trim()).toBe(`registered /zmq_status, /zmq_restart, /zmq_sprockets, /schedule for application ${state.application.id} in guild ${guildId} at ${started.address.apiUrl}`);
    const guildCommands = state.commands.guild as Command[];
    expect(guildCommands.map((c) => c.name)).toEqual(['zmq_status', 'zmq_restart', 'zmq_sprockets', 'schedule']);
    expect(guildCommands.find((c) => c.name === 'zmq_restart')?.default_member_permissions).toBe('8');
    expect(guildCommands.find((c) => c.name === 'zmq_sprockets')?.default_member_permissions).toBe('8');
    expect(guildCommands.find((c) => c.name === 'zmq_status')?.default_member_permissions).toBeNull();
    expect(result.stdout + result.stderr).not.toContain(started.address.token);
  });

  it('without discord.guild_id: registers them globally, usable in guild channels only, and the application id comes from GET /applications/@me', async () => {
    vi.stubEnv('DISCORD_TOKEN', started.address.token);
    const config = writeConfig('global.yaml', { discord: { api_url: started.address.apiUrl } });
    const result = await runCli(['deploy-commands', '-c', config]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('globally');
    const state = await getJson<SandboxState>(`${started.address.url}/sandbox/state`);
    const global = state.commands.global as Command[];
    expect(global.map((c) => c.name)).toEqual(['zmq_status', 'zmq_restart', 'zmq_sprockets', 'schedule']);
    expect(global.every((c) => JSON.stringify(c.contexts) === '[0]')).toBe(true);
  });

  it('with discord.guild_id set and --global: registers globally, not in the guild', async () => {
    vi.stubEnv('DISCORD_TOKEN', started.address.token);
    const config = writeConfig('guild-but-global.yaml', { discord: { guild_id: guildId, api_url: started.address.apiUrl } });
    const result = await runCli(['deploy-commands', '-c', config, '--global']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('globally');
    expect(result.stdout).not.toContain(`in guild ${guildId}`);
    const state = await getJson<SandboxState>(`${started.address.url}/sandbox/state`);
    expect((state.commands.global as Command[]).map((c) => c.name)).toEqual(['zmq_status', 'zmq_restart', 'zmq_sprockets', 'schedule']);
  });

  it('with $DISCORD_TOKEN unset (empty): exits 1 saying which variable to set', async () => {
    vi.stubEnv('DISCORD_TOKEN', '');
    const config = writeConfig('no-token.yaml', { discord: { guild_id: guildId, api_url: started.address.apiUrl } });
    const result = await runCli(['deploy-commands', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^zmq-notify deploy-commands: no bot token: set \$DISCORD_TOKEN to the bot's token/);
  });

  it('with a wrong token: exits 1 naming the 401, without printing the token', async () => {
    const wrong = 'MTAwMDAwMDAwMDAwMDAwMDAx.wrong0.not-the-sandbox-token-abcdefghij';
    vi.stubEnv('DISCORD_TOKEN', wrong);
    const config = writeConfig('wrong-token.yaml', { discord: { guild_id: guildId, api_url: started.address.apiUrl } });
    const result = await runCli(['deploy-commands', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('401');
    expect(result.stderr).toContain('$DISCORD_TOKEN');
    expect(result.stdout + result.stderr).not.toContain(wrong);
  });
});

describe('zmq-notify start (child process) with a wrong $DISCORD_TOKEN against the sandbox', () => {
  it('exits 1 with a message naming the 401 and the variable, and never prints the token', async () => {
    const wrong = 'MTAwMDAwMDAwMDAwMDAwMDAx.wrong1.definitely-not-the-sandbox-token';
    vi.stubEnv('DISCORD_TOKEN', wrong);
    const config = writeConfig('start-wrong-token.yaml', {
      zmq_pub_address: `ipc://${join(dir, 'unused.sock')}`,
      discord: { guild_id: guildId, api_url: started.address.apiUrl },
      http: { host: '127.0.0.1', port: 0 },
    });
    const result = await runCli(['start', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^zmq-notify start: Discord rejected the bot token from \$DISCORD_TOKEN \(401 Unauthorized at http:\/\/127\.0\.0\.1:\d+\/api\)/);
    expect(result.stdout + result.stderr).not.toContain(wrong);
    expect(result.stdout + result.stderr).not.toContain(wrong.split('.')[2]);
  });
});
