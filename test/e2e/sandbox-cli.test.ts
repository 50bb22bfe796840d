import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageView, SandboxState } from '../../src/sandbox/index.ts';
import { getJson } from '../helpers/sandbox.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcessByStdio<null, Readable, Readable>[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): { child: ChildProcessByStdio<null, Readable, Readable>; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ZMQ_NOTIFY_SANDBOX_TOKEN: '' } });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, exited };
}

async function waitFor(read: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(read());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('zmq-notify sandbox (CLI) and examples/sandbox-client.ts', () => {
  it('creates the configured guild and one channel per notification channel plus general, serves a stock client, and exits 0 on SIGINT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-sandbox-cli-'));
    dirs.push(dir);
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      ['notification_channels:', '  job_failed: "200000000000000101"', '  handler_status: "200000000000000103"', 'discord:', '  guild_id: "200000000000000001"', 'log_level: warn', ''].join('\n'),
    );
    const sandbox = run(['bin/zmq-notify.js', 'sandbox', '--port', '0', '--token', 'cli-test-token', '-c', config]);
    const url = (await waitFor(sandbox.stdout, /page:\s+(http:\/\/\S+)\//))[1]!;
    expect((await waitFor(sandbox.stdout, /token:\s+(\S+)/))[1]).toBe('cli-test-token');
    await waitFor(sandbox.stdout, /Press Ctrl-C to stop/);

    const state = await getJson<SandboxState>(`${url}/sandbox/state`);
    expect(state.guild.id).toBe('200000000000000001');
    expect(state.channels.map((c) => [c.name, c.id])).toEqual([
      ['job-failed', '200000000000000101'],
      ['handler-status', '200000000000000103'],
      ['general', expect.stringMatching(/^\d{17,20}$/)],
    ]);

    const example = run(['--import', 'tsx', 'examples/sandbox-client.ts', url, 'cli-test-token', 'job-failed']);
    expect(await example.exited).toBe(0);
    expect(example.stdout()).toContain('/sandbox/messages?channel_id=200000000000000101');
    const messages = await getJson<MessageView[]>(`${url}/sandbox/messages?channel_id=200000000000000101`);
    expect(messages.map((m) => m.embeds[0]?.title)).toEqual(['Hello from a stock discord.js client']);

    sandbox.child.kill('SIGINT');
    expect(await sandbox.exited).toBe(0);
  });

  it('a wrong flag value exits 2 with what was expected', async () => {
    const bad = run(['bin/zmq-notify.js', 'sandbox', '--port', 'seventy']);
    expect(await bad.exited).toBe(2);
    expect(bad.stdout()).toContain('expected a port number from 0 to 65535');
  });
});
