import { LRUCache } from 'lru-cache';
import type { WatchedScheduler } from '../discord/embeds/index.ts';
import type { Clock, TimerHandle } from './clock.ts';

/** A scheduler went silent, or was heard from again after being silent. */
export interface WatchdogAlert {
  kind: 'silent' | 'back';
  /** What the embeds need: who, since when, how long. */
  scheduler: WatchedScheduler & { silentForMs: number; now: number };
}

/** Settings of a {@link HeartbeatWatchdog}. */
export interface HeartbeatWatchdogOptions {
  /** Silence longer than this after a heartbeat is reported, ms. */
  timeoutMs: number;
  /** Schedulers followed at most; the least recently heard from is forgotten first. */
  maxSchedulers: number;
  clock: Clock;
  onAlert: (alert: WatchdogAlert) => void;
  /** Called once when the limit first forces a scheduler out. */
  onEvicted?: (key: string) => void;
  /** When anything was last received from a publisher, counted as a sign of life at its deadline. */
  lastHeardFrom?: (src: string) => number | undefined;
}

/** Who a scheduler is, as its events say: the payload's `deployment` and the envelope's `src`. */
export interface SchedulerIdentity {
  deployment?: string;
  src?: string;
}

// Identities come from the network and are kept per watched scheduler: cut to this length.
const MAX_KEY_LENGTH = 256;

interface Watched extends SchedulerIdentity {
  readonly key: string;
  lastSeenAt: number;
  /** The time between its last two heartbeats, ms. */
  intervalMs?: number;
  timer?: TimerHandle;
  silent: boolean;
  /** When it announced a clean stop: heartbeats received before then are stale, not a sign of life. */
  stoppedAt?: number;
}

/**
 * Watches schedulers' heartbeats: one that sent heartbeats and then falls silent for longer than
 * the timeout is reported once ("silent"), and again when it is heard from ("back"). A clean stop
 * (`scheduler.stopped`) disarms it until its next heartbeat. Only schedulers that send heartbeats
 * are watched; one timer each, and a bounded number of them.
 */
export class HeartbeatWatchdog {
  private readonly watched: LRUCache<string, Watched>;
  /** The deployment each publisher's heartbeats named, so its events that name none find it. */
  private readonly deploymentOfSrc: LRUCache<string, string>;
  private evictionReported = false;
  private closed = false;

  constructor(private readonly options: HeartbeatWatchdogOptions) {
    this.watched = new LRUCache({ max: options.maxSchedulers, dispose: (evicted, key, reason) => reason === 'evict' && this.evicted(key, evicted) });
    this.deploymentOfSrc = new LRUCache({ max: options.maxSchedulers });
  }

  /** Schedulers followed (armed, silent or stopped). */
  get size(): number {
    return this.watched.size;
  }

  /** A heartbeat received at `at` (ms since the epoch): arms the watchdog for its scheduler, and reports it back if it was silent. */
  heartbeat(identity: SchedulerIdentity, at: number): void {
    if (this.closed) return;
    identity = definedOf(identity);
    if (identity.deployment !== undefined && identity.src !== undefined) this.deploymentOfSrc.set(identity.src, identity.deployment);
    const key = this.keyOf(identity);
    const entry = this.watched.get(key);
    if (!entry) {
      this.track({ ...identity, key, lastSeenAt: at, silent: false });
      return;
    }
    if (entry.stoppedAt !== undefined && at <= entry.stoppedAt) return;
    const resumed = entry.stoppedAt !== undefined;
    entry.stoppedAt = undefined;
    Object.assign(entry, identity);
    if (!entry.silent && !resumed && at > entry.lastSeenAt) entry.intervalMs = at - entry.lastSeenAt;
    this.seen(entry, at);
  }

  /** Another sign of life (e.g. `scheduler.started`): resets a watched scheduler's timer, never arms a new one. */
  alive(identity: SchedulerIdentity, at: number): void {
    const entry = this.watched.get(this.keyOf(identity));
    if (!entry || this.closed || entry.stoppedAt !== undefined) return;
    this.seen(entry, at);
  }

