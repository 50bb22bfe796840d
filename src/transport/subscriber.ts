import { EventEmitter } from 'node:events';
import * as zmq from 'zeromq';
import type { Logger } from '../observability/logger.ts';
import { decodeMessage, type DecodeOptions, type DecodeResult, type MalformedFrame, type MalformedKind } from './codec.ts';
import type { ZmqEvent } from '../pipeline/event.ts';
import { BROKER_FRAME_PREFIX } from './codec-schedulezero.ts';
import { SequenceTracker, type PublisherState } from './seq.ts';
import { LogThrottle } from '../observability/log-throttle.ts';

export type { PublisherState } from './seq.ts';

/** Lifecycle of the ZeroMQ listener, as `/zmq_status` and health report it. */
export type ListenerState = 'stopped' | 'starting' | 'running' | 'stopping';

/** How a {@link Subscriber} connects and what it accepts. */
export interface SubscriberOptions {
  /** ZeroMQ endpoints to connect to (tcp://, ipc://, ...). */
  endpoints: string[];
  /** Topic prefixes to subscribe; an empty list subscribes to everything. */
  topics: string[];
  /** ZMQ_RCVHWM: messages queued per publisher before ZeroMQ drops. */
  receiveHwm: number;
  reconnectIntervalMs: number;
  /** Upper bound of the exponential reconnect backoff; 0 keeps reconnectIntervalMs fixed. */
  reconnectMaxIntervalMs: number;
  /** Payloads larger than this are delivered truncated (kind `oversized`). */
  maxPayloadBytes: number;
  logger: Logger;
}

/** An endpoint that accepts connections but is not a ZeroMQ PUB socket (e.g. ScheduleZero's registration REP). */
export interface EndpointProblem {
  endpoint: string;
  problem: 'not_a_publisher';
  /** What to tell a person: which endpoint, what it is not, where ScheduleZero's broker listens. */
  message: string;
  /** The last handshake error seen, as libzmq reported it. */
  detail: string;
  /** Failed handshakes since the endpoint was last fine. */
  failures: number;
  /** Milliseconds since the epoch of the first failed handshake. */
  since: number;
}

/** Where ScheduleZero's event broker publishes unless configured otherwise (components.event_broker.publish_address). */
export const SCHEDULEZERO_BROKER_DEFAULT = 'tcp://0.0.0.0:5555';

/** The explanation for an endpoint whose peer refused the SUB handshake. */
export function notPublisherMessage(endpoint: string): string {
  const port = /:(\d+)$/.exec(endpoint)?.[1];
  const host = /^tcp:\/\/(.+):\d+$/.exec(endpoint)?.[1] ?? '<host>';
  const registration = port === '4242' || port === '4243' || port === '4244' ? ` Port ${port} is where ScheduleZero's registration server (a REP socket for job handlers) listens.` : '';
  return (
    `${endpoint} is not a ZeroMQ PUB socket: it accepted the connection but refused the SUB handshake.${registration} ` +
    `ScheduleZero's event broker publishes on tcp://${host === '0.0.0.0' || host === '*' ? '127.0.0.1' : host}:5555 by default ` +
    `(components.event_broker.enabled: true, publish_address ${SCHEDULEZERO_BROKER_DEFAULT}); point zmq_pub_address there.`
  );
}

/** How {@link Subscriber.restart} handed over from the old socket to the new one. */
export interface Handover {
  /**
   * `caught-up`: sequence numbers show the old socket was read up to where the new one starts;
   * `quiet`: the new socket was connected and receiving while the old one had nothing waiting;
   * `timeout`: neither within the bound (what was missed shows up as sequence gaps);
   * `fresh`: no socket was running, so a new one was simply opened.
   */
  how: 'caught-up' | 'quiet' | 'timeout' | 'fresh';
  tookMs: number;
  /** Messages read from the old socket while the new one was connecting. */
  fromOldSocket: number;
  /** Messages the new socket had received by the switch, delivered after the old socket's. */
  held: number;
  /** Messages both sockets received, recognised by their sequence number and delivered once. */
  duplicates: number;
}

/** A socket restart() is bringing in: read into `held` until the old one is retired. */
interface Incoming {
  socket: zmq.Subscriber;
  connected: Set<string>;
  held: { result: DecodeResult; oneFrame: boolean }[];
  /** The first seq the new socket got from each sequenced publisher: the old one must reach seq − 1. */
  first: Map<string, { run: string | undefined; seq: number }>;
  /** Held messages without a sequence number: for them only a quiet old socket proves nothing is missed. */
  unsequenced: number;
  /** When the new socket had connected every endpoint the old one had. */
  readyAt?: number;
}

