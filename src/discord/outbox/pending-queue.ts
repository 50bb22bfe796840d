import { DigestCounter } from './digest.ts';
import { packMessage, type PackedMessage, type PendingItem } from './packing.ts';

/**
 * One channel's waiting events, oldest first: up to `capacity` full items; beyond that an event is
 * folded straight into digest counters, so memory stays bounded and every event is still counted.
 */
export class PendingQueue {
  private items: PendingItem[] = [];
  private overflow: DigestCounter | undefined;

  constructor(readonly capacity: number) {}

  /** Adds an event; returns whether it was kept in full or folded into the digest counters. */
  push(item: PendingItem): 'queued' | 'folded' {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return 'queued';
    }
    this.overflow ??= new DigestCounter();
    this.overflow.add(item.topic, item.label, item.receivedAt);
    return 'folded';
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

  /** Empties the queue, returning how many events it held. */
  clear(): number {
    const events = this.events;
    this.items = [];
    this.overflow = undefined;
    return events;
  }
}
