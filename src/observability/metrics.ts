import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Why an event left the queue without being dispatched. */
export type DropReason = 'overflow' | 'malformed' | 'shutdown';
/** Why an event handed to the Outbox never reached Discord. */
export type UndeliverableReason = 'forbidden' | 'not_found' | 'server_error' | 'network' | 'rejected' | 'expired' | 'shutdown';
/** Why a built-in module did not post an event: its filters, or no channel configured for it. */
export type SkipReason = 'filtered' | 'no_channel';

/** Every Prometheus metric the bot exports, on one registry of its own. */
export class Metrics {
  readonly registry = new Registry();

  readonly eventsReceived = new Counter({ name: 'zmq_notify_events_received_total', help: 'Messages received from ZeroMQ, malformed ones included', labelNames: ['topic_prefix'] as const, registers: [this.registry] });
  readonly eventsDispatched = new Counter({ name: 'zmq_notify_events_dispatched_total', help: 'Events taken from the queue and handed to their handlers', registers: [this.registry] });
  readonly eventsDropped = new Counter({ name: 'zmq_notify_events_dropped_total', help: 'Events dropped before dispatch, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly eventsUnhandled = new Counter({ name: 'zmq_notify_events_unhandled_total', help: 'Dispatched events that no handler subscribed to', registers: [this.registry] });
  readonly eventsSkipped = new Counter({ name: 'zmq_notify_events_skipped_total', help: 'Events the built-in modules did not post: filtered by filters:, or no channel configured for them (route = the notification route)', labelNames: ['reason', 'route'] as const, registers: [this.registry] });
  readonly eventsLost = new Counter({ name: 'zmq_notify_events_lost_total', help: 'Events the network lost, from gaps in publisher sequence numbers', registers: [this.registry] });
  readonly eventsBeforeConnect = new Counter({ name: 'zmq_notify_events_before_connect_total', help: 'Events publishers sent before we connected to them (first seq seen - 1, per publisher run); not counted as lost', registers: [this.registry] });
  readonly publisherRestarts = new Counter({ name: 'zmq_notify_publisher_restarts_total', help: 'Publishers seen starting their sequence again at 1', registers: [this.registry] });
  readonly framesMalformed = new Counter({ name: 'zmq_notify_frames_malformed_total', help: 'Malformed messages, by kind', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'zmq_notify_queue_depth', help: 'Events waiting in the queue', registers: [this.registry] });
  readonly queueCapacity = new Gauge({ name: 'zmq_notify_queue_capacity', help: 'Capacity of the queue', registers: [this.registry] });
  readonly handlerErrors = new Counter({ name: 'zmq_notify_handler_errors_total', help: 'Handler failures, by handler and reason', labelNames: ['handler', 'reason'] as const, registers: [this.registry] });
  readonly handlerAbandoned = new Counter({ name: 'zmq_notify_handler_abandoned_total', help: 'Handler calls still running dispatcher.abandon_after_ms after their AbortSignal was aborted, whose slot was freed', labelNames: ['handler'] as const, registers: [this.registry] });
  readonly handlerSeconds = new Histogram({ name: 'zmq_notify_handler_seconds', help: 'Time a handler took for one event', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10], registers: [this.registry] });
  readonly listenerUp = new Gauge({ name: 'zmq_notify_listener_up', help: '1 while the ZeroMQ listener is running', registers: [this.registry] });
  readonly discordMessagesSent = new Counter({ name: 'zmq_notify_discord_messages_sent_total', help: 'Messages the Outbox sent to Discord successfully', registers: [this.registry] });
  readonly discordRateLimited = new Counter({ name: 'zmq_notify_discord_rate_limited_total', help: '429 responses received from Discord', registers: [this.registry] });
  readonly discordRequests = new Counter({ name: 'zmq_notify_discord_requests_total', help: 'Every message create or edit the Outbox attempted, by operation and outcome (ok, rate_limited, server_error, network, forbidden, not_found, rejected)', labelNames: ['operation', 'outcome'] as const, registers: [this.registry] });
  readonly discordErrors = new Counter({ name: 'zmq_notify_discord_errors_total', help: 'Failed Discord requests, by status (or "network")', labelNames: ['status'] as const, registers: [this.registry] });
  readonly eventsToOutbox = new Counter({ name: 'zmq_notify_events_to_outbox_total', help: 'Events handed to the Outbox for posting', registers: [this.registry] });
  readonly eventsPosted = new Counter({ name: 'zmq_notify_events_posted_total', help: 'Events that reached Discord, on their own or counted in a digest', registers: [this.registry] });
  readonly eventsUndeliverable = new Counter({ name: 'zmq_notify_events_undeliverable_total', help: 'Events handed to the Outbox that could not be delivered, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly outboxPending = new Gauge({ name: 'zmq_notify_outbox_pending', help: 'Events waiting in the Outbox', registers: [this.registry] });
  readonly eventToPost = new Histogram({ name: 'zmq_notify_event_to_post_seconds', help: 'Time from receiving an event to Discord accepting the message that carries it', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [this.registry] });

  readonly jobsTotal = new Counter({ name: 'zmq_notify_jobs_total', help: 'Job method calls (ScheduleZero, the scheduler, the CLI), by method and outcome', labelNames: ['method', 'outcome'] as const, registers: [this.registry] });
  readonly jobSeconds = new Histogram({ name: 'zmq_notify_job_seconds', help: 'Time a job method took, by method', labelNames: ['method'] as const, buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [this.registry] });
  readonly jobsRunning = new Gauge({ name: 'zmq_notify_jobs_running', help: 'Job method calls running now', registers: [this.registry] });
  readonly handlerRegistered = new Gauge({ name: 'zmq_notify_handler_registered', help: '1 while the bot is registered with the ScheduleZero server as a job handler', registers: [this.registry] });
  readonly handlerRegistrations = new Counter({ name: 'zmq_notify_handler_registrations_total', help: 'Registration attempts with the ScheduleZero server, by result', labelNames: ['result'] as const, registers: [this.registry] });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'zmq_notify_' });
  }

  /** Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The current value of a counter or gauge, summed over its labels (or for matching labels). */
  async value(metric: Counter<string> | Gauge<string>, labels: Record<string, string> = {}): Promise<number> {
    const { values } = await metric.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
      .reduce((sum, v) => sum + v.value, 0);
  }
}