/** A malformed message as reported by the Subscriber's `malformed` event. */
export type MalformedReport = MalformedFrame & { dropped: boolean };

/** Events a {@link Subscriber} emits. Listeners run synchronously on the receive path. */
export interface SubscriberEvents {
  /** Every delivered event, salvaged malformed ones included. */
  event: [ZmqEvent];
  malformed: [MalformedReport];
  gap: [{ src: string; expected: number; got: number; lost: number }];
  /** A publisher started a new run: with run ids, `beforeConnect` of its events came before we connected; without, `lost`. */
  'publisher-restart': [{ src: string; previousSeq: number; seq: number; lost: number; beforeConnect: number; run?: string }];
  /** The first event seen from a publisher (or from its new run) had seq N > 1: N − 1 were sent before we connected. */
  'before-connect': [{ src: string; run?: string; seq: number; count: number }];
  state: [ListenerState];
  connection: [{ endpoint: string; connected: boolean }];
  /** An endpoint was found not to be a PUB socket (`problem` set) or is fine again (`problem` undefined). */
  'endpoint-problem': [{ endpoint: string; problem?: EndpointProblem }];
}

/** Counters since the Subscriber was constructed (they survive restarts). */
export interface SubscriberStats {
  /** Messages received, malformed ones included. */
  received: number;
  /** Events emitted as `event`. received = delivered + dropped malformed messages + filtered. */
  delivered: number;
  /** ScheduleZero broker messages whose mapped topic is not in `topics` (the broker's frames carry no topic for ZeroMQ to filter). */
  filtered: number;
  malformed: Record<string, number>;
  lost: number;
  /** Messages received twice (a handover's overlap, or a publisher repeating a seq in one run), dropped. */
  duplicates: number;
  /** Events publishers sent before we connected to them (first seq seen − 1, per publisher run). */
  beforeConnect: number;
  publisherRestarts: number;
  lastEventAt?: number;
  /** Endpoints with a live connection now (the ZeroMQ handshake done). */
  connected: string[];
  /** Endpoints that are not PUB sockets, as far as their handshakes tell. */
  problems: EndpointProblem[];
}

const MALFORMED_LOG_INTERVAL_MS = 60_000;
const GAP_LOG_INTERVAL_MS = 10_000;
const LISTENER_ERROR_LOG_INTERVAL_MS = 60_000;
const NOT_PUBLISHER_LOG_INTERVAL_MS = 600_000;
// libzmq gives up on an endpoint whose peer failed the handshake for a protocol error, so the
// endpoint is connected again this long after a failure: a PUB may since have replaced the REP.
const NOT_PUBLISHER_RETRY_MS = 30_000;
/** Default bound of restart()'s handover. */
export const DEFAULT_HANDOVER_MS = 2_000;
/** How often the handover checks whether the old socket can go. */
const HANDOVER_POLL_MS = 5;
/** With no traffic, how long the new socket must have been connected before the old one goes. */
const HANDOVER_SETTLE_MS = 50;

/**
 * Receives scheduler events from one or more ZeroMQ PUB endpoints, decodes them, follows
 * publisher sequence numbers and emits typed events. Can be stopped and started again.
 */
