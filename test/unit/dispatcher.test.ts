import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dispatcher } from '../../src/pipeline/dispatcher.ts';
import { TokenBucket } from '../../src/pipeline/token-bucket.ts';
import { deferred, event, pipeline } from '../helpers/pipeline.ts';

let running: Dispatcher[] = [];
function started<T extends { dispatcher: Dispatcher }>(p: T): T {
  running.push(p.dispatcher);
  p.dispatcher.start();
  return p;
}
afterEach(() => {
  for (const d of running) d.stop();
  running = [];
});

describe('Dispatcher: handler isolation', () => {
  it('a handler that throws, rejects or times out affects no other handler and no later event; each failure is counted with its reason', async () => {
    const p = started(pipeline({ handlerTimeoutMs: 50 }));
    const a = p.context('alerts');
    const b = p.context('audit');
    const seenByAudit: string[] = [];
    const seenByAlertsAfter: string[] = [];
    a.on('job.', (e) => {
      if (e.data.mode === 'throw') throw new Error('sync boom');
      if (e.data.mode === 'reject') return Promise.reject(new Error('async boom'));
      if (e.data.mode === 'hang') return new Promise<void>(() => undefined);
      seenByAlertsAfter.push(String(e.data.id));
    });
    b.on('job.', async (e) => {
      seenByAudit.push(String(e.data.id));
    });
    p.push(event('job.failed', { id: 1, mode: 'throw' }), event('job.failed', { id: 2, mode: 'reject' }), event('job.failed', { id: 3, mode: 'hang' }), event('job.executed', { id: 4 }));
    expect(await p.dispatcher.drain(5_000)).toBe(true);

    expect(seenByAudit).toEqual(['1', '2', '3', '4']);
    expect(seenByAlertsAfter).toEqual(['4']);
    const errors = p.metrics.handlerErrors;
    expect(await p.metrics.value(errors, { handler: 'alerts:job.', reason: 'throw' })).toBe(1);
    expect(await p.metrics.value(errors, { handler: 'alerts:job.', reason: 'reject' })).toBe(1);
    expect(await p.metrics.value(errors, { handler: 'alerts:job.', reason: 'timeout' })).toBe(1);
    expect(await p.metrics.value(errors, { handler: 'audit:job.' })).toBe(0);
    expect(await p.metrics.value(p.metrics.eventsDispatched)).toBe(4);
    expect(p.dispatcher.stats()).toMatchObject({ dispatched: 4, handlerErrors: 3, inFlight: 0 });

    const failures = p.logs().filter((l) => l.msg === 'handler failed' || l.msg === 'handler timed out');
    expect(failures.map((l) => [l.topic, l.handler, l.reason])).toEqual([
      ['job.failed', 'alerts:job.', 'throw'],
      ['job.failed', 'alerts:job.', 'reject'],
      ['job.failed', 'alerts:job.', 'timeout'],
    ]);
  });

  it('a timed-out handler frees its slot: with concurrency 1, events after a hanging one still run', async () => {
    const p = started(pipeline({ concurrency: 1, handlerTimeoutMs: 30 }));
    const seen: number[] = [];
    p.context('m').on('job.', (e) => (e.data.hang ? new Promise<void>(() => undefined) : void seen.push(e.data.id as number)));
    p.push(event('job.a', { hang: true }), event('job.b', { id: 2 }), event('job.c', { id: 3 }));
    expect(await p.dispatcher.drain(5_000)).toBe(true);
    expect(seen).toEqual([2, 3]);
  });

  it('a handler failing on every event (50 throws) is counted 50 times but logged once per interval', async () => {
    const p = started(pipeline());
    p.context('m').on('job.', () => {
      throw new Error('always');
    });
    p.push(...Array.from({ length: 50 }, () => event('job.failed')));
    await p.dispatcher.drain(5_000);
    expect(await p.metrics.value(p.metrics.handlerErrors, { handler: 'm:job.', reason: 'throw' })).toBe(50);
    expect(p.logs().filter((l) => l.msg === 'handler failed')).toHaveLength(1);
  });

  it('a handler can be named: its errors carry that name', async () => {
    const p = started(pipeline());
    p.context('m').on('', () => {
      throw new Error('x');
    }, { name: 'explode' });
    p.push(event('job.failed'));
    await p.dispatcher.drain(5_000);
    expect(await p.metrics.value(p.metrics.handlerErrors, { handler: 'explode', reason: 'throw' })).toBe(1);
  });
});

