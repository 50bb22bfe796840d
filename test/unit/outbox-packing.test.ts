import { describe, expect, it } from 'vitest';
import type { APIEmbed } from 'discord.js';
import { embedLength } from '../../src/discord/embeds/limits.ts';
import { DIGEST_LABELS, DIGEST_TOPICS, DigestCounter } from '../../src/discord/outbox/digest.ts';
import { packMessage, type PendingItem } from '../../src/discord/outbox/packing.ts';
import { PendingQueue } from '../../src/discord/outbox/pending-queue.ts';
import { messageProblems } from '../helpers/embed-checks.ts';

const T0 = Date.UTC(2025, 0, 1);

function item(i: number, size = 100, topic = 'job.failed'): PendingItem {
  const embed: APIEmbed = { title: `job ${i}`, description: String(i).padStart(size, '.') };
  return { embed, topic, label: `job-${i}`, receivedAt: T0 + i };
}

function digestTotal(digest: DigestCounter | undefined): number {
  if (!digest) return 0;
  const s = digest.summary();
  return s.topics.reduce((sum, t) => sum + t.count, 0) + s.otherTopics;
}

describe('packMessage: merging', () => {
  it('3 small items on the last send before a wait: one message with all 3, no digest', () => {
    const packed = packMessage([item(1), item(2), item(3)], undefined, 1);
    expect(packed.items.map((i) => i.label)).toEqual(['job-1', 'job-2', 'job-3']);
    expect(packed.digest).toBeUndefined();
    expect(packed.embeds).toHaveLength(3);
  });

  it('25 small items with 5 sends left in the window: 10 full embeds, the rest waits (no detail lost)', () => {
    const items = Array.from({ length: 25 }, (_, i) => item(i));
    const packed = packMessage(items, undefined, 5);
    expect(packed.embeds).toHaveLength(10);
    expect(packed.items).toHaveLength(10);
    expect(packed.digest).toBeUndefined();
    expect(messageProblems(packed.embeds)).toEqual([]);
  });

  it('25 small items on the last send: 9 full embeds + a digest counting the other 16', () => {
    const items = Array.from({ length: 25 }, (_, i) => item(i));
    const packed = packMessage(items, undefined, 1);
    expect(packed.embeds).toHaveLength(10);
    expect(packed.items).toHaveLength(9);
    expect(packed.digest?.count).toBe(16);
    expect(packed.embeds[9]!.title).toBe('📦 16 more events (digest)');
    expect(messageProblems(packed.embeds)).toEqual([]);
  });

  it('respects 6000 characters: items of 2500 chars go 2 per message, or 1 + digest on the last send', () => {
    const items = Array.from({ length: 5 }, (_, i) => item(i, 2500));
    const roomy = packMessage(items, undefined, 3);
    expect(roomy.items).toHaveLength(2);
    expect(roomy.digest).toBeUndefined();
    const last = packMessage(items, undefined, 1);
    expect(last.items).toHaveLength(1);
    expect(last.digest?.count).toBe(4);
    expect(messageProblems(last.embeds)).toEqual([]);
  });

  it('an item of 5900 chars plus a digest: the item is shortened (with a marker) so the message stays valid', () => {
    const big: PendingItem = { embed: { title: 'big', description: 'x'.repeat(4000), fields: [{ name: 'f', value: 'y'.repeat(1000) }, { name: 'g', value: 'z'.repeat(890) }] }, topic: 'job.failed', receivedAt: T0 };
    expect(embedLength(big.embed)).toBe(5895);
    const packed = packMessage([big, item(2, 200)], undefined, 1);
    expect(packed.items).toHaveLength(1);
    expect(packed.digest?.count).toBe(1);
    expect(messageProblems(packed.embeds)).toEqual([]);
    expect(JSON.stringify(packed.embeds[0])).toMatch(/truncated [\d,]+ chars/);
  });

  it('folded overflow always goes out in a digest, even with sends to spare', () => {
    const overflow = new DigestCounter();
    overflow.add('job.failed', 'old', T0, 3);
    const packed = packMessage([item(1)], overflow, 5);
    expect(packed.items).toHaveLength(1);
    expect(packed.digest?.count).toBe(3);
    expect(packed.embeds).toHaveLength(2);
  });

  it('15 small items with 2 sends allowed (the next message and one more): 10 full embeds now, the other 5 fit in the next', () => {
    const items = Array.from({ length: 15 }, (_, i) => item(i));
    const packed = packMessage(items, undefined, 2);
    expect(packed.items).toHaveLength(10);
    expect(packed.digest).toBeUndefined();
  });

  it('25 small items with 2 sends allowed: the other 15 would need two more messages, so 9 full + a digest of 16 now', () => {
    const items = Array.from({ length: 25 }, (_, i) => item(i));
    const packed = packMessage(items, undefined, 2);
    expect(packed.items).toHaveLength(9);
    expect(packed.digest?.count).toBe(16);
    expect(messageProblems(packed.embeds)).toEqual([]);
  });

  it('60 small items with 5 sends left: the other 50 do not fit in 4 messages, so the digest goes now', () => {
    const items = Array.from({ length: 60 }, (_, i) => item(i));
    const packed = packMessage(items, undefined, 5);
    expect(packed.items).toHaveLength(9);
    expect(packed.digest?.count).toBe(51);
  });

  it('an empty queue packs nothing', () => {
    expect(packMessage([], undefined, 1).embeds).toEqual([]);
  });
});

