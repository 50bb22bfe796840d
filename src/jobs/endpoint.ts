import { Reply } from 'zeromq';
import type { Logger } from '../observability/logger.ts';
import { LogThrottle } from '../observability/log-throttle.ts';
import type { JobCallError, JobRegistry } from './registry.ts';
import { decodeRequest, encodeReply, errorReply, successReply } from './wire.ts';
import { ipAllowList, zapHandler } from './zap.ts';

/** Options for {@link JobEndpoint}. */
export interface JobEndpointOptions {
  registry: JobRegistry;
  /** Answered in `ping` replies. */
  handlerId: string;
  /** Where the REP socket binds, e.g. `tcp://127.0.0.1:5000`. */
  bind: string;
  /**
   * A call still running after this long is answered `{"success": true, "pending": true, ...}` so
   * that ScheduleZero's 10 s timeout never fires; it keeps running and its outcome is logged and
   * counted. Default 8,000 ms; must stay below 10,000.
   */
  replyTimeoutMs?: number;
  /** Peer IPs (or subnets) allowed to connect, enforced through ZAP; absent = anyone who can reach the port. */
  allowIps?: readonly string[];
  logger: Logger;
}

/** What the endpoint has answered. */
export interface JobEndpointStats {
  endpoint: string;
  requests: number;
  /** Calls answered "pending" because they ran past replyTimeoutMs. */
  pendingReplies: number;
  /** Connections ZAP refused (allow_ips). */
  refusedConnections: number;
  lastRequestAt: number | null;
}

let domains = 0;

/** The largest request frame accepted (libzmq drops the connection of a peer that sends more). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * ScheduleZero's job side: a REP socket answering `{"method","params"}` requests one at a time,
 * in order, each within `replyTimeoutMs` (ScheduleZero gives up after 10 s), through the JobRegistry.
 * @example
 * const endpoint = new JobEndpoint({ registry, handlerId: 'discord-bot', bind: 'tcp://127.0.0.1:5000', logger });
 * const address = await endpoint.start(); // register this address with the server
 */
export class JobEndpoint {
  private readonly options: JobEndpointOptions;
  private socket?: Reply;
  private serving?: Promise<void>;
  private bound = '';
  private readonly domain = `zmq-notify-jobs-${process.pid}-${++domains}`;
  private stopZap?: () => Promise<void>;
  private readonly refusedLog = new LogThrottle(10_000, 100);
  private counts = { requests: 0, pendingReplies: 0, lastRequestAt: null as number | null };

  constructor(options: JobEndpointOptions) {
    const replyTimeoutMs = options.replyTimeoutMs ?? 8_000;
    if (!(replyTimeoutMs > 0 && replyTimeoutMs < 10_000)) throw new RangeError(`replyTimeoutMs must be between 0 and 10,000 (ScheduleZero's timeout), got ${replyTimeoutMs}`);
    this.options = { ...options, replyTimeoutMs };
  }

  /** Binds the socket and starts answering; resolves with the bound endpoint (the port filled in when 0 was asked). */
  async start(): Promise<string> {
    if (this.socket) throw new Error('JobEndpoint.start: already started');
    // A job request is a few KB; a peer sending more than 1 MiB is disconnected rather than buffered.
    const socket = new Reply({ linger: 0, maxMessageSize: MAX_REQUEST_BYTES });
    try {
      if (this.options.allowIps) {
        this.stopZap = await zapHandler.register(this.domain, ipAllowList(this.options.allowIps), this.options.logger);
        socket.zapDomain = this.domain;
      }
      await socket.bind(this.options.bind);
    } catch (err) {
      socket.close();
      await this.stopZap?.();
      throw new Error(`cannot bind the job endpoint at ${this.options.bind}: ${(err as Error).message}`);
    }
    this.socket = socket;
    this.bound = socket.lastEndpoint ?? this.options.bind;
    this.serving = this.serve(socket);
    this.options.logger.info({ endpoint: this.bound, allowIps: this.options.allowIps ?? null }, `job endpoint listening at ${this.bound}`);
    return this.bound;
  }

  /** The bound endpoint ('' before start). */
  get endpoint(): string {
    return this.bound;
  }

  /** Counts for /zmq_status and /healthz. */
  stats(): JobEndpointStats {
    return {
      endpoint: this.bound,
      requests: this.counts.requests,
      pendingReplies: this.counts.pendingReplies,
      refusedConnections: zapHandler.denied(this.domain),
      lastRequestAt: this.counts.lastRequestAt,
    };
  }

  /** Stops answering and closes the socket (a request being handled gets no reply). */
  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    socket.close();
    await this.serving;
    await this.stopZap?.();
  }

  private async serve(socket: Reply): Promise<void> {
    try {
      for await (const [frame] of socket) {
        const reply = await this.answer(frame);
        await socket.send(encodeReply(reply));
      }
    } catch (err) {
      if (!socket.closed) this.options.logger.error({ err }, 'job endpoint stopped answering');
    }
  }

  private async answer(frame: Uint8Array | undefined): Promise<Record<string, unknown>> {
    this.counts.requests++;
    this.counts.lastRequestAt = Date.now();
    const request = decodeRequest(frame);
    if ('reply' in request) {
      const error = String(request.reply.error);
      // Whoever can reach the port can send garbage: logged once, then at most every 10 s with a count.
      const decision = this.refusedLog.hit(error.slice(0, 40), Date.now());
      if (decision.log) this.options.logger.warn({ error, bytes: frame?.length ?? 0, suppressed: decision.suppressed }, `job request refused: ${error}`);
      return request.reply;
    }
    const { method, params } = request;
    if (method === 'ping') return { success: true, message: 'pong', handler_id: this.options.handlerId };
    const call = this.options.registry.call(method, params, { source: 'schedulezero' }).then(
      (value) => successReply(value),
      (err: JobCallError) => errorReply(err.message),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.options.replyTimeoutMs)));
    const reply = await Promise.race([call, late]);
    clearTimeout(timer);
    if (reply) return reply;
    this.counts.pendingReplies++;
    const waitedMs = this.options.replyTimeoutMs ?? 0;
    this.options.logger.warn({ method, waitedMs }, `job ${method} still running after ${waitedMs} ms: answered "pending"; its outcome will be logged`);
    return {
      success: true,
      pending: true,
      status: 'accepted',
      method,
      message: `${method} is still running after ${waitedMs} ms (Discord is slow or rate limiting); its outcome will be in the bot's log and zmq_notify_jobs_total`,
    };
  }
}