describe('Dispatcher: routing', () => {
  it('matches by prefix: "job." sees job.failed, "" sees everything, "job.failed" not job.executed; several handlers per topic in registration order', async () => {
    const p = started(pipeline());
    const calls: string[] = [];
    const ctx = p.context('m');
    ctx.on('job.', (e) => void calls.push(`job.:${e.topic}`));
    ctx.on('', (e) => void calls.push(`*:${e.topic}`));
    ctx.on('job.failed', (e) => void calls.push(`job.failed:${e.topic}`));
    ctx.on('handler.', (e) => void calls.push(`handler.:${e.topic}`));
    p.push(event('job.failed'));
    await p.dispatcher.drain(5_000);
    p.push(event('job.executed'));
    await p.dispatcher.drain(5_000);
    p.push(event('scheduler.started'));
    await p.dispatcher.drain(5_000);
    expect(calls).toEqual(['job.:job.failed', '*:job.failed', 'job.failed:job.failed', 'job.:job.executed', '*:job.executed', '*:scheduler.started']);
    expect(p.registry.list().map((h) => h.name)).toEqual(['m:job.', 'm:*', 'm:job.failed', 'm:handler.']);
  });

  it('unsubscribe stops one handler and leaves the others; calling it twice is harmless', async () => {
    const p = started(pipeline());
    const a: string[] = [];
    const b: string[] = [];
    const ctx = p.context('m');
    const offA = ctx.on('job.', (e) => void a.push(e.topic));
    ctx.on('job.', (e) => void b.push(e.topic));
    p.push(event('job.one'));
    await p.dispatcher.drain(5_000);
    offA();
    offA();
    p.push(event('job.two'));
    await p.dispatcher.drain(5_000);
    expect(a).toEqual(['job.one']);
    expect(b).toEqual(['job.one', 'job.two']);
    expect(p.registry.size).toBe(1);
  });

  it('an event no handler wants is counted as unhandled and dispatched, not as an error', async () => {
    const p = started(pipeline());
    p.context('m').on('job.', () => undefined);
    p.push(event('handler.ping'), event('handler.registered'), event('job.failed'));
    await p.dispatcher.drain(5_000);
    expect(await p.metrics.value(p.metrics.eventsUnhandled)).toBe(2);
    expect(await p.metrics.value(p.metrics.eventsDispatched)).toBe(3);
    expect(await p.metrics.value(p.metrics.handlerErrors)).toBe(0);
    expect(p.dispatcher.stats()).toMatchObject({ dispatched: 3, unhandled: 2 });
  });
});

