import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/sandbox/rate-limits.ts';

describe('sandbox RateLimiter (sliding log, fake clock)', () => {
  const rule = { name: 'POST /channels/:channel_id/messages', limit: 5, windowMs: 5000 };

  it('allows 5 per window per channel, then answers 429 with the wait until the oldest leaves the window', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(50, () => now);
    for (let i = 0; i < 5; i++) {
      const d = limiter.take(rule, 'A');
      expect(d.allowed).toBe(true);
      expect(d.headers['X-RateLimit-Remaining']).toBe(String(4 - i));
      now += 100;
    }
    const refused = limiter.take(rule, 'A');
    expect(refused.allowed).toBe(false);
    expect(refused.body).toEqual({ message: 'You are being rate limited.', retry_after: 4.5, global: false });
    expect(refused.headers).toMatchObject({ 'Retry-After': '4.500', 'X-RateLimit-Scope': 'user', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Limit': '5' });
    expect(limiter.take(rule, 'B').allowed).toBe(true);
    now += 4500;
    expect(limiter.take(rule, 'A').allowed).toBe(true);
    expect(limiter.take(rule, 'A').allowed).toBe(false);
  });

  it('reports Reset as epoch seconds and Reset-After as seconds, and a stable 32-hex bucket per route', () => {
    const now = 1_700_000_000_000;
    const limiter = new RateLimiter(50, () => now);
    const d = limiter.take(rule, 'A');
    expect(d.headers['X-RateLimit-Reset-After']).toBe('5.000');
    expect(d.headers['X-RateLimit-Reset']).toBe('1700000005.000');
    expect(d.headers['X-RateLimit-Bucket']).toMatch(/^[0-9a-f]{32}$/);
    expect(limiter.take(rule, 'B').headers['X-RateLimit-Bucket']).toBe(d.headers['X-RateLimit-Bucket']);
  });

  it('the global limit refuses the 51st request in a second with global: true', () => {
    let now = 0;
    const limiter = new RateLimiter(50, () => now);
    for (let i = 0; i < 50; i++) expect(limiter.takeGlobal().allowed).toBe(true);
    const refused = limiter.takeGlobal();
    expect(refused.body?.global).toBe(true);
    expect(refused.headers['X-RateLimit-Global']).toBe('true');
    now = 1000;
    expect(limiter.takeGlobal().allowed).toBe(true);
  });
});
