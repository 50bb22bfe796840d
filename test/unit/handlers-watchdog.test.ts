import { describe, expect, it } from 'vitest';
import { HeartbeatWatchdog, type WatchdogAlert } from '../../src/handlers/heartbeat-watchdog.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

function setup(options: { timeoutMs?: number; maxSchedulers?: number; lastHeardFrom?: (src: string) => number | undefined } = {}): {
  watchdog: HeartbeatWatchdog;
  clock: ManualClock;
  alerts: WatchdogAlert[];
  evicted: string[];
} {
  const clock = new ManualClock();
  const alerts: WatchdogAlert[] = [];
  const evicted: string[] = [];
  const watchdog = new HeartbeatWatchdog({
    timeoutMs: options.timeoutMs ?? 90_000,
    maxSchedulers: options.maxSchedulers ?? 100,
    clock,
    onAlert: (alert) => alerts.push(alert),
    onEvicted: (key) => evicted.push(key),
    ...(options.lastHeardFrom && { lastHeardFrom: options.lastHeardFrom }),
  });
  return { watchdog, clock, alerts, evicted };
}

const prod = { deployment: 'prod', src: 'pub-1' };

/** Heartbeats every `everyMs` for `count` beats, received as they are sent. */
function beats(watchdog: HeartbeatWatchdog, clock: ManualClock, count: number, everyMs: number, identity = prod): void {
  for (let i = 0; i < count; i++) {
    watchdog.heartbeat(identity, clock.now());
    clock.advance(everyMs);
  }
}