export class Subscriber extends EventEmitter<SubscriberEvents> {
  readonly endpoints: string[];
  readonly topics: string[];
  private readonly options: SubscriberOptions;
  // One options object for every message: decodeMessage stamps Date.now() itself.
  private readonly decodeOptions: DecodeOptions;
  private readonly logger: Logger;
  private readonly tracker = new SequenceTracker();
  private readonly malformedLog = new LogThrottle(MALFORMED_LOG_INTERVAL_MS);
  private readonly gapLog = new LogThrottle(GAP_LOG_INTERVAL_MS);
  private readonly listenerErrorLog = new LogThrottle(LISTENER_ERROR_LOG_INTERVAL_MS);
  private readonly connected = new Set<string>();
  // TCP connected, ZeroMQ handshake not (yet) done.
  private readonly handshaking = new Set<string>();
  private readonly problems = new Map<string, EndpointProblem>();
  private readonly notPublisherLog = new LogThrottle(NOT_PUBLISHER_LOG_INTERVAL_MS);
  private readonly rearmTimers = new Map<string, NodeJS.Timeout>();
  // The topic prefixes broker events are matched against once decoded; undefined = everything.
  private readonly brokerTopics: readonly string[] | undefined;
  private socket: zmq.Subscriber | undefined;
  private loop: Promise<void> | undefined;
  private incoming: Incoming | undefined;
  private fromOldSocket = 0;
  private duplicates = 0;
  private current: ListenerState = 'stopped';
  // start/stop/restart run one at a time, in call order.
  private transition: Promise<void> = Promise.resolve();
  // Whether the owner wants the listener running: a failed socket is replaced only then.
  private wanted = false;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private recoveryAttempts = 0;
  private received = 0;
  private delivered = 0;
  private filtered = 0;
  private readonly malformedCounts: Record<string, number> = {};
  private lastEventAt: number | undefined;

  constructor(options: SubscriberOptions) {
    super();
    if (options.endpoints.length === 0) throw new RangeError('Subscriber needs at least one endpoint');
    this.options = options;
    this.decodeOptions = { maxPayloadBytes: options.maxPayloadBytes };
    this.endpoints = [...options.endpoints];
    this.topics = [...options.topics];
    this.logger = options.logger;
    this.brokerTopics = this.topics.length === 0 || this.topics.includes('') ? undefined : this.topics;
  }

  /** The listener's lifecycle state. */
  get state(): ListenerState {
    return this.current;
  }

  /** Opens a new ZeroMQ socket, connects every endpoint and starts receiving. */
  start(): Promise<void> {
    this.wanted = true;
    return this.serialize(() => this.open());
  }

  /** Closes the socket; events queued inside ZeroMQ but not yet received are discarded. */
  stop(): Promise<void> {
    this.wanted = false;
    this.clearRecovery();
    return this.serialize(() => this.close());
  }

  /**
   * Replaces the socket without losing what is in flight: the new socket is connected and
   * subscribed while the old one is still read; the old one is closed once sequence numbers (or,
   * for publishers without them, a moment with nothing waiting on it) show that everything before
   * the new socket's first message was read, at most `timeoutMs` later. Messages both sockets got
   * are delivered once. When no socket is running, it simply opens one.
   */
  restart(timeoutMs: number = DEFAULT_HANDOVER_MS): Promise<Handover> {
    this.wanted = true;
    this.clearRecovery();
    return this.serialize(async (): Promise<Handover> => {
      if (this.current === 'running' && this.socket !== undefined) return this.handover(this.socket, timeoutMs);
      const started = Date.now();
      await this.close();
      await this.open();
      return { how: 'fresh', tookMs: Date.now() - started, fromOldSocket: 0, held: 0, duplicates: 0 };
    });
  }

  /** When anything was last received from publisher `src` (ms since the epoch), if it is known. */
  lastHeardFrom(src: string): number | undefined {
    return this.tracker.get(src)?.lastReceivedAt;
  }

  /** What is known about each publisher seen, most recently seen first. */
  publishers(): PublisherState[] {
    return this.tracker.publishers();
  }

  /** Counters and connection state for health and `/zmq_status`. */
  stats(): SubscriberStats {
    const totals = this.tracker.totals();
    const stats: SubscriberStats = {
      received: this.received,
      delivered: this.delivered,
      filtered: this.filtered,
      malformed: { ...this.malformedCounts },
      lost: totals.lost,
      duplicates: this.duplicates,
      beforeConnect: totals.beforeConnect,
      publisherRestarts: totals.restarts,
      connected: [...this.connected],
      problems: [...this.problems.values()].map((p) => ({ ...p })),
    };
    if (this.lastEventAt !== undefined) stats.lastEventAt = this.lastEventAt;
    return stats;
  }

