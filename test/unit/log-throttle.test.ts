import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../../src/observability/log-throttle.ts';

describe('LogThrottle', () => {
  it('logs the first hit, skips hits within 60 s, then logs again with the skipped count', () => {
    const throttle = new LogThrottle(60_000);
    expect(throttle.hit('invalid_json', 0)).toEqual({ log: true, suppressed: 0 });
    expect(throttle.hit('invalid_json', 1_000).log).toBe(false);
    expect(throttle.hit('invalid_json', 59_999).log).toBe(false);
    expect(throttle.hit('invalid_json', 60_000)).toEqual({ log: true, suppressed: 2 });
    expect(throttle.hit('invalid_json', 60_001)).toEqual({ log: false, suppressed: 1 });
  });

  it('keeps kinds apart: a first oversized is logged while invalid_json is quiet', () => {
    const throttle = new LogThrottle(60_000);
    throttle.hit('invalid_json', 0);
    expect(throttle.hit('oversized', 10).log).toBe(true);
  });

  it('remembers at most maxKeys (2) keys, forgetting the least recently hit', () => {
    const throttle = new LogThrottle(60_000, 2);
    throttle.hit('a', 0);
    throttle.hit('b', 0);
    throttle.hit('c', 0); // forgets a
    expect(throttle.hit('a', 1).log).toBe(true);
    expect(throttle.hit('c', 1).log).toBe(false);
  });
});
