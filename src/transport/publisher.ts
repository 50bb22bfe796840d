import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import * as zmq from 'zeromq';
import type { Logger } from '../observability/logger.ts';
import { encodeMessage, type Envelope } from './codec.ts';
import { BROKER_FRAME_PREFIX } from './codec-schedulezero.ts';

/** How an {@link EventPublisher} attaches to the network and what it sends on its own. */
export interface EventPublisherOptions {
  /** ZeroMQ endpoint; `tcp://127.0.0.1:*` or port 0 binds any free port (see `endpoint`). */
  endpoint: string;
  /** Bind (the scheduler's usual role, default) or connect to a bound subscriber or proxy. */
  mode?: 'bind' | 'connect';
  /** Publisher id in every envelope. Default when binding: `${hostname}@${endpoint}`, stable
   *  across restarts so subscribers report a restart rather than a new publisher; when
   *  connecting (several processes may share an endpoint): `${hostname}:${pid}:${random}`. */
  src?: string;
  /** Sends `scheduler.heartbeat` every this many ms; null or absent: no heartbeat. */
  heartbeatIntervalMs?: number | null;
  /** `deployment` field of heartbeats; default the host name. */
  deployment?: string;
  /** How long close() lets queued messages drain, in ms (default 2000). */
  lingerMs?: number;
  /** ZMQ_SNDHWM: messages queued per subscriber before they are dropped (default 10000). */
  sendHwm?: number;
  /** Wait for a full subscriber instead of dropping (ZMQ_XPUB_NODROP); default false. */
  noDrop?: boolean;
  /** With noDrop, how long publish() waits for room before it rejects (default: forever).
   *  Sends are queued one after another then, since a ZeroMQ socket allows one waiting send. */
  sendTimeoutMs?: number;
  /** Receives heartbeat failures; silent when absent. */
  logger?: Logger;
}

/** A pending waitForSubscriber() call. */
interface Waiter {
  matches: (prefixes: ReadonlySet<string>) => boolean;
  resolve: (found: boolean) => void;
  timer: NodeJS.Timeout;
}

const SUBSCRIBE = 1;
const UNSUBSCRIBE = 0;