describe('digest counting', () => {
  it('counts every event by topic and names the first jobs; the rest are counted, not named', () => {
    const items = Array.from({ length: 60 }, (_, i) => item(i, 100, i % 3 === 0 ? 'job.executed' : 'job.failed'));
    const packed = packMessage(items, undefined, 1);
    const summary = packed.digest!.summary();
    const inDigest = items.slice(packed.items.length);
    expect(summary.count).toBe(inDigest.length);
    expect(summary.topics).toEqual([
      { topic: inDigest[0]!.topic, count: inDigest.filter((i) => i.topic === inDigest[0]!.topic).length },
      { topic: inDigest[1]!.topic, count: inDigest.filter((i) => i.topic === inDigest[1]!.topic).length },
    ]);
    expect(summary.labels.map((l) => l.label)).toEqual(inDigest.slice(0, DIGEST_LABELS).map((i) => i.label));
    expect(summary.otherLabels).toBe(inDigest.length - DIGEST_LABELS);
    expect(summary.firstAt).toBe(inDigest[0]!.receivedAt);
    expect(summary.lastAt).toBe(inDigest.at(-1)!.receivedAt);
  });

  it('with 50 distinct topics, tracks 20 by name and counts the rest as other topics, exactly', () => {
    const digest = new DigestCounter();
    for (let i = 0; i < 5000; i++) digest.add(`custom.topic${i % 50}`, `label-${i}`, T0 + i);
    expect(digest.trackedNames()).toEqual({ topics: DIGEST_TOPICS, labels: DIGEST_LABELS });
    expect(digestTotal(digest)).toBe(5000);
    expect(digest.summary().otherTopics).toBe(30 * 100);
    expect(digest.meanReceivedAt()).toBeCloseTo(T0 + 2499.5, 3);
  });

  it('merging digests adds counts and keeps the mean receive time', () => {
    const a = new DigestCounter();
    a.add('job.failed', 'x', T0, 2);
    const b = new DigestCounter();
    b.add('job.failed', 'x', T0 + 1000);
    b.add('job.executed', 'y', T0 + 4000);
    a.addAll(b);
    expect(a.summary().topics).toEqual([{ topic: 'job.failed', count: 3 }, { topic: 'job.executed', count: 1 }]);
    expect(a.summary().labels).toEqual([{ label: 'x', count: 3 }, { label: 'y', count: 1 }]);
    expect(a.meanReceivedAt()).toBe(T0 + 1250);
    expect(a.summary().lastAt).toBe(T0 + 4000);
  });
});

