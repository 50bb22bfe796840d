import type { Metrics } from '../observability/metrics.ts';
import type { Store } from '../store/index.ts';
import type { Clock } from './clock.ts';

/** What the app can give the built-in modules besides the config. */
export interface BuiltInOptions {
  /**
   * The app's metrics (pass the same instance as the App's): events the modules do not post are
   * counted in `zmq_notify_events_skipped_total{reason,route}`. Without it they are only logged.
   */
  metrics?: Metrics;
  /** Time and timers for the repeat windows and the heartbeat watchdog; default the real clock. */
  clock?: Clock;
  /**
   * When anything was last received from a publisher (`src`), read before the queue. Under a
   * flood the queue evicts heartbeats first; with this the watchdog does not mistake a busy
   * scheduler for a silent one.
   */
  lastHeardFrom?: (src: string) => number | undefined;
  /** Where the failure alerts keep their series and failing jobs across restarts (none: in memory only). */
  store?: Store;
}
