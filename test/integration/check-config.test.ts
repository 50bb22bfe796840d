import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/zmq-notify.js', import.meta.url).pathname;

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
}

describe('zmq-notify check-config', () => {
  it('prints the resolved seed config with exact IDs and exits 0', () => {
    const result = run(['check-config', '-c', new URL('../../config/examples/schedulezero-cog.yaml', import.meta.url).pathname]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("job_failed: '1234567890123456789'");
    expect(result.stdout).toContain('capacity: 10000');
  });

  it('redacts the token it finds in the environment', () => {
    const result = run(['check-config'], { DISCORD_TOKEN: 'abc.def.very-secret' });
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain('very-secret');
    expect(result.stdout).toContain('redacted');
  });

  it('prints every problem and exits 1 for an invalid file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-cc-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'queue: {capacity: 0}\ntopics: nope\n');
    const result = run(['check-config', '-c', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('queue.capacity: got 0');
    expect(result.stderr).toContain('topics: got "nope"');
  });

  it('exits 2 and shows usage for an unknown flag', () => {
    const result = run(['check-config', '--no-such-flag']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown option '--no-such-flag'");
    expect(result.stderr).toContain('Usage: zmq-notify check-config');
  });
});
