import { EventEmitter } from 'node:events';
import { Request } from 'zeromq';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { parseLossless } from './wire.ts';

/** Where the bot stands with the ScheduleZero server. */
export type RegistrationState = 'stopped' | 'connecting' | 'registered' | 'retrying';

/** Options for {@link Registration}. */
export interface RegistrationOptions {
  /** The server's registration REP, e.g. `tcp://127.0.0.1:4242`. */
  serverAddress: string;
  handlerId: string;
  /** The job endpoint's address as the server must reach it (read at each registration). */
  address: () => string;
  /** The job methods to register (read at each registration). */
  methods: () => string[];
  logger: Logger;
  metrics?: Metrics;
  /** How often a registered bot pings the server (default 30 s, as ScheduleZero's handler base). */
  pingIntervalMs?: number;
  /** Send and receive timeout of each request (default 10 s, as ScheduleZero's handler base). */
  requestTimeoutMs?: number;
  /** First wait after a failure; it doubles per failure up to retryMaxMs (defaults 1 s, 30 s). Never gives up. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** What `/zmq_status` and `/healthz` show of the registration. */
export interface RegistrationStatus {
  state: RegistrationState;
  server: string;
  handlerId: string;
  address: string;
  methods: number;
  /** When the server last accepted the registration (ms epoch), or null. */
  registeredAt: number | null;
  /** When the server last answered a ping (ms epoch), or null. */
  lastPongAt: number | null;
  /** Successful registrations (the first and every re-registration). */
  registrations: number;
  /** Failures in a row (0 while registered). */
  failures: number;
  lastError: string | null;
  /** When the next attempt is due while retrying (ms epoch), or null. */
  retryAt: number | null;
}

/**
 * The bot's registration with ScheduleZero's server (schedulezero.md §2.2), over a REQ socket:
 * `ping`, then `register {handler_id, address, methods}`; a ping every 30 s; after a failed ping,
 * a disconnect (a server restart) or a method-list change it registers again; after a failure it
 * retries with capped backoff and never gives up; `report_status offline` when stopped.
 * A REQ socket whose request timed out cannot send again, so every failure gets a fresh socket.
 */
export class Registration extends EventEmitter<{ state: [state: RegistrationState] }> {
  private readonly options: Required<Omit<RegistrationOptions, 'metrics'>> & { metrics?: Metrics };
  private socket?: Request;
  private loop?: Promise<void>;
  private stopped = true;
  private needsRegister = true;
  private wake?: () => void;
  private current: RegistrationStatus;

  constructor(options: RegistrationOptions) {
    super();
    this.options = { pingIntervalMs: 30_000, requestTimeoutMs: 10_000, retryBaseMs: 1_000, retryMaxMs: 30_000, ...options };
    this.current = {
      state: 'stopped',
      server: options.serverAddress,
      handlerId: options.handlerId,
      address: '',
      methods: 0,
      registeredAt: null,
      lastPongAt: null,
      registrations: 0,
      failures: 0,
      lastError: null,
      retryAt: null,
    };
  }

  /** Starts registering in the background; never throws (failures are retried). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.needsRegister = true;
    this.loop = this.run();
  }

  /** Registers again soon, e.g. after a sprocket was loaded or unloaded. */
  reregister(): void {
    this.needsRegister = true;
    this.wake?.();
  }

  /** A snapshot of the registration. */
  status(): RegistrationStatus {
    return { ...this.current };
  }

  /** Whether the server has accepted the current registration. */
  get registered(): boolean {
    return this.current.state === 'registered';
  }

