import type { Metrics, UndeliverableReason } from '../../observability/metrics.ts';
import type { DigestCounter } from './digest.ts';

/**
 * The Outbox's event accounting, in one place so the invariant holds at every moment:
 * events handed to the Outbox = posted + pending + undeliverable.
 */
export class OutboxLedger {
  private pendingEvents = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly metrics: Metrics) {}

  /** Events waiting or in flight. */
  get pending(): number {
    return this.pendingEvents;
  }

  /** `count` events were handed to the Outbox. */
  accepted(count: number): void {
    if (count <= 0) return;
    this.metrics.eventsToOutbox.inc(count);
    this.change(count);
  }

  /** Events reached Discord at `at`: items with their own receive times, and digest counters. */
  posted(receivedAts: readonly number[], digest: DigestCounter | undefined, at: number): void {
    const count = receivedAts.length + (digest?.count ?? 0);
    if (count <= 0) return;
    this.metrics.eventsPosted.inc(count);
    for (const receivedAt of receivedAts) this.observe(at - receivedAt, 1);
    if (digest && digest.count > 0) this.observe(at - (digest.meanReceivedAt() ?? at), digest.count);
    this.change(-count);
  }

  /** Events that will never reach Discord. */
  undeliverable(count: number, reason: UndeliverableReason): void {
    if (count <= 0) return;
    this.metrics.eventsUndeliverable.inc({ reason }, count);
    this.change(-count);
  }

  /** Calls `listener` after every change; returns a function that stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private observe(latencyMs: number, times: number): void {
    const seconds = Math.max(0, latencyMs) / 1000;
    for (let i = 0; i < times; i++) this.metrics.eventToPost.observe(seconds);
  }

  private change(delta: number): void {
    this.pendingEvents += delta;
    // inc/dec rather than set, so Outboxes sharing one Metrics add up.
    if (delta > 0) this.metrics.outboxPending.inc(delta);
    else this.metrics.outboxPending.dec(-delta);
    for (const listener of this.listeners) listener();
  }
}
