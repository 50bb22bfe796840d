import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { JobEndpoint, type JobEndpointStats } from './endpoint.ts';
import { Registration, type RegistrationStatus } from './registration.ts';
import type { JobRegistry } from './registry.ts';

/** The `schedulezero:` section, validated. */
export type ScheduleZeroSettings = NonNullable<Config['schedulezero']>;

/** What `/zmq_status` and `/healthz` show of the job handler. */
export interface JobHandlerStatus {
  registration: RegistrationStatus;
  endpoint: JobEndpointStats;
  methods: string[];
  running: number;
}

/** The address the server is told: advertise_address, else the bound endpoint (a wildcard host becomes 127.0.0.1). */
export function advertisedAddress(settings: ScheduleZeroSettings, bound: string): string {
  if (settings.advertise_address) return settings.advertise_address;
  return bound.replace(/^tcp:\/\/(0\.0\.0\.0|\*|\[::\])(?=:)/, 'tcp://127.0.0.1');
}

/**
 * The bot as ScheduleZero's job handler: the JobEndpoint (REP at handler_host:handler_port) and
 * the Registration (REQ to server_address), over the JobRegistry's methods; a change of the
 * method list (a sprocket loaded or unloaded) registers again.
 * @example
 * const handler = new ScheduleZeroHandler({ settings: config.schedulezero, registry, logger, metrics });
 * await handler.start();
 */
export class ScheduleZeroHandler {
  readonly endpoint: JobEndpoint;
  readonly registration: Registration;
  private readonly onChange = (): void => this.registration.reregister();

  constructor(private readonly options: { settings: ScheduleZeroSettings; registry: JobRegistry; logger: Logger; metrics?: Metrics }) {
    const { settings, registry, logger, metrics } = options;
    this.endpoint = new JobEndpoint({
      registry,
      handlerId: settings.handler_id,
      bind: `tcp://${settings.handler_host}:${settings.handler_port}`,
      replyTimeoutMs: settings.reply_timeout_ms,
      ...(settings.allow_ips ? { allowIps: settings.allow_ips } : {}),
      logger: logger.child({ component: 'job-endpoint' }),
    });
    this.registration = new Registration({
      serverAddress: settings.server_address,
      handlerId: settings.handler_id,
      address: () => advertisedAddress(settings, this.endpoint.endpoint),
      // `ping` is listed too, as ScheduleZero's own handler base does.
      methods: () => [...registry.methodNames(), 'ping'],
      pingIntervalMs: settings.ping_interval_s * 1000,
      logger: logger.child({ component: 'registration' }),
      ...(metrics ? { metrics } : {}),
    });
  }

  /** Binds the job endpoint, then registers in the background (retrying until the server is there). */
  async start(): Promise<void> {
    await this.endpoint.start();
    this.options.registry.on('change', this.onChange);
    this.registration.start();
  }

  /** Reports offline to the server and closes the job endpoint; calls still running keep running. */
  async stop(): Promise<void> {
    this.options.registry.off('change', this.onChange);
    await this.registration.stop();
    await this.endpoint.stop();
  }

  /** A snapshot for `/zmq_status` and `/healthz`. */
  status(): JobHandlerStatus {
    return { registration: this.registration.status(), endpoint: this.endpoint.stats(), methods: this.options.registry.methodNames(), running: this.options.registry.inFlight };
  }
}
