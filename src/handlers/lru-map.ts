/**
 * A Map with a size limit: reading or writing an entry makes it the most recent, and adding one
 * beyond the limit evicts the least recent. Iteration runs from least to most recent.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LruMap: capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, made the most recent; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** The value without changing its recency. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores the value as the most recent; returns what was evicted to make room. */
  set(key: K, value: V): [K, V][] {
    this.entries.delete(key);
    this.entries.set(key, value);
    const evicted: [K, V][] = [];
    while (this.entries.size > this.capacity) {
      const oldest = this.oldest();
      if (!oldest) break;
      this.entries.delete(oldest[0]);
      evicted.push(oldest);
    }
    return evicted;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** The least recent entry, or undefined when empty. */
  oldest(): [K, V] | undefined {
    const first = this.entries.entries().next();
    return first.done ? undefined : first.value;
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }

  clear(): void {
    this.entries.clear();
  }
}
