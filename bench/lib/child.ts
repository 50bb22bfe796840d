import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A request the parent sends to a bench child over IPC. */
interface Request {
  id: number;
  command: string;
  params: unknown;
}

/** A child's answer to one request. */
type Reply = { id: number; result: unknown } | { id: number; error: string };

/** What a bench child can be asked to do: command name → async handler. */
export type CommandHandlers = Record<string, (params: never) => Promise<unknown>>;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A helper process for a benchmark (a publisher, a receiver), run through tsx with an IPC channel,
 * so what it does never shares an event loop with what is being measured.
 */
export class BenchChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private stderrText = '';
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<number | string>;

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrText = (this.stderrText + chunk.toString('utf8')).slice(-4000);
    });
    child.on('message', (message: Reply) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if ('error' in message) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        for (const waiter of this.pending.values()) waiter.reject(new Error(`bench child exited (${code ?? signal}) before answering; stderr: ${this.stderrText}`));
        this.pending.clear();
        resolve(code ?? signal ?? 'unknown');
      });
    });
  }

  /** Forks `script` (a path relative to the repository root) under tsx. */
  static start(script: string, options: { args?: string[]; execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): BenchChild {
    const child = fork(script, options.args ?? [], {
      cwd: repoRoot,
      execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, ...options.env },
    });
    return new BenchChild(child);
  }

  /** The child's process id. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The last few KB the child wrote to stderr. */
  get stderr(): string {
    return this.stderrText;
  }

  /** Asks the child to run `command`; rejects with its error, or when it exits or `timeoutMs` passes. */
  request<T>(command: string, params: object = {}, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`bench child: "${command}" did not answer within ${timeoutMs} ms; stderr: ${this.stderrText}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      const request: Request = { id, command, params };
      this.child.send(request);
    });
  }

  /** Closes the IPC channel (the child exits when idle) and waits; kills it after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<number | string> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.child.connected) this.child.disconnect();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      const code = await this.exited;
      clearTimeout(timer);
      return code;
    }
    return this.exited;
  }
}

/** In a bench child: answers the parent's requests with `handlers`, and exits when the parent disconnects. */
export function serveRequests(handlers: CommandHandlers, onDisconnect: () => Promise<void> | void = () => undefined): void {
  if (!process.send) throw new Error('serveRequests: this process has no IPC channel (run it with BenchChild.start)');
  const reply = (message: Reply): void => {
    process.send?.(message);
  };
  process.on('message', (message: Request) => {
    const handler = handlers[message.command] as ((params: unknown) => Promise<unknown>) | undefined;
    if (!handler) {
      reply({ id: message.id, error: `unknown command "${message.command}"` });
      return;
    }
    handler(message.params).then(
      (result) => reply({ id: message.id, result: result ?? null }),
      (err: unknown) => reply({ id: message.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  process.once('disconnect', () => {
    void Promise.resolve(onDisconnect()).finally(() => process.exit(0));
  });
}