/** The default publisher id: stable for a bound endpoint, unique per process when connecting. */
export function defaultSource(mode: 'bind' | 'connect' = 'connect', endpoint?: string): string {
  if (mode === 'bind' && endpoint) return `${hostname()}@${endpoint}`;
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Publishes events in the wire format: topic, JSON payload and an envelope with a
 * per-publisher sequence number. Sees subscriptions (XPUB), so it can wait for a subscriber.
 * Binds by default, as a scheduler does; `mode: 'connect'` attaches to a bound subscriber or proxy.
 * @example
 * import { EventPublisher } from 'zmq-notify';
 *
 * const publisher = new EventPublisher({ endpoint: 'tcp://127.0.0.1:4243', heartbeatIntervalMs: 30_000 });
 * await publisher.open();
 * // A PUB socket drops what it sends before a subscriber is connected: wait for one first.
 * await publisher.waitForSubscriber(5_000, 'job.failed');
 * await publisher.publish('job.failed', { job_id: 'backup', job_name: 'Nightly backup', error: 'disk full' });
 * await publisher.close();   // lets queued messages leave for up to lingerMs (2 s)
 */
export class EventPublisher {
  private readonly options: EventPublisherOptions;
  private source: string | undefined;
  private socket: zmq.XPublisher | undefined;
  private boundEndpoint: string;
  private sequence = 0;
  private runId = '';
  // Prefixes at least one connected subscriber holds (non-verbose XPUB reports each once).
  private readonly prefixes = new Set<string>();
  private readonly waiters = new Set<Waiter>();
  private subscriptionLoop: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  // Only with noDrop can a send wait; then sends must run one at a time.
  private lastSend: Promise<void> = Promise.resolve();

  constructor(options: EventPublisherOptions) {
    this.options = options;
    this.source = options.src;
    this.boundEndpoint = options.endpoint;
  }

  /** The endpoint in use: for a bind to port `*` or 0, the port the system chose. */
  get endpoint(): string {
    return this.boundEndpoint;
  }

  /** The sequence number of the last message sent (0 before the first). */
  get seq(): number {
    return this.sequence;
  }

  /** This start's run id, stamped on every envelope ('' before open()): a new one per open(), so subscribers tell a restart from a gap exactly. */
  get run(): string {
    return this.runId;
  }

  /** The publisher id stamped on every envelope. */
  get src(): string {
    this.source ??= defaultSource(this.options.mode ?? 'bind', this.boundEndpoint);
    return this.source;
  }

  /** Topic prefixes subscribers currently hold (not the ScheduleZero frame prefix every bot also holds). */
  subscriptions(): string[] {
    return [...this.prefixes].filter((prefix) => prefix !== BROKER_FRAME_PREFIX);
  }

  /**
   * Binds or connects the socket and starts heartbeats if configured. Rejects with an error naming
   * the endpoint when it cannot bind (in use, bad address).
   * @example
   * const publisher = new EventPublisher({ endpoint: 'tcp://127.0.0.1:0' });
   * await publisher.open();
   * console.log(publisher.endpoint);   // tcp://127.0.0.1:<the port the system chose>
   */
  async open(): Promise<void> {
    if (this.socket !== undefined) throw new Error('EventPublisher is already open');
    const { endpoint, mode = 'bind', sendHwm = 10_000, noDrop = false, sendTimeoutMs } = this.options;
    const socket = new zmq.XPublisher({ sendHighWaterMark: sendHwm, noDrop, linger: this.options.lingerMs ?? 2_000 });
    if (sendTimeoutMs !== undefined) socket.sendTimeout = sendTimeoutMs;
    try {
      if (mode === 'bind') {
        await socket.bind(endpoint);
        this.boundEndpoint = socket.lastEndpoint ?? endpoint;
      } else {
        socket.connect(endpoint);
        this.boundEndpoint = endpoint;
      }
    } catch (err) {
      socket.close();
      throw new Error(`cannot ${mode} the ZeroMQ publisher to ${endpoint}: ${(err as Error).message}`, { cause: err });
    }
    this.source ??= defaultSource(mode, this.boundEndpoint);
    // A new run starts its sequence at 1 again.
    this.runId = randomBytes(6).toString('base64url');
    this.sequence = 0;
    this.socket = socket;
    this.subscriptionLoop = this.readSubscriptions(socket);
    const interval = this.options.heartbeatIntervalMs;
    if (interval !== null && interval !== undefined && interval > 0) {
      this.heartbeat = setInterval(() => this.sendHeartbeat(), interval);
    }
  }

  /**
   * Publishes one event, stamping the envelope with the next sequence number.
   * @example
   * await publisher.publish('job.executed', { job_id: '42', job_name: 'nightly-etl', duration: 12.5 });
   */
  async publish(topic: string, data: object): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) throw new Error('EventPublisher is not open');
    if (typeof topic !== 'string' || topic.length === 0) throw new TypeError('topic must be a non-empty string');
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new TypeError('data must be a JSON object');
    this.sequence += 1;
    const envelope: Envelope = { v: 1, seq: this.sequence, ts: new Date().toISOString(), src: this.src, run: this.runId };
    const frames = encodeMessage(topic, data, envelope);
    if (!this.options.noDrop) return socket.send(frames);
    const send = this.lastSend.then(() => socket.send(frames));
    this.lastSend = send.catch(() => undefined);
    return send;
  }

  /**
   * Resolves true once a subscriber holds a subscription (one that would receive `topic`, when
   * given), false after `timeoutMs`. True means a message sent now reaches that subscriber.
   */
  waitForSubscriber(timeoutMs: number, topic?: string): Promise<boolean> {
    const matches = (prefixes: ReadonlySet<string>): boolean => {
      if (topic === undefined) return prefixes.size > 0;
      for (const prefix of prefixes) if (topic.startsWith(prefix)) return true;
      return false;
    };
    if (matches(this.prefixes)) return Promise.resolve(true);
    if (this.socket === undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        matches,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Stops heartbeats and closes the socket; queued messages get up to `lingerMs` to leave. */
  async close(): Promise<void> {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return;
    socket.close();
    await this.subscriptionLoop;
    this.subscriptionLoop = undefined;
    this.prefixes.clear();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.waiters.clear();
  }

  private sendHeartbeat(): void {
    const deployment = this.options.deployment ?? hostname();
    this.publish('scheduler.heartbeat', { deployment, timestamp: new Date().toISOString() }).catch((err: unknown) => {
      this.options.logger?.warn({ err }, 'could not send scheduler.heartbeat');
    });
  }

  // XPUB hands each subscription change to the application as a message: 1|prefix or 0|prefix.
  private async readSubscriptions(socket: zmq.XPublisher): Promise<void> {
    try {
      for await (const [message] of socket) {
        if (message === undefined || message.length === 0) continue;
        const prefix = message.subarray(1).toString('utf8');
        if (message[0] === SUBSCRIBE) this.prefixes.add(prefix);
        else if (message[0] === UNSUBSCRIBE) this.prefixes.delete(prefix);
        this.wakeWaiters();
      }
    } catch (err) {
      if (socket === this.socket) this.options.logger?.warn({ err }, 'stopped reading ZeroMQ subscriptions');
    }
  }

  private wakeWaiters(): void {
    for (const waiter of this.waiters) {
      if (!waiter.matches(this.prefixes)) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve(true);
    }
  }
}
