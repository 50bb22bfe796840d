import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runtimeFlags } from '../../bin/runtime-flags.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A `zmq-notify start` child process and what it has logged. */
export interface BotProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Base URL of its /healthz and /metrics, from its start-up log line. */
  url: string;
  /** Its JSON log lines so far. */
  lines: () => Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with the first log line matching `predicate` (rejects after `timeoutMs` or on exit). */
  waitForLine: (predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>;
  /** Resolves when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its /metrics, parsed. */
  metrics: () => Promise<MetricSamples>;
}

/** Prometheus samples by their exact series (`name{labels}` as printed). */
export class MetricSamples {
  constructor(readonly series: ReadonlyMap<string, number>) {}

  /** The value of one series, or 0 when absent. */
  get(series: string): number {
    return this.series.get(series) ?? 0;
  }

  /** The sum of every series of a metric name, whatever its labels. */
  sum(name: string): number {
    let total = 0;
    for (const [series, value] of this.series) if (series === name || series.startsWith(`${name}{`)) total += value;
    return total;
  }
}

/** Parses the Prometheus text format into samples. */
export function parseMetrics(text: string): MetricSamples {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return new MetricSamples(series);
}

/** The pids of `root` and every process below it (Linux /proc), root first. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may contain spaces; the fields after its ')' are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we read.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** A process's command line (Linux /proc), empty once it has ended. */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
  } catch {
    return [];
  }
}

/**
 * How the bot is started: `node` runs `node --heap-growing-percent=50 bin/zmq-notify.js start` (the
 * bot in that one process, so its pid is the bot's for /proc readings and signals); `launcher`
 * leaves the flags out, so the bin relaunches itself with them; `npm start` runs the package's
 * start script; `npx` runs the bin below `sh -c` as npx does (give it npm's environment,
 * npm_lifecycle_event=npx).
 */
export type StartVia = 'node' | 'launcher' | 'npm start' | 'npx';

function startCommand(via: StartVia, configPath: string): [string, string[]] {
  if (via === 'npm start') return ['npm', ['start', '--silent', '--', '-c', configPath]];
  // What npx runs for a package's bin: `sh -c` with the bin, which the shell does not exec.
  if (via === 'npx') return ['sh', ['-c', `'${process.execPath}' bin/zmq-notify.js start -c '${configPath}'`]];
  return [process.execPath, [...(via === 'node' ? runtimeFlags : []), 'bin/zmq-notify.js', 'start', '-c', configPath]];
}

/** Spawns `zmq-notify start -c CONFIG` (see {@link StartVia}) and waits for the line that names its HTTP URL. */
export async function startBot(
  configPath: string,
  options: {
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    /** Stop keeping log lines once started (for floods). */
    discardLogsAfterStart?: boolean;
    via?: StartVia;
    /** Its own process group, so a test can signal the group as a terminal's Ctrl-C does. */
    detached?: boolean;
  } = {},
): Promise<BotProcess> {
  const [command, args] = startCommand(options.via ?? 'node', configPath);
  const child = spawn(command, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    detached: options.detached ?? false,
  });
  const parsed: Record<string, unknown>[] = [];
  let partial = '';
  let stderr = '';
  let discarding = false;
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    if (discarding) return;
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        parsed.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        parsed.push({ msg: part, unparsed: true });
      }
    }
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  let ended = false;
  void exited.then(() => (ended = true));

  const waitForLine = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = parsed.find(predicate);
        if (found) {
          done();
          resolve(found);
        } else if (ended || child.exitCode !== null) {
          done();
          reject(new Error(`zmq-notify start exited before the expected log line; stderr: ${stderr}; last lines: ${JSON.stringify(parsed.slice(-5))}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no expected log line within ${timeoutMs} ms; stderr: ${stderr}; last lines: ${JSON.stringify(parsed.slice(-5))}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const started = await waitForLine((l) => typeof l.url === 'string' && typeof l.metrics === 'string', options.timeoutMs ?? 30_000).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const url = started.url as string;
  discarding = options.discardLogsAfterStart ?? false;
  return {
    child,
    url,
    lines: () => [...parsed],
    stderr: () => stderr,
    waitForLine,
    exited,
    metrics: async () => parseMetrics(await (await fetch(`${url}/metrics`)).text()),
  };
}