  private serialize<T>(step: () => Promise<T>): Promise<T> {
    const run = this.transition.then(step);
    this.transition = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private setState(state: ListenerState): void {
    this.current = state;
    this.safeEmit('state', state);
  }

  private async open(): Promise<void> {
    if (this.current === 'running') return;
    this.setState('starting');
    let socket: zmq.Subscriber;
    try {
      socket = this.createSocket();
    } catch (err) {
      this.setState('stopped');
      throw err;
    }
    this.socket = socket;
    this.loop = this.receive(socket);
    this.setState('running');
    this.logger.info({ endpoints: this.endpoints, topics: this.topics.length === 0 ? ['(everything)'] : this.topics }, 'ZeroMQ subscriber started');
  }

  // A subscribed socket connecting every endpoint; throws (closing it) when one cannot be connected.
  private createSocket(): zmq.Subscriber {
    const { receiveHwm, reconnectIntervalMs, reconnectMaxIntervalMs } = this.options;
    const socket = new zmq.Subscriber({
      receiveHighWaterMark: receiveHwm,
      reconnectInterval: reconnectIntervalMs,
      reconnectMaxInterval: reconnectMaxIntervalMs,
      // Linger only holds outgoing messages (here: subscriptions), never received ones; what the
      // old socket holds is read by the handover before it is closed.
      linger: 0,
    });
    this.watchConnections(socket);
    let endpoint = '';
    try {
      if (this.brokerTopics === undefined) socket.subscribe();
      // ScheduleZero's broker sends no topic frame: its frames are let in by their first bytes
      // and matched against the topics once decoded.
      else socket.subscribe(...this.topics, BROKER_FRAME_PREFIX);
      for (endpoint of this.endpoints) socket.connect(endpoint);
    } catch (err) {
      socket.close();
      throw new Error(`cannot connect the ZeroMQ subscriber to ${endpoint}: ${(err as Error).message}`, { cause: err });
    }
    return socket;
  }

  // restart() while running: bring a new socket in beside the old one, then retire the old one.
  private async handover(old: zmq.Subscriber, timeoutMs: number): Promise<Handover> {
    const started = Date.now();
    const oldLoop = this.loop;
    const need = [...this.connected];
    // If this throws, the old socket simply keeps running.
    const socket = this.createSocket();
    const incoming: Incoming = { socket, connected: new Set(), held: [], first: new Map(), unsequenced: 0 };
    this.incoming = incoming;
    this.fromOldSocket = 0;
    const loop = this.receive(socket);
    const how = await new Promise<Handover['how']>((resolve) => {
      const finish = (result: Handover['how']): void => {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve(result);
      };
      // Polled from a timer, so every message either socket had already received is handled first.
      const poll = setInterval(() => {
        const ready = this.handoverReady(incoming, old, need);
        if (ready !== undefined) finish(ready);
      }, HANDOVER_POLL_MS);
      const deadline = setTimeout(() => finish('timeout'), timeoutMs);
    });
    // The switch, in one synchronous step: the old socket's messages were delivered, the held ones follow.
    this.incoming = undefined;
    this.socket = socket;
    this.loop = loop;
    old.close();
    this.adoptConnections(incoming.connected);
    // Endpoints found not to be publishers are retried on the new socket, no longer on the old one.
    for (const timer of this.rearmTimers.values()) clearTimeout(timer);
    this.rearmTimers.clear();
    this.handshaking.clear();
    for (const endpoint of this.problems.keys()) if (!this.connected.has(endpoint)) this.rearm(socket, endpoint);
    const duplicatesBefore = this.duplicates;
    for (const { result, oneFrame } of incoming.held) this.accept(result, true, oneFrame);
    const outcome: Handover = { how, tookMs: Date.now() - started, fromOldSocket: this.fromOldSocket, held: incoming.held.length, duplicates: this.duplicates - duplicatesBefore };
    await oldLoop;
    const log = { ...outcome, connected: [...this.connected] };
    if (how === 'timeout') this.logger.warn(log, `ZeroMQ subscriber restarted; the handover was not proven complete within ${timeoutMs} ms (anything missed shows up as sequence gaps)`);
    else this.logger.info(log, `ZeroMQ subscriber restarted with a new socket (handover: ${how})`);
    return outcome;
  }

  // Whether the old socket can go, and why; undefined while it must still be read.
  private handoverReady(incoming: Incoming, old: zmq.Subscriber, need: readonly string[]): Handover['how'] | undefined {
    for (const endpoint of need) if (!incoming.connected.has(endpoint)) return undefined;
    if (incoming.held.length >= this.options.receiveHwm) return 'timeout';
    const now = Date.now();
    incoming.readyAt ??= now;
    const oldIdle = !old.readable;
    for (const [src, { run, seq }] of incoming.first) {
      const last = this.tracker.lastSeq(src, run);
      // A publisher the old socket never delivered: nothing of it to wait for once that socket is idle.
      if (last === undefined ? !oldIdle : last < seq - 1) return undefined;
    }
    if (incoming.first.size > 0 && incoming.unsequenced === 0) return 'caught-up';
    if (!oldIdle) return undefined;
    if (incoming.held.length === 0 && now - incoming.readyAt < HANDOVER_SETTLE_MS) return undefined;
    return incoming.first.size > 0 ? 'caught-up' : 'quiet';
  }

  // Takes over the new socket's connections, reporting only endpoints whose state changed.
  private adoptConnections(next: ReadonlySet<string>): void {
    for (const endpoint of [...this.connected]) {
      if (next.has(endpoint)) continue;
      this.connected.delete(endpoint);
      this.safeEmit('connection', { endpoint, connected: false });
    }
    for (const endpoint of next) {
      if (this.connected.has(endpoint)) continue;
      this.connected.add(endpoint);
      this.safeEmit('connection', { endpoint, connected: true });
    }
  }

  private async close(): Promise<void> {
    if (this.current === 'stopped') return;
    this.setState('stopping');
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
    await this.loop;
    this.loop = undefined;
    for (const endpoint of this.connected) this.safeEmit('connection', { endpoint, connected: false });
    this.connected.clear();
    this.handshaking.clear();
    for (const timer of this.rearmTimers.values()) clearTimeout(timer);
    this.rearmTimers.clear();
    this.setState('stopped');
    this.logger.info('ZeroMQ subscriber stopped');
  }

  // A peer counts as connected once the ZeroMQ handshake is done, not when TCP connects: a REP
  // socket (ScheduleZero's registration server) accepts the TCP connection and then refuses a SUB.
  private watchConnections(socket: zmq.Subscriber): void {
    const events = socket.events;
    events.on('connect', ({ address }) => {
      if (socket === this.socket) this.handshaking.add(address);
    });
    events.on('handshake', ({ address }) => this.setConnected(socket, address, true));
    events.on('disconnect', ({ address }) => {
      if (socket !== this.socket) return;
      if (this.handshaking.delete(address) && !this.connected.has(address)) this.handshakeFailed(socket, address, 'the peer closed the connection during the ZeroMQ handshake');
      this.setConnected(socket, address, false);
    });
    events.on('connect:retry', ({ address, interval }) => this.logger.debug({ endpoint: address, retryInMs: interval }, 'ZeroMQ endpoint not reachable; retrying'));
    events.on('handshake:error:protocol', ({ address, error }) => this.handshakeFailed(socket, address, `protocol error: ${error.message}`));
    events.on('handshake:error:auth', ({ address, error }) => this.logger.warn({ endpoint: address, err: error }, 'ZeroMQ handshake failed (authentication)'));
    events.on('handshake:error:other', ({ address, error }) => this.handshakeFailed(socket, address, error.message));
  }

  // Reported once per endpoint (then every 10 minutes while it lasts), and retried: libzmq drops
  // the endpoint after a protocol error, so nothing would ever be heard from it again.
  private handshakeFailed(socket: zmq.Subscriber, endpoint: string, detail: string): void {
    if (socket !== this.socket) return;
    this.handshaking.delete(endpoint);
    const now = Date.now();
    const known = this.problems.get(endpoint);
    const problem: EndpointProblem = known ?? { endpoint, problem: 'not_a_publisher', message: notPublisherMessage(endpoint), detail, failures: 0, since: now };
    problem.detail = detail;
    problem.failures += 1;
    this.problems.set(endpoint, problem);
    const decision = this.notPublisherLog.hit(endpoint, now);
    if (decision.log) this.logger.error({ endpoint, detail, failures: problem.failures, hint: `ScheduleZero's event broker: ${SCHEDULEZERO_BROKER_DEFAULT}` }, problem.message);
    if (known === undefined) this.safeEmit('endpoint-problem', { endpoint, problem: { ...problem } });
    this.rearm(socket, endpoint);
  }

  private rearm(socket: zmq.Subscriber, endpoint: string): void {
    if (this.rearmTimers.has(endpoint)) return;
    const timer = setTimeout(() => {
      this.rearmTimers.delete(endpoint);
      if (socket !== this.socket || this.connected.has(endpoint) || this.handshaking.has(endpoint)) return;
      try {
        socket.disconnect(endpoint);
        socket.connect(endpoint);
      } catch (err) {
        this.logger.warn({ endpoint, err }, 'could not connect the ZeroMQ endpoint again');
      }
    }, NOT_PUBLISHER_RETRY_MS);
    timer.unref();
    this.rearmTimers.set(endpoint, timer);
  }

  private setConnected(socket: zmq.Subscriber, endpoint: string, connected: boolean): void {
    const incoming = this.incoming;
    if (incoming !== undefined && socket === incoming.socket) {
      if (connected) incoming.connected.add(endpoint);
      else incoming.connected.delete(endpoint);
      return;
    }
    // Events from a socket that was already replaced describe a connection that no longer counts.
    if (socket !== this.socket) return;
    if (connected) {
      this.handshaking.delete(endpoint);
      if (this.problems.delete(endpoint)) {
        this.logger.info({ endpoint }, 'ZeroMQ endpoint completed the handshake: it is a publisher after all');
        this.safeEmit('endpoint-problem', { endpoint });
      }
    }
    if (connected === this.connected.has(endpoint)) return;
    if (connected) this.connected.add(endpoint);
    else this.connected.delete(endpoint);
    this.logger.info({ endpoint }, connected ? 'ZeroMQ publisher connected' : 'ZeroMQ publisher disconnected; reconnecting');
    this.safeEmit('connection', { endpoint, connected });
  }

  private async receive(socket: zmq.Subscriber): Promise<void> {
    try {
      for await (const frames of socket) {
        try {
          const result = decodeMessage(frames, this.decodeOptions);
          const oneFrame = frames.length === 1;
          if (socket === this.socket) {
            if (this.incoming !== undefined) this.fromOldSocket += 1;
            this.accept(result, false, oneFrame);
          } else if (socket === this.incoming?.socket) this.hold(this.incoming, result, oneFrame);
          // A late message from the socket a handover just retired: the new one may have it too.
          else this.accept(result, true, oneFrame);
        } catch (err) {
          this.onListenerError(err);
        }
      }
    } catch (err) {
      if (socket !== this.socket) return;
      this.logger.error({ err }, 'ZeroMQ receive failed; restarting the subscriber');
      this.scheduleRecovery();
      return;
    }
    if (socket === this.socket) {
      this.logger.error('ZeroMQ socket closed unexpectedly; restarting the subscriber');
      this.scheduleRecovery();
    }
  }

  // What the new socket receives during a handover waits; the first seq of each publisher is noted.
  private hold(incoming: Incoming, result: DecodeResult, oneFrame: boolean): void {
    incoming.held.push({ result, oneFrame });
    const meta = result.ok ? result.event.meta : undefined;
    if (meta?.src === undefined || meta.seq === undefined) incoming.unsequenced += 1;
    else if (!incoming.first.has(meta.src)) incoming.first.set(meta.src, { run: meta.run, seq: meta.seq });
  }

  // The hot path: one call per message. With `dedupe` (a handover's overlap), a message whose seq
  // was already delivered is dropped as a duplicate.
  private accept(result: DecodeResult, dedupe: boolean, oneFrame: boolean): void {
    this.received += 1;
    if (!result.ok) {
      this.onMalformed(result.malformed, true, Date.now());
      return;
    }
    const event = result.event;
    const now = event.meta.receivedAt;
    const { src, seq, run } = event.meta;
    if (src !== undefined && seq !== undefined) {
      const last = dedupe ? this.tracker.lastSeq(src, run) : undefined;
      if ((last !== undefined && seq <= last) || !this.trackSequence(src, seq, event.meta.ts, now, run)) {
        this.duplicates += 1;
        return;
      }
    } else if (src !== undefined) this.tracker.heard(src, now);
    if (result.malformed !== undefined) this.onMalformed(result.malformed, false, now);
    // Only a ScheduleZero broker message is one frame; ZeroMQ let it in by its prefix, not its topic.
    if (oneFrame && this.brokerTopics !== undefined && !this.brokerTopics.some((t) => event.topic.startsWith(t))) {
      this.filtered += 1;
      return;
    }
    this.delivered += 1;
    this.lastEventAt = now;
    this.recoveryAttempts = 0;
    this.emit('event', event);
  }

  // False when the message is a duplicate (a seq not after the last of its run), not to be delivered.
  private trackSequence(src: string, seq: number, ts: string | undefined, now: number, run: string | undefined): boolean {
    const seen = this.tracker.observe(src, seq, ts, now, run);
    if (seen.kind === 'next') return true;
    if (seen.kind === 'gap') {
      const decision = this.gapLog.hit(src, now);
      if (decision.log) {
        this.logger.warn(
          { src, run, expected: seen.expected, got: seen.got, lost: seen.lost, gapsNotLogged: decision.suppressed, lostTotal: this.tracker.get(src)?.lost },
          `sequence gap from publisher ${src}: ${seen.lost} event(s) lost`,
        );
      }
      this.safeEmit('gap', { src, expected: seen.expected, got: seen.got, lost: seen.lost });
    } else if (seen.kind === 'restart') {
      const restart = { src, previousSeq: seen.previousSeq, seq: seen.seq, lost: seen.lost, beforeConnect: seen.beforeConnect, ...(run !== undefined && { run }) };
      const how = run === undefined ? `seq ${seen.previousSeq} -> ${seen.seq}` : `new run ${run} at seq ${seen.seq}`;
      this.logger.warn({ ...restart, previousRun: seen.previousRun }, `publisher ${src} restarted (${how})`);
      this.safeEmit('publisher-restart', restart);
      this.reportBeforeConnect(src, run, seq, seen.beforeConnect);
    } else if (seen.kind === 'first') {
      this.reportBeforeConnect(src, run, seq, seen.beforeConnect);
    } else {
      const decision = this.gapLog.hit(`${src}\u0000duplicate`, now);
      if (decision.log) this.logger.warn({ src, run, seq, lastSeq: seen.lastSeq, notLogged: decision.suppressed }, `publisher ${src} sent seq ${seq} again in run ${run ?? '-'}: dropped as a duplicate`);
      return false;
    }
    return true;
  }

  private reportBeforeConnect(src: string, run: string | undefined, seq: number, count: number): void {
    if (count <= 0) return;
    this.logger.info({ src, run, seq, beforeConnect: count }, `publisher ${src}: first event seen is seq ${seq}, so ${count} were sent before we connected (not counted as lost)`);
    this.safeEmit('before-connect', { src, seq, count, ...(run !== undefined && { run }) });
  }

  private onMalformed(malformed: MalformedFrame, dropped: boolean, now: number): void {
    const kind: MalformedKind = malformed.kind;
    const total = (this.malformedCounts[kind] ?? 0) + 1;
    this.malformedCounts[kind] = total;
    const decision = this.malformedLog.hit(kind, now);
    if (decision.log) {
      this.logger.warn(
        { kind, detail: malformed.detail, sample: malformed.sample, topic: malformed.topic, dropped, total, notLoggedSinceLast: decision.suppressed },
        `malformed ZeroMQ message (${kind}), ${dropped ? 'dropped' : 'delivered as raw data'}; further ones of this kind are counted and logged at most once a minute`,
      );
    }
    this.safeEmit('malformed', { ...malformed, dropped });
  }

  // A listener that throws must not take the receive loop (or the other listeners) with it.
  private safeEmit<K extends keyof SubscriberEvents>(name: K, ...args: SubscriberEvents[K]): void {
    try {
      (this.emit as (name: K, ...args: SubscriberEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.onListenerError(err);
    }
  }

  private onListenerError(err: unknown): void {
    const decision = this.listenerErrorLog.hit('listener', Date.now());
    if (decision.log) this.logger.error({ err, notLoggedSinceLast: decision.suppressed }, 'a Subscriber event listener threw; the receive loop goes on');
  }

  private scheduleRecovery(): void {
    this.clearRecovery();
    const base = Math.max(this.options.reconnectIntervalMs, 100);
    const ceiling = Math.max(this.options.reconnectMaxIntervalMs, base, 1_000);
    const delay = Math.min(base * 2 ** this.recoveryAttempts, ceiling);
    this.recoveryAttempts += 1;
    this.recoveryTimer = setTimeout(() => {
      this.recoveryTimer = undefined;
      this.serialize(async () => {
        if (!this.wanted) return;
        await this.close();
        await this.open();
      }).catch((err: unknown) => {
        this.logger.error({ err }, 'ZeroMQ subscriber could not restart itself; trying again');
        if (this.wanted) this.scheduleRecovery();
      });
    }, delay);
  }

  private clearRecovery(): void {
    if (this.recoveryTimer !== undefined) clearTimeout(this.recoveryTimer);
    this.recoveryTimer = undefined;
  }
}
