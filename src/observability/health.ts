import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/** One publisher as /healthz reports it. */
export interface PublisherHealth {
  src: string;
  run?: string;
  /** How its losses are known, or that they cannot be (no sequence numbers: ScheduleZero's broker). */
  loss_detection: string;
  /** Null without sequence numbers. */
  last_seq: number | null;
  last_event_age_seconds: number;
  received: number;
  /** Null when loss detection is unavailable. */
  lost: number | null;
  /** Events it sent before we connected to it; not lost. */
  before_connect: number;
  gaps: number;
  restarts: number;
}

/** The body of `/healthz`. */
export interface HealthReport {
  /** Why the bot cannot do its job though the listener runs; any reason makes /healthz answer 503. */
  reasons?: string[];
  listener: { state: string; endpoints: string[]; connected: string[]; topics: string[]; problems: readonly { endpoint: string; message: string }[] };
  queue: { depth: number; capacity: number };
  /** Seconds since the last event arrived; null before the first. */
  last_event_age_seconds: number | null;
  publishers: PublisherHealth[];
  uptime_seconds: number;
}

/** Options for {@link HealthServer}. */
export interface HealthServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  metrics: Metrics;
  /** The current health, computed on each request. */
  report: () => HealthReport;
  logger: Logger;
}

/**
 * The HTTP endpoint for operators and Prometheus: `/healthz` (JSON; 200 while the listener runs
 * and the report gives no `reasons`, 503 with the reasons otherwise) and `/metrics` (Prometheus text).
 */
export class HealthServer {
  private server?: Server;
  private address?: AddressInfo;

  constructor(private readonly options: HealthServerOptions) {}

  /** Listens and resolves to the base URL (with the real port when 0 was asked for). */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.logger.error({ err, path: req.url }, 'HTTP request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.address = server.address() as AddressInfo;
    return this.url;
  }

  /** Base URL, e.g. http://127.0.0.1:9464 (empty before start). */
  get url(): string {
    if (!this.address) return '';
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `http://${host}:${this.address.port}`;
  }

  /** Stops listening and closes open connections. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      const report = this.options.report();
      const reasons = [...(report.listener.state === 'running' ? [] : [`the ZeroMQ listener is ${report.listener.state}`]), ...(report.reasons ?? [])];
      const status = reasons.length === 0 ? 200 : 503;
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: status === 200 ? 'ok' : 'unavailable', ...report, reasons }));
      return;
    }
    if (path === '/metrics') {
      const text = await this.options.metrics.text();
      res.writeHead(200, { 'content-type': this.options.metrics.registry.contentType });
      res.end(text);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  }
}