describe('PendingQueue: bounded per channel', () => {
  it('100k posts to a stalled channel: at most 500 kept in full, digest counters bounded, every event counted exactly', () => {
    const queue = new PendingQueue(500);
    const topics = ['job.failed', 'job.executed', 'handler.ping'];
    const perTopic = new Map<string, number>();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) {
      const topic = topics[i % 3]!;
      perTopic.set(topic, (perTopic.get(topic) ?? 0) + 1);
      // Each embed holds its own 4 KB string: keeping them all would need about 400 MB.
      queue.push({ embed: { title: `job ${i}`, description: String(i).padStart(4000, 'x') }, topic, label: `job-${i}`, receivedAt: T0 + i });
    }
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(queue.storedItems).toBe(500);
    expect(queue.events).toBe(100_000);
    expect(queue.overflowCounter!.trackedNames().labels).toBeLessThanOrEqual(DIGEST_LABELS);
    expect(queue.overflowCounter!.trackedNames().topics).toBeLessThanOrEqual(DIGEST_TOPICS);
    expect(heapGrowth).toBeLessThan(150 * 1024 * 1024);

    // The channel comes back: one message carries everything, counted by topic to the last event.
    const packed = queue.take(1)!;
    expect(queue.events).toBe(0);
    expect(packed.items.length + packed.digest!.count).toBe(100_000);
    const counted = new Map<string, number>();
    for (const i of packed.items) counted.set(i.topic, (counted.get(i.topic) ?? 0) + 1);
    for (const t of packed.digest!.summary().topics) counted.set(t.topic, (counted.get(t.topic) ?? 0) + t.count);
    expect(counted).toEqual(perTopic);
    expect(messageProblems(packed.embeds)).toEqual([]);
  });

  it('a stream taken 2 sends at a time: whatever a message leaves behind is carried by the next one, in full or in its digest', () => {
    const queue = new PendingQueue(500);
    let pushed = 0;
    let taken = 0;
    let leftBehind: string[] = [];
    for (let round = 0; round < 40; round++) {
      // 0 to 35 new events between sends: sometimes all fit, sometimes they overflow a message.
      for (let i = 0; i < (round * 7) % 36; i++, pushed++) queue.push(item(pushed));
      const packed = queue.take(2);
      if (!packed) continue;
      const carried = new Set(packed.items.map((i) => i.label));
      const digested = packed.digest ? packed.digest.count : 0;
      // Events left by the previous message are at the front: each is a full embed here, or the digest took everything.
      if (digested === 0) for (const label of leftBehind) expect(carried.has(label)).toBe(true);
      taken += packed.items.length + digested;
      expect(taken + queue.events).toBe(pushed);
      // What waits for the next message fits in it.
      expect(queue.events).toBeLessThanOrEqual(10);
      leftBehind = Array.from({ length: queue.events }, (_, i) => `job-${taken + i}`);
    }
  });

  it('conserves events over a series of sends with and without spare budget', () => {
    const queue = new PendingQueue(50);
    let pushed = 0;
    let taken = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 37; i++, pushed++) queue.push(item(pushed));
      const packed = queue.take(round % 4 === 0 ? 1 : 3)!;
      taken += packed.items.length + (packed.digest?.count ?? 0);
      expect(messageProblems(packed.embeds)).toEqual([]);
      expect(taken + queue.events).toBe(pushed);
    }
    while (queue.events > 0) {
      const packed = queue.take(2)!;
      taken += packed.items.length + (packed.digest?.count ?? 0);
    }
    expect(taken).toBe(pushed);
    expect(queue.take(1)).toBeUndefined();
  });
});
