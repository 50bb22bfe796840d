import { describe, expect, it } from 'vitest';
import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';
import { ChannelAvailability } from '../../src/discord/outbox/channel-availability.ts';
import { ChannelLimiter, readBucketHeaders } from '../../src/discord/outbox/channel-limiter.ts';
import { DigestCounter, OTHERS } from '../../src/discord/outbox/digest.ts';
import { DirectQueue } from '../../src/discord/outbox/direct-queue.ts';
import { channelProblem, classifyError, type DeliveryFailure } from '../../src/discord/outbox/errors.ts';
import type { PendingItem } from '../../src/discord/outbox/packing.ts';
import { PendingQueue } from '../../src/discord/outbox/pending-queue.ts';

const T = 1_000_000;
const request = { body: { embeds: [] }, files: undefined };
const outage: DeliveryFailure = { kind: 'outage', reason: 'server_error', status: 502, message: 'Bad Gateway' };
const refused: DeliveryFailure = { kind: 'channel', reason: 'forbidden', status: 403, code: 50001, message: 'Missing Access' };

describe('readBucketHeaders', () => {
  it('reads limit, remaining and reset-after; ignores absent or malformed values', () => {
    const headers = new Headers({ 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset-After': '1.250' });
    expect(readBucketHeaders(headers)).toEqual({ limit: 5, remaining: 0, resetAfter: 1.25 });
    expect(readBucketHeaders(new Headers({ 'X-RateLimit-Remaining': 'lots', 'X-RateLimit-Limit': '' }))).toEqual({});
  });
});

describe('ChannelLimiter (Bottleneck fed by the headers)', () => {
  it('runs one job at a time, and an idle channel at once', async () => {
    const limiter = new ChannelLimiter({ limit: 5, windowMs: 50 }, 0);
    let running = 0;
    let most = 0;
    const job = async (): Promise<void> => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    };
    await Promise.all([limiter.schedule(job), limiter.schedule(job), limiter.schedule(job)]);
    expect(most).toBe(1);
    await limiter.stop();
  });

  it('remaining 0 holds the next job until the reset the headers give (never earlier)', async () => {
    const limiter = new ChannelLimiter({ limit: 5, windowMs: 50 }, 20);
    await limiter.schedule(async () => undefined);
    limiter.update({ limit: 5, remaining: 0, resetAfter: 0.2 }, Date.now());
    expect(limiter.fromHeaders).toBe(true);
    expect(limiter.budget(Date.now())).toBe(0);
    const held = Date.now();
    await limiter.schedule(async () => undefined);
    expect(Date.now() - held).toBeGreaterThanOrEqual(200);
    await limiter.stop();
  });

  it('a 429 pauses the channel for the retry-after it gave; a response without headers changes nothing', async () => {
    const limiter = new ChannelLimiter({ limit: 5, windowMs: 50 }, 0);
    limiter.update({}, T);
    expect(limiter.fromHeaders).toBe(false);
    expect(limiter.budget(T)).toBe(5);
    limiter.pauseFor(150, Date.now());
    const paused = Date.now();
    await limiter.schedule(async () => undefined);
    expect(Date.now() - paused).toBeGreaterThanOrEqual(150);
    await limiter.stop();
  });
});

describe('ChannelAvailability', () => {
  const backoff = { outage: { baseMs: 1000, maxMs: 60_000 }, refused: { baseMs: 5000, maxMs: 300_000 } };

  it('an outage backs off exponentially with jitter and never waits more than its cap (60 s)', () => {
    const highest = new ChannelAvailability(backoff, () => 1);
    const delays = Array.from({ length: 12 }, (_, i) => highest.failed(outage, T + i).delayMs);
    expect(delays.slice(0, 7)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000]);
    expect(Math.max(...delays)).toBe(60_000);
    const lowest = new ChannelAvailability(backoff, () => 0);
    expect(lowest.failed(outage, T).delayMs).toBe(500);
    expect(highest.status).toMatchObject({ state: 'outage', since: T, failures: 12, status: 502 });
  });

  it('reports a state once: began on the first failure of an outage, again when it turns into a refusal', () => {
    const availability = new ChannelAvailability(backoff, () => 1);
    expect(availability.failed(outage, T).began).toBe(true);
    expect(availability.failed(outage, T + 1).began).toBe(false);
    const turned = availability.failed(refused, T + 2);
    expect(turned).toEqual({ began: true, delayMs: 5000 });
    expect(availability.waitMs(T + 2)).toBe(5000);
    expect(availability.waitMs(T + 5002)).toBe(0);
    // A refusal is re-probed from seconds up to minutes.
    for (let i = 0; i < 10; i++) availability.failed(refused, T + 3);
    expect(availability.status).toMatchObject({ state: 'refused', since: T + 2, failures: 11, nextAttemptAt: T + 3 + 300_000 });
  });

  it('the first success ends the state and returns what it was', () => {
    const availability = new ChannelAvailability(backoff);
    expect(availability.succeeded()).toBeUndefined();
    availability.failed(refused, T);
    expect(availability.succeeded()).toMatchObject({ state: 'refused', since: T, failures: 1 });
    expect(availability.status).toBeUndefined();
    expect(availability.waitMs(T)).toBe(0);
  });
});