  /** A clean stop announced at `at`: no "silent" alert until the scheduler sends heartbeats again. */
  stopped(identity: SchedulerIdentity, at: number): void {
    const entry = this.watched.get(this.keyOf(identity));
    if (!entry) return;
    this.clearTimer(entry);
    entry.silent = false;
    entry.stoppedAt = at;
  }

  /** Clears every timer; the watchdog reports nothing more. */
  close(): void {
    this.closed = true;
    for (const entry of this.watched.values()) this.clearTimer(entry);
    this.watched.clear();
  }

  // A scheduler is its deployment; without one, the deployment its publisher's heartbeats named, else the publisher.
  private keyOf(given: SchedulerIdentity): string {
    const identity = definedOf(given);
    const deployment = identity.deployment ?? (identity.src === undefined ? undefined : this.deploymentOfSrc.peek(identity.src));
    if (deployment !== undefined) return `deployment:${deployment}`;
    if (identity.src !== undefined) return `src:${identity.src}`;
    return 'unknown';
  }

  private track(entry: Watched): void {
    this.watched.set(entry.key, entry);
    this.arm(entry);
  }

  // The least recently heard scheduler made room for another: its timer goes with it, reported once.
  private evicted(key: string, entry: Watched): void {
    this.clearTimer(entry);
    if (!this.evictionReported) {
      this.evictionReported = true;
      this.options.onEvicted?.(key);
    }
  }

  private seen(entry: Watched, at: number): void {
    if (entry.silent) {
      entry.silent = false;
      const now = this.options.clock.now();
      this.options.onAlert({ kind: 'back', scheduler: { ...identityOf(entry), lastSeenAt: entry.lastSeenAt, silentForMs: Math.max(0, at - entry.lastSeenAt), now } });
    }
    entry.lastSeenAt = Math.max(entry.lastSeenAt, at);
    this.arm(entry);
  }

  // The timer fires `timeoutMs` after the last sign of life (which may have waited in the queue a while).
  private arm(entry: Watched): void {
    this.clearTimer(entry);
    const { clock, timeoutMs } = this.options;
    const delay = Math.max(0, entry.lastSeenAt + timeoutMs - clock.now());
    entry.timer = clock.setTimeout(() => this.expired(entry), delay);
  }

  private expired(entry: Watched): void {
    entry.timer = undefined;
    if (this.closed || this.watched.peek(entry.key) !== entry || entry.silent || entry.stoppedAt !== undefined) return;
    // Its publisher sent something since (whose heartbeats the queue may have evicted): alive.
    const heard = entry.src === undefined ? undefined : this.options.lastHeardFrom?.(entry.src);
    if (heard !== undefined && heard > entry.lastSeenAt) entry.lastSeenAt = heard;
    const now = this.options.clock.now();
    const silentForMs = now - entry.lastSeenAt;
    // A heartbeat seen late (it waited in the queue) moves the deadline on.
    if (silentForMs < this.options.timeoutMs) {
      this.arm(entry);
      return;
    }
    entry.silent = true;
    const scheduler: WatchdogAlert['scheduler'] = { ...identityOf(entry), lastSeenAt: entry.lastSeenAt, silentForMs, now };
    if (entry.intervalMs !== undefined) scheduler.expectedIntervalMs = entry.intervalMs;
    this.options.onAlert({ kind: 'silent', scheduler });
  }

  private clearTimer(entry: Watched): void {
    if (entry.timer !== undefined) this.options.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
  }
}

function identityOf(entry: SchedulerIdentity): SchedulerIdentity {
  return definedOf({ deployment: entry.deployment, src: entry.src });
}

// The identity without empty fields, each cut to a bounded length.
function definedOf(identity: SchedulerIdentity): SchedulerIdentity {
  const out: SchedulerIdentity = {};
  if (identity.deployment !== undefined && identity.deployment !== '') out.deployment = identity.deployment.slice(0, MAX_KEY_LENGTH);
  if (identity.src !== undefined && identity.src !== '') out.src = identity.src.slice(0, MAX_KEY_LENGTH);
  return out;
}
