import { DigestCounter, type DigestBucket } from './digest.ts';
import { packMessage, type PackedMessage, type PendingItem } from './packing.ts';

/** Topics that keep their full embed when a channel's queue is full: another event's is folded instead. */
const KEPT_FIRST = new Set(['job.failed', 'job.missed']);

/** Whether an event of `topic` is kept in full ahead of notices when the queue is full. */
export function keptFirst(topic: string): boolean {
  return KEPT_FIRST.has(topic);
}

/** What {@link PendingQueue.push} did with an event. */
export interface PushResult {
  /** `queued` in full, or `folded` into the digest counters (then `bucket` says which). */
  kept: 'queued' | 'folded';
  bucket?: DigestBucket;
  /** A notice folded into the counters (`evictedBucket`) to make room for this failure. */
  evicted?: PendingItem;
  evictedBucket?: DigestBucket;
}

/**
 * One channel's waiting events, oldest first: up to `capacity` full items; beyond that an event is
 * folded straight into digest counters, so memory stays bounded and every event is still counted.
 * When the queue is full, `job.failed` and `job.missed` keep their details: the newest notice is
 * folded in their place.
 */
export class PendingQueue {
  private items: PendingItem[] = [];
  private overflow: DigestCounter | undefined;

  constructor(readonly capacity: number) {}

  /** Adds an event, in full while there is room (or a notice can make room), else folded. */
  push(item: PendingItem): PushResult {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return { kept: 'queued' };
    }
    if (keptFirst(item.topic)) {
      const at = this.items.findLastIndex((queued) => !keptFirst(queued.topic));
      if (at >= 0) {
        const [evicted] = this.items.splice(at, 1);
        const evictedBucket = this.fold(evicted!.topic, evicted!.label, evicted!.receivedAt);
        this.items.push(item);
        return { kept: 'queued', evicted: evicted!, evictedBucket };
      }
    }
    return { kept: 'folded', bucket: this.fold(item.topic, item.label, item.receivedAt) };
  }

  /** Counts an event in the digest counters only; returns the counters it went to. */
  fold(topic: string, label: string | undefined, receivedAt: number): DigestBucket {
    this.overflow ??= new DigestCounter();
    return this.overflow.add(topic, label, receivedAt);
  }

  /** Counts `n` folded events of a stored bucket (read back from the spool). */
  foldBucket(bucket: DigestBucket, n: number, firstAt: number, lastAt: number): void {
    this.overflow ??= new DigestCounter();
    this.overflow.addBucket(bucket, n, firstAt, lastAt);
  }

  /** Events waiting, full and folded. */
  get events(): number {
    return this.items.length + (this.overflow?.count ?? 0);
  }

  /** Whether the next event will be kept in full (rather than folded into the counters). */
  get hasRoom(): boolean {
    return this.items.length < this.capacity;
  }

  /** Items held in full (never more than `capacity`). */
  get storedItems(): number {
    return this.items.length;
  }

  /** The items held in full, oldest first (for copies; not to be changed). */
  get fullItems(): readonly PendingItem[] {
    return this.items;
  }

  /** The digest counters of folded events, if any (for inspection). */
  get overflowCounter(): DigestCounter | undefined {
    return this.overflow;
  }

  /** Removes and returns the next message's content, `sends` messages being allowed for the queue (see {@link packMessage}); undefined when empty. */
  take(sends: number): PackedMessage | undefined {
    if (this.events === 0) return undefined;
    const packed = packMessage(this.items, this.overflow, sends);
    if (packed.digest) {
      this.items = [];
      this.overflow = undefined;
    } else {
      this.items.splice(0, packed.items.length);
    }
    return packed;
  }

  /**
   * Removes the events received before `cutoff`: full items one by one, the folded ones together
   * once the newest of them is that old. Returns the items removed and how many folded events went.
   */
  expire(cutoff: number): { items: PendingItem[]; folded: number } {
    const expired = this.items.filter((item) => item.receivedAt < cutoff);
    if (expired.length > 0) this.items = this.items.filter((item) => item.receivedAt >= cutoff);
    let folded = 0;
    const lastAt = this.overflow?.summary().lastAt;
    if (this.overflow && lastAt !== undefined && lastAt < cutoff) {
      folded = this.overflow.count;
      this.overflow = undefined;
    }
    return { items: expired, folded };
  }

  /** Empties the queue, returning how many events it held. */
  clear(): number {
    const events = this.events;
    this.items = [];
    this.overflow = undefined;
    return events;
  }
}
