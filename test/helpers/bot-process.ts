import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

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

/** Spawns `node bin/zmq-notify.js start -c CONFIG` and waits for the line that names its HTTP URL. */
export async function startBot(
  configPath: string,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; /** Stop keeping log lines once started (for floods). */ discardLogsAfterStart?: boolean } = {},
): Promise<BotProcess> {
  const child = spawn(process.execPath, ['bin/zmq-notify.js', 'start', '-c', configPath], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
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
