import type { ZmqEvent } from './event.ts';
import { TopicPriorities } from './priorities.ts';

/** What happened to an item offered to the queue. */
export type PushOutcome = 'queued' | 'evicted' | 'rejected';

/** Options for {@link BoundedQueue}. */
export interface BoundedQueueOptions<T> {
  capacity: number;
  /** Topic prefix → priority (higher outranks lower; the longest matching prefix wins). */
  priorities?: Readonly<Record<string, number>>;
  /** Priority of a topic no prefix matches. */
  defaultPriority?: number;
  /** Called for every item the overflow policy drops: an evicted one, or a rejected newcomer. */
  onDrop?: (item: T, reason: 'overflow') => void;
}

const NONE = -1;

/**
 * A fixed-capacity event queue that hands items out in arrival order and, when full, drops the
 * oldest item of the lowest priority present (or the newcomer, when it ranks below all of them).
 *
 * Storage is one preallocated slot pool threaded by two sets of links: a doubly linked list in
 * arrival order (for shift) and one singly linked list per priority level (for eviction). Push,
 * shift and evict are O(1) in the queue's size (O(levels) to find the lowest non-empty level,
 * where levels is the handful of distinct configured priorities); nothing is shifted or copied.
 */
export class BoundedQueue<T extends { topic: string } = ZmqEvent> {
  readonly capacity: number;
  private readonly priorities: TopicPriorities;
  private readonly levelValues: number[];
  private readonly levelOf = new Map<number, number>();
  private readonly onDrop?: (item: T, reason: 'overflow') => void;

  private readonly items: (T | undefined)[];
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly levelNext: Int32Array;
  private readonly slotLevel: Int32Array;
  private readonly free: Int32Array;
  private freeCount: number;
  private head = NONE;
  private tail = NONE;
  private readonly levelHead: Int32Array;
  private readonly levelTail: Int32Array;
  private readonly levelSize: Int32Array;
  private count = 0;
  private droppedCount = 0;

  constructor(options: BoundedQueueOptions<T>) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`queue capacity must be a positive integer, got ${options.capacity}`);
    }
    this.capacity = options.capacity;
    this.priorities = new TopicPriorities(options.priorities ?? {}, options.defaultPriority ?? 0);
    this.levelValues = this.priorities.levels();
    this.levelValues.forEach((value, index) => this.levelOf.set(value, index));
    this.onDrop = options.onDrop;

    const n = this.capacity;
    this.items = new Array<T | undefined>(n).fill(undefined);
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    this.levelNext = new Int32Array(n);
    this.slotLevel = new Int32Array(n);
    this.free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.freeCount = n;
    const levels = this.levelValues.length;
    this.levelHead = new Int32Array(levels).fill(NONE);
    this.levelTail = new Int32Array(levels).fill(NONE);
    this.levelSize = new Int32Array(levels);
  }

  /** Items waiting. */
  get size(): number {
    return this.count;
  }

  /** Items the overflow policy has dropped since the queue was made. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** The priority a topic gets in this queue. */
  priorityOf(topic: string): number {
    return this.priorities.of(topic);
  }

  /** Adds an item; when the queue is full, the overflow policy decides what is dropped. */
  push(item: T): PushOutcome {
    const level = this.levelOf.get(this.priorities.of(item.topic)) as number;
    let outcome: PushOutcome = 'queued';
    if (this.count === this.capacity) {
      const lowest = this.lowestLevel();
      if (level < lowest) {
        this.drop(item);
        return 'rejected';
      }
      this.drop(this.evictFrom(lowest));
      outcome = 'evicted';
    }
    this.append(item, level);
    return outcome;
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    const slot = this.head;
    if (slot === NONE) return undefined;
    const level = this.slotLevel[slot] as number;
    // The oldest item overall is also the oldest of its level: the head of that level's list.
    this.levelHead[level] = this.levelNext[slot] as number;
    if (this.levelHead[level] === NONE) this.levelTail[level] = NONE;
    (this.levelSize[level] as number)--;
    return this.release(slot);
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.head === NONE ? undefined : this.items[this.head];
  }

  /** Removes every item and returns how many there were (for shutdown accounting). */
  clear(): number {
    const removed = this.count;
    while (this.shift() !== undefined);
    return removed;
  }

  /** Items waiting, per priority. */
  sizeByPriority(): Record<number, number> {
    const sizes: Record<number, number> = {};
    this.levelValues.forEach((value, index) => {
      sizes[value] = this.levelSize[index] as number;
    });
    return sizes;
  }

  private lowestLevel(): number {
    for (let level = 0; level < this.levelValues.length; level++) {
      if ((this.levelSize[level] as number) > 0) return level;
    }
    return NONE;
  }

  private append(item: T, level: number): void {
    const slot = this.free[--this.freeCount] as number;
    this.items[slot] = item;
    this.slotLevel[slot] = level;
    this.next[slot] = NONE;
    this.prev[slot] = this.tail;
    if (this.tail === NONE) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
    this.levelNext[slot] = NONE;
    const levelTail = this.levelTail[level] as number;
    if (levelTail === NONE) this.levelHead[level] = slot;
    else this.levelNext[levelTail] = slot;
    this.levelTail[level] = slot;
    (this.levelSize[level] as number)++;
    this.count++;
  }

  private evictFrom(level: number): T {
    const slot = this.levelHead[level] as number;
    this.levelHead[level] = this.levelNext[slot] as number;
    if (this.levelHead[level] === NONE) this.levelTail[level] = NONE;
    (this.levelSize[level] as number)--;
    return this.release(slot);
  }

  // Unlinks a slot from the arrival-order list and returns it to the pool.
  private release(slot: number): T {
    const before = this.prev[slot] as number;
    const after = this.next[slot] as number;
    if (before === NONE) this.head = after;
    else this.next[before] = after;
    if (after === NONE) this.tail = before;
    else this.prev[after] = before;
    const item = this.items[slot] as T;
    this.items[slot] = undefined;
    this.free[this.freeCount++] = slot;
    this.count--;
    return item;
  }

  private drop(item: T): void {
    this.droppedCount++;
    this.onDrop?.(item, 'overflow');
  }
}