function item(topic: string, receivedAt = T, label?: string): PendingItem {
  return { embed: { title: topic }, topic, receivedAt, ...(label === undefined ? {} : { label }) };
}

describe('PendingQueue bound', () => {
  it('when full, job.failed and job.missed keep their embeds: the newest notice is folded in their place', () => {
    const queue = new PendingQueue(3);
    queue.push(item('job.executed', T, 'a'));
    queue.push(item('job.failed', T + 1));
    queue.push(item('job.executed', T + 2, 'b'));
    expect(queue.push(item('job.missed', T + 3))).toMatchObject({ kept: 'queued', evicted: { topic: 'job.executed', label: 'b' }, evictedBucket: { topic: 'job.executed', label: 'b' } });
    expect(queue.push(item('job.failed', T + 4))).toMatchObject({ kept: 'queued', evicted: { label: 'a' } });
    // No notice left to fold: a further failure is counted in the digest, and so is a notice.
    expect(queue.push(item('job.failed', T + 5))).toEqual({ kept: 'folded', bucket: { topic: 'job.failed', label: '' } });
    expect(queue.push(item('job.executed', T + 6))).toEqual({ kept: 'folded', bucket: { topic: 'job.executed', label: '' } });
    expect(queue.fullItems.map((i) => i.topic)).toEqual(['job.failed', 'job.missed', 'job.failed']);
    expect(queue.events).toBe(7);
    expect(queue.overflowCounter?.count).toBe(4);
  });

  it('expire removes full items received before the cutoff, and the folded ones once the newest of them is that old', () => {
    const queue = new PendingQueue(2);
    queue.push(item('job.failed', T));
    queue.push(item('job.failed', T + 100));
    queue.push(item('job.failed', T + 50));
    queue.push(item('job.failed', T + 300));
    expect(queue.expire(T + 60)).toEqual({ items: [expect.objectContaining({ receivedAt: T })], folded: 0 });
    expect(queue.expire(T + 400)).toEqual({ items: [expect.objectContaining({ receivedAt: T + 100 })], folded: 2 });
    expect(queue.events).toBe(0);
  });
});

