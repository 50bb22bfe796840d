import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../src/observability/logger.ts';

/** Repository root, where bin/zmq-notify.js lives. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A logger whose JSON lines are kept in memory for assertions. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level, pretty: false, destination });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines };
}

/** A temporary directory for ipc:// endpoints; `remove()` deletes it. */
export function ipcDir(): { endpoint: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-notify-'));
  return { endpoint: (name) => `ipc://${join(dir, name)}`, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a child process to bind). */
export async function freePort(): Promise<number> {
  // Taken below the kernel's ephemeral range: a port-0 bind elsewhere in a parallel test can
  // then never be handed the same port in the moment before the child process binds it.
  const lowest = ephemeralRangeStart() - 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (lowest - 10_000));
    if (await canListen(port)) return port;
  }
  throw new Error('no free port below the ephemeral range after 50 tries');
}

function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 11_000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The outcome of a child process. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`), optionally feeding stdin. */
export function run(command: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `node bin/zmq-notify.js ARGS`. */
export function runCli(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, ['bin/zmq-notify.js', ...args], options);
}