describe('Dispatcher: flow control', () => {
  it('runs at most `concurrency` events at once and leaves the backlog in the bounded queue (concurrency 3, 20 blocked events)', async () => {
    const p = started(pipeline({ concurrency: 3 }));
    const gate = deferred();
    let active = 0;
    let peak = 0;
    p.context('m').on('', async () => {
      active++;
      peak = Math.max(peak, active);
      await gate.promise;
      active--;
    });
    p.push(...Array.from({ length: 20 }, (_, i) => event(`job.${i}`)));
    await sleep(20);
    expect(p.dispatcher.stats().inFlight).toBe(3);
    expect(p.queue.size).toBe(17);
    gate.resolve();
    expect(await p.dispatcher.drain(5_000)).toBe(true);
    expect(peak).toBe(3);
    expect(p.dispatcher.stats().dispatched).toBe(20);
  });

  it('idle workers wake for events pushed one at a time later, and stop() then start() dispatches again (concurrency 2)', async () => {
    const p = started(pipeline({ concurrency: 2 }));
    const seen: string[] = [];
    p.context('m').on('', async (e) => {
      await sleep(1);
      seen.push(e.topic);
    });
    // Each push finds the workers asleep on an empty queue: only a wake-up can run it.
    for (let i = 0; i < 5; i++) {
      p.push(event(`job.${i}`));
      await vi.waitFor(() => expect(seen).toHaveLength(i + 1), { timeout: 2_000 });
    }
    p.dispatcher.stop();
    p.push(event('job.while-stopped'));
    await sleep(20);
    expect(seen).toHaveLength(5);
    expect(p.queue.size).toBe(1);
    p.dispatcher.start();
    await vi.waitFor(() => expect(seen).toEqual(['job.0', 'job.1', 'job.2', 'job.3', 'job.4', 'job.while-stopped']), { timeout: 2_000 });
  });

  it('drain(timeout) resolves false when a handler outlasts the bound (handler takes 2 s, bound 50 ms)', async () => {
    const p = started(pipeline({ handlerTimeoutMs: 10_000 }));
    p.context('m').on('', () => sleep(2_000));
    p.push(event('job.slow'));
    expect(await p.dispatcher.drain(50)).toBe(false);
  });

  it('drain() on an idle dispatcher resolves true at once', async () => {
    const p = pipeline();
    expect(await p.dispatcher.drain(10)).toBe(true);
  });

  it('with an events-per-second cap and a frozen clock, dispatches only what the bucket holds; advancing the clock releases exactly one per token', async () => {
    let now = 0;
    const p = started(pipeline({ maxEventsPerSecond: 10, clock: () => now }));
    const seen: string[] = [];
    p.context('m').on('job.', (e) => void seen.push(e.topic));
    p.push(...Array.from({ length: 5 }, (_, i) => event(`job.${i}`)));
    // Burst of 10/s is one token (a tenth of a second's worth).
    expect(seen).toEqual(['job.0']);
    await sleep(250);
    expect(seen).toHaveLength(1);
    now += 100;
    await vi.waitFor(() => expect(seen).toHaveLength(2), { timeout: 2_000 });
    now += 200; // two tokens' worth, but the bucket holds one
    await vi.waitFor(() => expect(seen).toHaveLength(3), { timeout: 2_000 });
    await sleep(250);
    expect(seen).toHaveLength(3);
    expect(p.queue.size).toBe(2);
  });

  it('unhandled events do not spend the events-per-second budget (frozen clock, 5 unhandled then 1 handled)', async () => {
    const p = started(pipeline({ maxEventsPerSecond: 10, clock: () => 0 }));
    const seen: string[] = [];
    p.context('m').on('job.', (e) => void seen.push(e.topic));
    p.push(...Array.from({ length: 5 }, (_, i) => event(`handler.${i}`)), event('job.x'));
    expect(seen).toEqual(['job.x']);
    expect(p.dispatcher.stats().unhandled).toBe(5);
  });

  it('a cap of 20 events/s dispatches no more than 20 + burst in about one second (real clock, generous bound of 30)', async () => {
    const p = pipeline({ maxEventsPerSecond: 20 });
    let count = 0;
    p.context('m').on('', () => void count++);
    p.push(...Array.from({ length: 200 }, (_, i) => event(`job.${i}`)));
    const startedAt = Date.now();
    started(p);
    await sleep(1_000);
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(Math.ceil(20 * elapsedSeconds) + 2 + 8);
    expect(p.queue.size).toBe(200 - count);
  });
});

describe('TokenBucket', () => {
  it('holds a tenth of a second of tokens, refills at the rate, and says how long until the next (rate 50/s, injected clock)', () => {
    let now = 1_000;
    const bucket = new TokenBucket(50, undefined, () => now);
    expect(bucket.burst).toBe(5);
    let taken = 0;
    while (bucket.tryTake()) taken++;
    expect(taken).toBe(5);
    expect(bucket.msUntilToken()).toBe(20);
    now += 20;
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    now += 10_000;
    taken = 0;
    while (bucket.tryTake()) taken++;
    expect(taken).toBe(5);
    // Over one simulated second in 1 ms steps, exactly burst + rate tokens are available.
    const fresh = new TokenBucket(50, undefined, () => now);
    taken = 0;
    for (let step = 0; step <= 1000; step++, now++) while (fresh.tryTake()) taken++;
    expect(taken).toBe(5 + 50);
  });

  it('rejects a rate that is not positive (0)', () => {
    expect(() => new TokenBucket(0)).toThrow(/positive/);
  });
});