describe('DigestCounter buckets', () => {
  it('names the first topics and labels and puts the rest in "others"; a stored bucket counts back the same', () => {
    const counter = new DigestCounter();
    const buckets = Array.from({ length: 12 }, (_, i) => counter.add('job.failed', `job-${i}`, T + i));
    expect(buckets[0]).toEqual({ topic: 'job.failed', label: 'job-0' });
    expect(buckets[11]).toEqual({ topic: 'job.failed', label: OTHERS });
    const back = new DigestCounter();
    back.addBucket({ topic: 'job.failed', label: 'job-0' }, 3, T, T + 5);
    back.addBucket({ topic: OTHERS, label: OTHERS }, 4, T + 1, T + 9);
    expect(back.summary()).toMatchObject({ count: 7, topics: [{ topic: 'job.failed', count: 3 }], otherTopics: 4, labels: [{ label: 'job-0', count: 3 }], otherLabels: 4, firstAt: T, lastAt: T + 9 });
  });
});

describe('DirectQueue', () => {
  it('an edit of a message with an edit queued takes that one over; beyond the capacity it is full', () => {
    const queue = new DirectQueue(2);
    expect(queue.add({ kind: 'edit', messageId: '1', body: { content: 'a' } }, undefined)).toBe('queued');
    expect(queue.add({ kind: 'edit', messageId: '1', body: { content: 'b' } }, undefined)).toBe('merged');
    expect(queue.add({ kind: 'send', body: { content: 'c' } }, undefined)).toBe('queued');
    expect(queue.add({ kind: 'send', body: { content: 'd' } }, undefined)).toBe('full');
    expect(queue.shift()?.body).toEqual({ content: 'b' });
  });
});

describe('classifyError', () => {
  it('403 and 404 on a send: the channel refuses; on an edit of a gone or foreign message: only that message', () => {
    const forbidden = new DiscordAPIError({ message: 'Missing Access', code: 50001 }, 50001, 403, 'POST', '/x', request);
    expect(classifyError(forbidden, 'send')).toMatchObject({ kind: 'channel', reason: 'forbidden', status: 403, code: 50001 });
    const gone = new DiscordAPIError({ message: 'Unknown Message', code: 10008 }, 10008, 404, 'PATCH', '/x', request);
    expect(classifyError(gone, 'edit')).toMatchObject({ kind: 'message', reason: 'not_found' });
    expect(classifyError(gone, 'send')).toMatchObject({ kind: 'channel', reason: 'not_found' });
    const notAuthor = new DiscordAPIError({ message: 'Cannot edit a message authored by another user', code: 50005 }, 50005, 403, 'PATCH', '/x', request);
    expect(classifyError(notAuthor, 'edit')).toMatchObject({ kind: 'message', reason: 'forbidden' });
  });

  it('400 is a rejected payload; 5xx (HTTPError) and network errors are an outage; a RateLimitError says how long to wait', () => {
    const bad = new DiscordAPIError({ message: 'Invalid Form Body', code: 50035 }, 50035, 400, 'POST', '/x', request);
    expect(classifyError(bad, 'send')).toMatchObject({ kind: 'rejected', reason: 'rejected', status: 400 });
    expect(classifyError(new HTTPError(502, 'Bad Gateway', 'POST', '/x', request), 'send')).toMatchObject({ kind: 'outage', reason: 'server_error', status: 502 });
    expect(classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'send')).toMatchObject({ kind: 'outage', reason: 'network', status: 'network' });
    const limited = new RateLimitError({ timeToReset: 1200, limit: 5, method: 'POST', hash: 'h', url: '/x', route: '/channels/:id/messages', majorParameter: '1', global: false, retryAfter: 1500, sublimitTimeout: 0, scope: 'user' });
    expect(classifyError(limited, 'send')).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 1500, global: false });
  });

  it('tells the operator what to fix for a channel that refuses the bot', () => {
    const forbidden = classifyError(new DiscordAPIError({ message: 'Missing Access', code: 50001 }, 50001, 403, 'POST', '/x', request), 'send');
    expect(channelProblem('123', forbidden)).toMatch(/channel 123.*View Channel, Send Messages and Embed Links/);
    const missing = classifyError(new DiscordAPIError({ message: 'Unknown Channel', code: 10003 }, 10003, 404, 'POST', '/x', request), 'send');
    expect(channelProblem('123', missing)).toMatch(/notification_channels/);
  });
});
