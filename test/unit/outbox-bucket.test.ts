import { describe, expect, it } from 'vitest';
import { DiscordAPIError, HTTPError } from 'discord.js';
import { ChannelBucket, readBucketHeaders } from '../../src/discord/outbox/channel-bucket.ts';
import { channelProblem, classifyError } from '../../src/discord/outbox/errors.ts';
import { RateLimiter } from '../../src/sandbox/rate-limits.ts';

const T = 1_000_000;

describe('readBucketHeaders', () => {
  it('reads limit, remaining and reset-after; ignores absent or malformed values', () => {
    const headers = new Headers({ 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset-After': '1.250' });
    expect(readBucketHeaders(headers)).toEqual({ limit: 5, remaining: 0, resetAfter: 1.25 });
    expect(readBucketHeaders(new Headers({ 'X-RateLimit-Remaining': 'lots', 'X-RateLimit-Limit': '' }))).toEqual({});
  });
});

describe('ChannelBucket', () => {
  it('before any headers, counts sends against the assumed 5 per 5 s', () => {
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    expect(bucket.budget(T)).toBe(5);
    for (let i = 0; i < 5; i++) bucket.consume(T + i);
    expect(bucket.budget(T + 10)).toBe(0);
    expect(bucket.waitMs(T + 10)).toBe(4990);
    expect(bucket.waitMs(T + 5000)).toBe(0);
    expect(bucket.budget(T + 5000)).toBe(5);
  });

  it('follows the headers: remaining 0 waits reset-after plus the offset, then the full limit is available', () => {
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    bucket.update({ limit: 3, remaining: 2, resetAfter: 2 }, T);
    expect(bucket.fromHeaders).toBe(true);
    expect(bucket.budget(T)).toBe(2);
    expect(bucket.waitMs(T)).toBe(0);
    bucket.update({ limit: 3, remaining: 0, resetAfter: 1.5 }, T);
    expect(bucket.waitMs(T)).toBe(1600);
    expect(bucket.budget(T + 1600)).toBe(3);
  });

  it('a response without rate-limit headers leaves the state as it was', () => {
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    bucket.update({}, T);
    expect(bucket.fromHeaders).toBe(false);
    expect(bucket.budget(T)).toBe(5);
  });
});

describe('ChannelBucket pacing (pacedWaitMs)', () => {
  it('an idle channel sends at once: a new bucket, and one whose window has reset', () => {
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    expect(bucket.pacedWaitMs(T)).toBe(0);
    bucket.consume(T);
    bucket.update({ limit: 5, remaining: 4, resetAfter: 5 }, T + 20);
    expect(bucket.pacedWaitMs(T + 5120)).toBe(0);
  });

  it('after 1 of 5 used with 4.9 s to reset: the next send waits an even share, (4.9 s + offset) / 5 = 1 s', () => {
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    bucket.consume(T);
    bucket.update({ limit: 5, remaining: 4, resetAfter: 4.9 }, T);
    expect(bucket.pacedWaitMs(T)).toBe(1000);
    expect(bucket.pacedWaitMs(T + 600)).toBe(400);
    // The hard limit alone would let it go now: pacing is what holds it back.
    expect(bucket.waitMs(T)).toBe(0);
    const noOffset = new ChannelBucket({ limit: 5, windowMs: 5000 }, 0);
    noOffset.update({ limit: 5, remaining: 4, resetAfter: 4.9 }, T);
    expect(noOffset.pacedWaitMs(T)).toBe(980);
  });

  it('remaining 0: waits for the reset (plus the offset), then sends at once', () => {
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    bucket.update({ limit: 5, remaining: 0, resetAfter: 0.8 }, T);
    expect(bucket.pacedWaitMs(T)).toBe(900);
    expect(bucket.pacedWaitMs(T + 900)).toBe(0);
  });

  it('before any headers, paces against the assumed 5 per 5 s: one send a second', () => {
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    bucket.consume(T);
    expect(bucket.pacedWaitMs(T)).toBe(1000);
    bucket.consume(T + 1000);
    expect(bucket.pacedWaitMs(T + 1000)).toBe(1000);
  });

  it('a channel with always something to send, for 60 s against the sandbox limiter (5 per 5 s, sliding): about one send a second, evenly, never a 429', () => {
    let now = T;
    const limiter = new RateLimiter(50, () => now);
    const rule = { name: 'POST /channels/:channel_id/messages', limit: 5, windowMs: 5000 };
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    const sentAt: number[] = [];
    while (now < T + 60_000) {
      now += bucket.pacedWaitMs(now);
      bucket.consume(now);
      const decision = limiter.take(rule, 'A');
      expect(decision.allowed).toBe(true);
      sentAt.push(now);
      now += 15; // the request's round trip
      bucket.update(readBucketHeaders(new Headers(decision.headers)), now);
    }
    const gaps = sentAt.slice(1).map((at, i) => at - sentAt[i]!);
    expect(sentAt.length).toBeGreaterThanOrEqual(55);
    expect(Math.min(...gaps)).toBeGreaterThan(900);
    expect(Math.max(...gaps)).toBeLessThan(1200);
  });

  it('the same against a fixed window (the whole bucket resets 5 s after its first request): about one send a second, never over 5 per window', () => {
    let now = T;
    let windowStart = -Infinity;
    let used = 0;
    const bucket = new ChannelBucket({ limit: 5, windowMs: 5000 }, 100);
    const sentAt: number[] = [];
    while (now < T + 60_000) {
      now += bucket.pacedWaitMs(now);
      bucket.consume(now);
      if (now >= windowStart + 5000) {
        windowStart = now;
        used = 0;
      }
      used++;
      expect(used).toBeLessThanOrEqual(5);
      sentAt.push(now);
      now += 15;
      bucket.update({ limit: 5, remaining: 5 - used, resetAfter: (windowStart + 5000 - now) / 1000 }, now);
    }
    const gaps = sentAt.slice(1).map((at, i) => at - sentAt[i]!);
    expect(sentAt.length).toBeGreaterThanOrEqual(55);
    expect(Math.min(...gaps)).toBeGreaterThan(900);
    expect(Math.max(...gaps)).toBeLessThan(1200);
  });
});

const request = { body: { embeds: [] }, files: undefined };

describe('classifyError', () => {
  it('403 and 404 on a send make the channel unavailable; on an edit of a gone or foreign message they do not', () => {
    const forbidden = new DiscordAPIError({ message: 'Missing Access', code: 50001 }, 50001, 403, 'POST', '/x', request);
    expect(classifyError(forbidden, 'send')).toMatchObject({ reason: 'forbidden', status: 403, code: 50001, channelLevel: true, retryable: false });
    const gone = new DiscordAPIError({ message: 'Unknown Message', code: 10008 }, 10008, 404, 'PATCH', '/x', request);
    expect(classifyError(gone, 'edit')).toMatchObject({ reason: 'not_found', channelLevel: false });
    expect(classifyError(gone, 'send')).toMatchObject({ reason: 'not_found', channelLevel: true });
    const notAuthor = new DiscordAPIError({ message: 'Cannot edit a message authored by another user', code: 50005 }, 50005, 403, 'PATCH', '/x', request);
    expect(classifyError(notAuthor, 'edit')).toMatchObject({ reason: 'forbidden', channelLevel: false });
  });

  it('400 is a rejected payload; 5xx (HTTPError) and network errors are retryable', () => {
    const bad = new DiscordAPIError({ message: 'Invalid Form Body', code: 50035 }, 50035, 400, 'POST', '/x', request);
    expect(classifyError(bad, 'send')).toMatchObject({ reason: 'rejected', status: 400, retryable: false, channelLevel: false });
    expect(classifyError(new HTTPError(502, 'Bad Gateway', 'POST', '/x', request), 'send')).toMatchObject({ reason: 'server_error', status: 502, retryable: true });
    expect(classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'send')).toMatchObject({ reason: 'network', status: 'network', retryable: true });
  });

  it('tells the operator what to fix for an unusable channel', () => {
    const forbidden = classifyError(new DiscordAPIError({ message: 'Missing Access', code: 50001 }, 50001, 403, 'POST', '/x', request), 'send');
    expect(channelProblem('123', forbidden)).toMatch(/channel 123.*View Channel, Send Messages and Embed Links/);
    const missing = classifyError(new DiscordAPIError({ message: 'Unknown Channel', code: 10003 }, 10003, 404, 'POST', '/x', request), 'send');
    expect(channelProblem('123', missing)).toMatch(/notification_channels/);
  });
});