  /**
   * Stops pinging and, when registered, tells the server `report_status offline` (waiting at most
   * `timeoutMs`, default 2 s). Resolves with the server's reply, or null when none was sent or received.
   */
  async stop(timeoutMs = 2_000): Promise<Record<string, unknown> | null> {
    if (this.stopped) return null;
    const wasRegistered = this.registered;
    this.stopped = true;
    this.wake?.();
    this.closeSocket();
    await this.loop;
    this.setState('stopped');
    if (!wasRegistered) return null;
    const socket = this.newSocket(timeoutMs);
    try {
      const reply = await this.request(socket, { method: 'report_status', params: { handler_id: this.options.handlerId, status: 'offline' } });
      this.options.logger.info({ reply }, 'reported offline to the ScheduleZero server');
      return reply;
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, `could not report offline to the ScheduleZero server: ${(err as Error).message}`);
      return null;
    } finally {
      socket.close();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        this.socket ??= this.newSocket(this.options.requestTimeoutMs);
        const socket = this.socket;
        if (this.needsRegister || !this.registered) {
          this.setState(this.current.failures > 0 ? 'retrying' : 'connecting');
          await this.ping(socket);
          await this.register(socket);
        }
        await this.sleep(this.options.pingIntervalMs);
        if (this.stopped || this.needsRegister) continue;
        await this.ping(socket);
      } catch (err) {
        if (this.stopped) break;
        this.fail(err as Error);
        this.closeSocket();
        const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(20, this.current.failures - 1));
        this.current.retryAt = Date.now() + delay;
        await this.sleep(delay);
        this.current.retryAt = null;
      }
    }
  }

  private async ping(socket: Request): Promise<void> {
    const reply = await this.request(socket, { method: 'ping' });
    if (reply.success !== true) throw new Error(`ping failed: ${JSON.stringify(reply)}`);
    this.current.lastPongAt = Date.now();
  }

  private async register(socket: Request): Promise<void> {
    const address = this.options.address();
    const methods = this.options.methods();
    this.needsRegister = false;
    const reply = await this.request(socket, { method: 'register', params: { handler_id: this.options.handlerId, address, methods } });
    if (reply.success !== true) {
      this.options.metrics?.handlerRegistrations.inc({ result: 'refused' });
      this.needsRegister = true;
      throw new Error(`the server refused the registration: ${String(reply.error ?? JSON.stringify(reply))}`);
    }
    const status = String(reply.status ?? 'registered');
    this.options.metrics?.handlerRegistrations.inc({ result: status === 're-registered' ? 're-registered' : 'registered' });
    Object.assign(this.current, { address, methods: methods.length, registeredAt: Date.now(), failures: 0, lastError: null });
    this.current.registrations++;
    this.setState('registered');
    this.options.logger.info({ server: this.options.serverAddress, handlerId: this.options.handlerId, address, methods, status }, `registered with ScheduleZero at ${this.options.serverAddress} (${status}, ${methods.length} methods)`);
  }

  private fail(err: Error): void {
    const wasRegistered = this.registered;
    this.current.failures++;
    this.current.lastError = err.message;
    this.needsRegister = true;
    if (!wasRegistered) this.options.metrics?.handlerRegistrations.inc({ result: 'failed' });
    this.setState('retrying');
    const log = { server: this.options.serverAddress, failures: this.current.failures, err: err.message };
    // Every failure while the server is away would flood the log: the first few, then every tenth.
    if (wasRegistered) this.options.logger.warn(log, `lost the ScheduleZero server at ${this.options.serverAddress}: ${err.message}; registering again`);
    else if (this.current.failures <= 3 || this.current.failures % 10 === 0) this.options.logger.warn(log, `cannot register with ScheduleZero at ${this.options.serverAddress}: ${err.message}; retrying`);
  }

  private newSocket(timeoutMs: number): Request {
    const socket = new Request({ sendTimeout: timeoutMs, receiveTimeout: timeoutMs, linger: 0 });
    socket.connect(this.options.serverAddress);
    // A server that restarted has forgotten nothing (it saves its registry) but may have a new
    // address book; registering again costs one request.
    socket.events.on('disconnect', () => {
      if (socket !== this.socket || !this.registered) return;
      this.options.logger.info({ server: this.options.serverAddress }, 'the ScheduleZero server disconnected; registering again once it is back');
      this.reregister();
    });
    return socket;
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (socket && !socket.closed) socket.close();
  }

  private async request(socket: Request, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      await socket.send(JSON.stringify(body));
      const [frame] = await socket.receive();
      const reply = parseLossless(frame?.toString('utf8') ?? '');
      if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) throw new Error(`the server answered ${JSON.stringify(reply)}, not an object`);
      return reply as Record<string, unknown>;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EAGAIN') throw new Error(`no reply to ${String(body.method)} within ${this.options.requestTimeoutMs} ms`);
      throw err;
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private setState(state: RegistrationState): void {
    if (this.current.state === state) return;
    this.current.state = state;
    this.options.metrics?.handlerRegistered.set(state === 'registered' ? 1 : 0);
    this.emit('state', state);
  }
}
