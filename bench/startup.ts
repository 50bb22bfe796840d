// Start-up: how long `zmq-notify start` takes to print the sandbox URL, and how much memory the
// whole process tree holds once it has settled, started the two ways it runs: as `npm start` runs
// it (node given the V8 flags: one process) and as the bare bin (`npx zmq-notify start`: the
// launcher relaunches node with the flags, and both stay resident, so both count).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runtimeFlags } from '../bin/runtime-flags.js';
import { toYaml } from '../src/config/index.ts';
import { processTree } from '../test/helpers/bot-process.ts';
import { procMemoryMiB } from './lib/proc.ts';
import { median } from './lib/stats.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** One start of the bot. */
export interface StartupRun {
  /** Spawn until the `sandbox Discord: URL` line on stdout. */
  to_url_ms: number;
  /** RSS of the bot's process and its descendants after `settle_ms`. */
  idle_rss_mb: number;
  /** Processes in that tree (1 without a launcher child). */
  processes: number;
  exit_code: number | null;
}

/** Medians over the runs of one way of starting, and each run. */
export interface StartupVariant {
  /** The command that was timed. */
  command: string;
  runs: StartupRun[];
  to_url_ms: number;
  idle_rss_mb: number;
  processes: number;
}

/** Each way of starting, measured after the same idle time. */
export interface StartupResult {
  settle_ms: number;
  variants: StartupVariant[];
}

const variants: { command: string; args: string[] }[] = [
  { command: 'node --heap-growing-percent=50 bin/zmq-notify.js start (as npm start)', args: [...runtimeFlags, 'bin/zmq-notify.js', 'start'] },
  { command: 'node bin/zmq-notify.js start (the bin, relaunched with the flags)', args: ['bin/zmq-notify.js', 'start'] },
];

async function startOnce(args: string[], configPath: string, settleMs: number): Promise<StartupRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [...args, '-c', configPath], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DISCORD_TOKEN: '', LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const toUrl = await new Promise<number>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no sandbox URL within 60 s; stderr: ${stderr}`)), 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        text = (text + chunk.toString('utf8')).slice(-8000);
        if (/sandbox Discord: http:\/\/\S+/.test(text)) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      });
      void exited.then((code) => reject(new Error(`zmq-notify start exited (${code}) before printing the sandbox URL; stderr: ${stderr}`)));
    });
    await sleep(settleMs);
    const tree = processTree(child.pid ?? 0);
    const rss = tree.reduce((sum, pid) => sum + procMemoryMiB(pid, 'VmRSS'), 0);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return { to_url_ms: Math.round(toUrl), idle_rss_mb: Math.round(rss * 10) / 10, processes: tree.length, exit_code: code };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** Starts the bot `runs` times each way in sandbox mode on a temp config (free ports) and measures each start. */
export async function measureStartup(options: { runs: number; settleMs: number; log: (line: string) => void }): Promise<StartupResult> {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-bench-startup-'));
  try {
    const config = join(dir, 'config.yaml');
    writeFileSync(config, toYaml({ http: { host: '127.0.0.1', port: 0 }, sandbox: { host: '127.0.0.1', port: 0 }, log_level: 'info' }));
    const result: StartupResult = { settle_ms: options.settleMs, variants: [] };
    for (const variant of variants) {
      const runs: StartupRun[] = [];
      options.log(`  ${variant.command}`);
      for (let i = 0; i < options.runs; i++) {
        const run = await startOnce(variant.args, config, options.settleMs);
        options.log(`    start ${i + 1}: sandbox URL after ${run.to_url_ms} ms, idle RSS ${run.idle_rss_mb} MB (${run.processes} process${run.processes === 1 ? '' : 'es'}), exit ${run.exit_code}`);
        runs.push(run);
      }
      result.variants.push({
        command: variant.command,
        runs,
        to_url_ms: Math.round(median(runs.map((r) => r.to_url_ms))),
        idle_rss_mb: Math.round(median(runs.map((r) => r.idle_rss_mb)) * 10) / 10,
        processes: Math.max(...runs.map((r) => r.processes)),
      });
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