describe('HeartbeatWatchdog', () => {
  it('heartbeats every 30 s keep a scheduler quiet; when they stop it is reported silent once, after the timeout', () => {
    const { watchdog, clock, alerts } = setup();
    beats(watchdog, clock, 10, 30_000);
    expect(alerts).toHaveLength(0);
    // The last beat was 30 s ago: silence is reported 90 s after it.
    clock.advance(59_999);
    expect(alerts).toHaveLength(0);
    clock.advance(1);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'silent', scheduler: { deployment: 'prod', src: 'pub-1', silentForMs: 90_000, expectedIntervalMs: 30_000 } });
    clock.advance(3_600_000);
    expect(alerts, 'one alert per silence, however long').toHaveLength(1);
  });

  it('a silent scheduler heard from again is reported back, with how long it was silent, and is watched again', () => {
    const { watchdog, clock, alerts } = setup();
    beats(watchdog, clock, 3, 30_000);
    clock.advance(300_000);
    watchdog.heartbeat(prod, clock.now());
    expect(alerts.map((a) => a.kind)).toEqual(['silent', 'back']);
    expect(alerts[1]?.scheduler.silentForMs).toBe(330_000);
    clock.advance(90_000);
    expect(alerts.map((a) => a.kind)).toEqual(['silent', 'back', 'silent']);
  });

  it('scheduler.stopped (a clean stop) disarms it: no silent alert; heartbeats after a restart arm it again', () => {
    const { watchdog, clock, alerts } = setup();
    beats(watchdog, clock, 3, 30_000);
    watchdog.stopped(prod, clock.now());
    expect(clock.pending).toBe(0);
    clock.advance(3_600_000);
    expect(alerts).toHaveLength(0);
    watchdog.heartbeat(prod, clock.now());
    clock.advance(90_000);
    expect(alerts.map((a) => a.kind)).toEqual(['silent']);
  });

  it('a stop that names only the publisher (no deployment) still disarms the deployment its heartbeats named', () => {
    const { watchdog, clock, alerts } = setup();
    beats(watchdog, clock, 2, 30_000);
    watchdog.stopped({ src: 'pub-1' }, clock.now());
    clock.advance(600_000);
    expect(alerts).toHaveLength(0);
  });

  it('a heartbeat received before the stop but handled after it does not re-arm', () => {
    const { watchdog, clock, alerts } = setup();
    watchdog.heartbeat(prod, clock.now());
    const sentBeforeStop = clock.now() + 10_000;
    clock.advance(20_000);
    watchdog.stopped(prod, clock.now());
    watchdog.heartbeat(prod, sentBeforeStop);
    clock.advance(600_000);
    expect(alerts).toHaveLength(0);
  });

  it('a stop while silent ends the silence without a "back"', () => {
    const { watchdog, clock, alerts } = setup();
    beats(watchdog, clock, 2, 30_000);
    clock.advance(120_000);
    watchdog.stopped(prod, clock.now());
    clock.advance(600_000);
    expect(alerts.map((a) => a.kind)).toEqual(['silent']);
  });

  it('a scheduler that never sent a heartbeat is never reported (scheduler.started alone does not arm)', () => {
    const { watchdog, clock, alerts } = setup();
    watchdog.alive({ deployment: 'legacy' }, clock.now());
    clock.advance(3_600_000);
    expect(alerts).toHaveLength(0);
    expect(watchdog.size).toBe(0);
  });

  it('scheduler.started from a silent scheduler reports it back', () => {
    const { watchdog, clock, alerts } = setup();
    beats(watchdog, clock, 2, 30_000);
    clock.advance(200_000);
    watchdog.alive(prod, clock.now());
    expect(alerts.map((a) => a.kind)).toEqual(['silent', 'back']);
  });

  it('each deployment is watched on its own', () => {
    const { watchdog, clock, alerts } = setup();
    for (let i = 0; i < 10; i++) {
      watchdog.heartbeat({ deployment: 'a' }, clock.now());
      if (i < 2) watchdog.heartbeat({ deployment: 'b' }, clock.now());
      clock.advance(30_000);
    }
    expect(alerts.map((a) => a.scheduler.deployment)).toEqual(['b']);
  });

  it('a publisher still sending events (its heartbeats evicted by a full queue) is not reported silent', () => {
    const heard = new Map<string, number>();
    const { watchdog, clock, alerts } = setup({ lastHeardFrom: (src) => heard.get(src) });
    beats(watchdog, clock, 3, 30_000);
    // From here no heartbeat reaches the module, but the transport keeps hearing from pub-1.
    for (let t = 0; t < 10; t++) {
      heard.set('pub-1', clock.now());
      clock.advance(30_000);
    }
    expect(alerts).toEqual([]);
    // Then the publisher really goes quiet: reported once, timed from the last message heard.
    const lastHeard = clock.now() - 30_000;
    clock.advance(60_000);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'silent', scheduler: { src: 'pub-1', lastSeenAt: lastHeard, silentForMs: 90_000 } });
  });

  it('a heartbeat that waited in the queue counts from when it was received', () => {
    const { watchdog, clock, alerts } = setup();
    const receivedAt = clock.now();
    clock.advance(60_000);
    watchdog.heartbeat(prod, receivedAt);
    clock.advance(30_000);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.scheduler.silentForMs).toBe(90_000);
  });

  it('follows at most maxSchedulers deployments (one timer each), forgetting the least recently heard and saying so once', () => {
    const { watchdog, clock, alerts, evicted } = setup({ maxSchedulers: 100 });
    for (let i = 0; i < 1_000; i++) watchdog.heartbeat({ deployment: `d${i}` }, clock.now());
    expect(watchdog.size).toBe(100);
    expect(clock.pending).toBe(100);
    expect(evicted).toEqual(['deployment:d0']);
    clock.advance(90_000);
    expect(alerts).toHaveLength(100);
    expect(alerts[0]?.scheduler.deployment).toBe('d900');
  });

  it('close() clears every timer and reports nothing more', () => {
    const { watchdog, clock, alerts } = setup();
    beats(watchdog, clock, 2, 30_000);
    watchdog.close();
    expect(clock.pending).toBe(0);
    watchdog.heartbeat(prod, clock.now());
    clock.advance(600_000);
    expect(alerts).toHaveLength(0);
  });

  it('keeps a 1 MB deployment name to a bounded identity', () => {
    const { watchdog, clock, alerts } = setup();
    watchdog.heartbeat({ deployment: 'd'.repeat(1_000_000) }, clock.now());
    clock.advance(90_000);
    expect(alerts[0]?.scheduler.deployment?.length).toBe(256);
  });

  it('heartbeats with neither deployment nor publisher id are watched as one unknown scheduler', () => {
    const { watchdog, clock, alerts } = setup();
    watchdog.heartbeat({}, clock.now());
    clock.advance(90_000);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.scheduler).toMatchObject({ silentForMs: 90_000 });
  });
});
