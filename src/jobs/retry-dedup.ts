import { LRUCache } from 'lru-cache';

/** How {@link RetryDedup} remembers calls. */
export interface RetryDedupOptions {
  /** How long a succeeded call's result is given to identical calls, ms (0 = only while it runs). */
  ttlMs: number;
  /** Succeeded calls remembered at most (least recent forgotten first). */
  max: number;
}

/**
 * Makes an identical call that arrives while the first runs, or within `ttlMs` after it succeeded,
 * the same job: ScheduleZero retries a timed-out or failed call up to 3 times and sends no job id.
 * A failed call is forgotten at once, so its retry runs again.
 */
export class RetryDedup<T> {
  private readonly running = new Map<string, Promise<T>>();
  private readonly done?: LRUCache<string, { value: T }>;

  constructor(options: RetryDedupOptions) {
    if (options.ttlMs > 0) this.done = new LRUCache({ max: Math.max(1, options.max), ttl: options.ttlMs });
  }

  /** The running call for `key`, or a succeeded one within the window; undefined when there is none. */
  find(key: string): Promise<T> | undefined {
    const running = this.running.get(key);
    if (running) return running;
    const done = this.done?.get(key);
    return done && Promise.resolve(done.value);
  }

  /** Remembers a call just started for `key`: while it runs, and for the window once it succeeds. Returns it. */
  track(key: string, promise: Promise<T>): Promise<T> {
    this.running.set(key, promise);
    promise.then(
      (value) => {
        this.running.delete(key);
        this.done?.set(key, { value });
      },
      () => this.running.delete(key),
    );
    return promise;
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Succeeded calls remembered now. */
  get remembered(): number {
    return this.done?.size ?? 0;
  }

  /** Forgets the remembered results whose key matches (running calls keep running). */
  forget(matches: (key: string) => boolean): void {
    if (!this.done) return;
    for (const key of [...this.done.keys()]) if (matches(key)) this.done.delete(key);
  }
}

/** A stable text for a value: object keys sorted, so `{a, b}` and `{b, a}` are the same call. */
export function stableKey(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
