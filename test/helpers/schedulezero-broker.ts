import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../fixtures/schedulezero_broker.py', import.meta.url));

/** A command for test/fixtures/schedulezero_broker.py (see its docstring). */
export type BrokerCommand =
  | { op: 'heartbeats'; interval: number }
  | { op: 'event'; class: string; body: Record<string, unknown> }
  | { op: 'released'; schedule_id: string; outcome: string; error?: string }
  | { op: 'raw_payload'; payload: string }
  | { op: 'frame'; text: string }
  | { op: 'catalog'; topic: string; payload: Record<string, unknown> };

/** A pyzmq process sending ScheduleZero's broker messages, byte for byte as ScheduleZero does. */
export interface PythonBroker {
  /** Its PUB endpoint (tcp://127.0.0.1:port). */
  pub: string;
  /** Its REP endpoint, when started with `rep` (ScheduleZero's registration server's socket type). */
  rep?: string;
  /** Every frame it has sent, as text (a catalog message: its frames). */
  sent: () => (string | string[])[];
  /** The broker's instance_id (`scheduler-<pid>`), what `meta.src` and `deployment` become. */
  instanceId: string;
  /** Sends one command; resolves once the process has sent what it asked for. */
  send: (command: BrokerCommand) => Promise<void>;
  close: () => Promise<void>;
}

/** Starts the pyzmq broker (/usr/bin/python3 with python3-zmq) and waits for its endpoints. */
export async function startPythonBroker(options: { rep?: boolean } = {}): Promise<PythonBroker> {
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn('/usr/bin/python3', [script, ...(options.rep ? ['--rep'] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  const sent: (string | string[])[] = [];
  const waiting: (() => void)[] = [];
  let stderr = '';
  let partial = '';
  let resolveStart: (ports: { pub: string; rep?: string }) => void = () => undefined;
  const started = new Promise<{ pub: string; rep?: string }>((resolve) => (resolveStart = resolve));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const message = JSON.parse(line) as { pub?: string; rep?: string; sent?: string | string[]; done?: string };
      if (message.pub !== undefined) resolveStart({ pub: message.pub, ...(message.rep === undefined ? {} : { rep: message.rep }) });
      if (message.sent !== undefined) sent.push(message.sent);
      if (message.done !== undefined) waiting.shift()?.();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const ports = await Promise.race([
    started,
    exited.then((code) => {
      throw new Error(`schedulezero_broker.py exited (${code}) before binding: ${stderr}`);
    }),
  ]);
  return {
    ...ports,
    instanceId: `scheduler-${child.pid}`,
    sent: () => [...sent],
    send: (command) =>
      new Promise<void>((resolve, reject) => {
        if (child.exitCode !== null) reject(new Error(`schedulezero_broker.py has exited: ${stderr}`));
        waiting.push(resolve);
        child.stdin.write(`${JSON.stringify(command)}\n`);
      }),
    close: async () => {
      if (child.exitCode === null) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
