import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/pipeline/bounded-queue.ts';
import { TopicPriorities } from '../../src/pipeline/priorities.ts';

interface Item {
  topic: string;
  id: number;
}

const defaults = { 'job.failed': 100, 'scheduler.stopped': 100, 'scheduler.heartbeat': 0 };

function queue(capacity: number, priorities: Record<string, number> = defaults, defaultPriority = 50) {
  const dropped: Item[] = [];
  const q = new BoundedQueue<Item>({ capacity, priorities, defaultPriority, onDrop: (item) => dropped.push(item) });
  return { q, dropped };
}

function drainIds(q: BoundedQueue<Item>): number[] {
  const ids: number[] = [];
  for (let item = q.shift(); item; item = q.shift()) ids.push(item.id);
  return ids;
}

describe('TopicPriorities', () => {
  it('gives the longest matching prefix priority: job.failed.fatal under {job.:10, job.failed:100} is 100', () => {
    const p = new TopicPriorities({ 'job.': 10, 'job.failed': 100, '': 1 }, 50);
    expect(p.of('job.failed.fatal')).toBe(100);
    expect(p.of('job.executed')).toBe(10);
    expect(p.of('handler.ping')).toBe(1);
    expect(new TopicPriorities({ 'job.': 10 }, 50).of('handler.ping')).toBe(50);
  });
});

describe('BoundedQueue', () => {
  it('hands items out in arrival order across priorities', () => {
    const { q } = queue(10);
    const topics = ['job.executed', 'scheduler.heartbeat', 'job.failed', 'handler.ping', 'scheduler.stopped'];
    topics.forEach((topic, id) => q.push({ topic, id }));
    expect(q.size).toBe(5);
    expect(q.peek()?.id).toBe(0);
    expect(drainIds(q)).toEqual([0, 1, 2, 3, 4]);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('when full, evicts the oldest of the lowest priority: heartbeats first, then default-priority events, oldest first', () => {
    const { q, dropped } = queue(4);
    q.push({ topic: 'job.executed', id: 1 }); // 50
    q.push({ topic: 'scheduler.heartbeat', id: 2 }); // 0
    q.push({ topic: 'job.failed', id: 3 }); // 100
    q.push({ topic: 'scheduler.heartbeat', id: 4 }); // 0
    expect(q.push({ topic: 'handler.ping', id: 5 })).toBe('evicted'); // evicts heartbeat 2
    expect(q.push({ topic: 'job.executed', id: 6 })).toBe('evicted'); // evicts heartbeat 4
    expect(q.push({ topic: 'job.failed', id: 7 })).toBe('evicted'); // evicts job.executed 1 (oldest 50)
    expect(dropped.map((d) => d.id)).toEqual([2, 4, 1]);
    expect(q.dropped).toBe(3);
    expect(drainIds(q)).toEqual([3, 5, 6, 7]);
  });

  it('drops the incoming event when it ranks below everything queued: a heartbeat into a queue of job.failed', () => {
    const { q, dropped } = queue(3);
    for (let id = 1; id <= 3; id++) q.push({ topic: 'job.failed', id });
    expect(q.push({ topic: 'scheduler.heartbeat', id: 4 })).toBe('rejected');
    expect(q.push({ topic: 'job.executed', id: 5 })).toBe('rejected');
    expect(dropped.map((d) => d.id)).toEqual([4, 5]);
    expect(drainIds(q)).toEqual([1, 2, 3]);
  });

  it('an incoming event of the same priority as the lowest queued evicts the oldest of them (capacity 2, three job.executed)', () => {
    const { q, dropped } = queue(2);
    q.push({ topic: 'job.executed', id: 1 });
    q.push({ topic: 'job.executed', id: 2 });
    expect(q.push({ topic: 'job.executed', id: 3 })).toBe('evicted');
    expect(dropped.map((d) => d.id)).toEqual([1]);
    expect(drainIds(q)).toEqual([2, 3]);
  });

  it('evicting from the middle keeps arrival order of the rest (capacity 5, heartbeats interleaved)', () => {
    const { q } = queue(5);
    const topics = ['job.a', 'scheduler.heartbeat', 'job.b', 'scheduler.heartbeat', 'job.c'];
    topics.forEach((topic, i) => q.push({ topic, id: i + 1 }));
    q.push({ topic: 'job.d', id: 6 });
    q.push({ topic: 'job.e', id: 7 });
    expect(drainIds(q)).toEqual([1, 3, 5, 6, 7]);
  });

  it('keeps offered = shifted + dropped + size through 10,000 mixed pushes and 5,000 shifts into capacity 64, reusing slots', () => {
    const { q, dropped } = queue(64);
    // One in ten is high priority; every second push is followed by a shift.
    const topics = ['job.failed', 'job.executed', 'scheduler.heartbeat', 'handler.ping', 'job.scheduled', 'job.executed', 'scheduler.heartbeat', 'handler.ping', 'job.removed', 'job.executed'];
    let offered = 0;
    let shifted = 0;
    let lastId = -1;
    for (let i = 0; i < 10_000; i++) {
      q.push({ topic: topics[(i * 7) % topics.length] as string, id: i });
      offered++;
      if (i % 2 === 0) {
        const item = q.shift();
        if (item) {
          shifted++;
          expect(item.id).toBeGreaterThan(lastId);
          lastId = item.id;
        }
      }
      expect(offered).toBe(shifted + dropped.length + q.size);
      expect(q.size).toBeLessThanOrEqual(64);
    }
    const bySize = Object.values(q.sizeByPriority()).reduce((a, b) => a + b, 0);
    expect(bySize).toBe(q.size);
    // High-priority events were never dropped while lower ones could be.
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.some((d) => d.topic === 'job.failed')).toBe(false);
  });

  it('clear() removes everything and returns how many', () => {
    const { q } = queue(8);
    for (let id = 0; id < 5; id++) q.push({ topic: 'job.x', id });
    expect(q.clear()).toBe(5);
    expect(q.size).toBe(0);
    q.push({ topic: 'job.y', id: 9 });
    expect(drainIds(q)).toEqual([9]);
  });

  it('rejects a capacity that is not a positive integer (0)', () => {
    expect(() => new BoundedQueue({ capacity: 0 })).toThrow(/positive integer/);
  });
});
