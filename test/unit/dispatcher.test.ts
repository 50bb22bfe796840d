import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dispatcher } from '../../src/pipeline/dispatcher.ts';
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
    const p = started(pipeline({ handlerTimeoutMs: 50, abandonAfterMs: 50 }));
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
    // The hanging call never settles: it was abandoned, its slot freed.
    expect(p.dispatcher.stats()).toMatchObject({ dispatched: 4, handlerErrors: 3, inFlight: 0, abandoned: 1, abandonedRunning: 1 });

    const failures = p.logs().filter((l) => l.msg === 'handler failed' || String(l.msg).startsWith('handler timed out'));
    expect(failures.map((l) => [l.topic, l.handler, l.reason])).toEqual([
      ['job.failed', 'alerts:job.', 'throw'],
      ['job.failed', 'alerts:job.', 'reject'],
      ['job.failed', 'alerts:job.', 'timeout'],
    ]);
  });

  it('a handler that never settles is abandoned after the bound: with concurrency 1, events after it still run', async () => {
    const p = started(pipeline({ concurrency: 1, handlerTimeoutMs: 30, abandonAfterMs: 30 }));
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

  it('with a cap of 10 events/s (fake timers), dispatches one event per 100 ms window; the rest wait, not dispatched', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    try {
      const p = started(pipeline({ maxEventsPerSecond: 10 }));
      const seen: string[] = [];
      p.context('m').on('job.', (e) => void seen.push(e.topic));
      p.push(...Array.from({ length: 5 }, (_, i) => event(`job.${i}`)));
      // A burst of 10/s is one event (a tenth of a second's worth).
      expect(seen).toEqual(['job.0']);
      await vi.advanceTimersByTimeAsync(50);
      expect(seen).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(100);
      expect(seen).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(100);
      expect(seen).toHaveLength(3);
      const stats = p.dispatcher.stats();
      expect(stats.dispatched).toBe(3);
      // Taken but held by the cap (at most `concurrency`), or still in the bounded queue.
      expect(stats.waiting + p.queue.size).toBe(2);
      p.dispatcher.stop();
      expect(p.dispatcher.discardWaiting()).toBe(stats.waiting);
    } finally {
      vi.useRealTimers();
    }
  });

  it('unhandled events do not spend the events-per-second budget (5 unhandled then 1 handled, cap 10/s)', async () => {
    const p = started(pipeline({ maxEventsPerSecond: 10 }));
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
    expect(p.queue.size + p.dispatcher.stats().waiting).toBe(200 - count);
  });
});

describe('Dispatcher: AbortSignal and abandonment', () => {
  it('a handler that honours its AbortSignal is aborted at the timeout and keeps its slot until it settles (concurrency 1, 3 events)', async () => {
    const p = started(pipeline({ concurrency: 1, handlerTimeoutMs: 30, abandonAfterMs: 5_000 }));
    let active = 0;
    let peak = 0;
    const abortedWith: string[] = [];
    p.context('m').on('job.', async (_e, _ctx, { signal }) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      abortedWith.push((signal.reason as Error).name);
      // Cleaning up takes a while after the abort: the slot must stay held meanwhile.
      await sleep(40);
      active--;
    });
    p.push(event('job.a'), event('job.b'), event('job.c'));
    expect(await p.dispatcher.drain(5_000)).toBe(true);
    expect(peak).toBe(1);
    expect(abortedWith).toEqual(['TimeoutError', 'TimeoutError', 'TimeoutError']);
    expect(await p.metrics.value(p.metrics.handlerErrors, { handler: 'm:job.', reason: 'timeout' })).toBe(3);
    expect(await p.metrics.value(p.metrics.handlerAbandoned)).toBe(0);
  });

  it('a handler that ignores its AbortSignal: concurrency stays bounded (2 slots + 2 abandoned = 4 of 8) and each abandonment is counted and logged', async () => {
    const p = started(pipeline({ concurrency: 2, handlerTimeoutMs: 20, abandonAfterMs: 20 }));
    const gate = deferred();
    let active = 0;
    let peak = 0;
    let abortedAtEnd = 0;
    p.context('m').on('job.', async (_e, _ctx, { signal }) => {
      active++;
      peak = Math.max(peak, active);
      await gate.promise;
      if (signal.aborted) abortedAtEnd++;
      active--;
    });
    p.push(...Array.from({ length: 8 }, (_, i) => event(`job.${i}`)));
    // The first two are abandoned and free their slots; the next two time out too, but find the
    // abandoned ones' cap reached and keep their slots.
    await vi.waitFor(() => expect(p.logs().some((l) => String(l.msg).includes('abandoned calls already run'))).toBe(true), { timeout: 10_000, interval: 10 });
    expect(p.dispatcher.stats()).toMatchObject({ abandoned: 2, abandonedRunning: 2, inFlight: 2 });
    expect(await p.metrics.value(p.metrics.handlerAbandoned, { handler: 'm:job.' })).toBe(2);
    expect(p.logs().filter((l) => String(l.msg).startsWith('handler abandoned'))).toHaveLength(1);
    await sleep(100);
    expect(active).toBe(4);
    expect(p.queue.size).toBe(4);
    gate.resolve();
    expect(await p.dispatcher.drain(5_000)).toBe(true);
    expect(peak).toBe(4);
    expect(abortedAtEnd).toBe(4);
    expect(p.dispatcher.stats()).toMatchObject({ dispatched: 8, abandoned: 2, abandonedRunning: 0, inFlight: 0 });
  });
});
