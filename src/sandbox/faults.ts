/** The statuses a fault can inject, as Discord (or Cloudflare in front of it) sends them. */
export const faultStatuses = [429, 500, 502, 403, 404] as const;
export type FaultStatus = (typeof faultStatuses)[number];

/** One queued fault: the next `remaining` requests touching the channel fail with `status`. */
export interface Fault {
  channelId: string;
  status: FaultStatus;
  remaining: number;
  /** For 429: seconds the client is told to wait. */
  retryAfter: number;
}

const maxQueuedPerChannel = 100;

/** Queues of injected failures per channel; each request touching the channel consumes one. */
export class FaultInjector {
  private readonly queues = new Map<string, Fault[]>();

  /** Adds a fault after any already queued for the channel. */
  add(fault: Omit<Fault, 'remaining'> & { count: number }): Fault {
    const queue = this.queues.get(fault.channelId) ?? [];
    if (queue.length >= maxQueuedPerChannel) queue.shift();
    const entry: Fault = { channelId: fault.channelId, status: fault.status, remaining: fault.count, retryAfter: fault.retryAfter };
    queue.push(entry);
    this.queues.set(fault.channelId, queue);
    return { ...entry };
  }

  /** Takes the next fault for a channel, if any is queued. */
  take(channelId: string): Fault | undefined {
    const queue = this.queues.get(channelId);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    if (queue.length === 0) this.queues.delete(channelId);
    return { ...head };
  }

  /** Everything still queued. */
  list(): Fault[] {
    return [...this.queues.values()].flat().map((f) => ({ ...f }));
  }

  /** Drops every queued fault (for one channel, or all). */
  clear(channelId?: string): void {
    if (channelId === undefined) this.queues.clear();
    else this.queues.delete(channelId);
  }
}
