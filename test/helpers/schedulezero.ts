import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stringify } from 'lossless-json';

const script = fileURLToPath(new URL('../fixtures/schedulezero_server.py', import.meta.url));

/** One line the Python ScheduleZero reported. */
export type ServerEvent =
  | { event: 'listening'; address: string | null }
  | { event: 'registration'; request: string; reply: string }
  | { event: 'reply'; id: number; text: string; elapsed: number }
  | { event: 'timeout'; id: number; elapsed: number };

/** A job call's outcome as the Python server saw it: the exact reply text, or a 10 s-style timeout. */
export type CallOutcome = { text: string; elapsed: number; reply: Record<string, unknown> } | { timeout: true; elapsed: number };

/**
 * test/fixtures/schedulezero_server.py run with /usr/bin/python3: a pyzmq peer speaking ScheduleZero's
 * handler protocol byte for byte (json.dumps default separators, integer IDs as JSON numbers).
 */
export class PythonScheduleZero {
  readonly events: ServerEvent[] = [];
  private buffer = '';
  private stderr = '';
  private nextId = 1;
  private waiters: (() => void)[] = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => {
      this.buffer += d.toString('utf8');
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim() !== '') this.events.push(JSON.parse(line) as ServerEvent);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
  }

  /** Starts it; with `registrationAddress` it binds ScheduleZero's registration REP there. */
  static async start(registrationAddress?: string): Promise<PythonScheduleZero> {
    const child = spawn('/usr/bin/python3', ['-u', script, registrationAddress ?? '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new PythonScheduleZero(child);
    await server.waitFor((e) => e.event === 'listening', 10_000);
    return server;
  }

  /** Resolves with the first event (from the start) that matches, or rejects after `timeoutMs`. */
  async waitFor<E extends ServerEvent>(match: (event: ServerEvent) => event is E, timeoutMs?: number): Promise<E>;
  async waitFor(match: (event: ServerEvent) => boolean, timeoutMs?: number): Promise<ServerEvent>;
  async waitFor(match: (event: ServerEvent) => boolean, timeoutMs = 15_000): Promise<ServerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) throw new Error(`the Python ScheduleZero saw no such event in ${timeoutMs} ms; events: ${JSON.stringify(this.events)}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The registration requests received so far, parsed, with the replies sent. */
  registrations(): { request: Record<string, unknown>; reply: Record<string, unknown>; requestText: string }[] {
    return this.events
      .filter((e): e is Extract<ServerEvent, { event: 'registration' }> => e.event === 'registration')
      .map((e) => ({ request: JSON.parse(e.request) as Record<string, unknown>, reply: JSON.parse(e.reply) as Record<string, unknown>, requestText: e.request }));
  }

  /**
   * Sends a job request as ScheduleZero's ZMQClient does: `call` is serialized by Python's json.dumps
   * (bigints arrive as exact integers), `send` is sent as it is. Resolves with the reply or the timeout.
   */
  async call(address: string, request: { call: unknown } | { send: string }, timeoutMs = 10_000): Promise<CallOutcome> {
    const id = this.nextId++;
    this.child.stdin.write(`${stringify({ id, address, timeout_ms: timeoutMs, ...request })}\n`);
    const event = await this.waitFor((e) => (e.event === 'reply' || e.event === 'timeout') && e.id === id, timeoutMs + 15_000);
    if (event.event === 'timeout') return { timeout: true, elapsed: event.elapsed };
    if (event.event !== 'reply') throw new Error('unreachable');
    return { text: event.text, elapsed: event.elapsed, reply: JSON.parse(event.text) as Record<string, unknown> };
  }

  /** Kills the process (a server crash) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }
}
