import { describe, expect, it } from 'vitest';
import { MessageLog, type StoredMessage } from '../../src/sandbox/message-log.ts';
import { SnowflakeGenerator } from '../../src/sandbox/snowflake.ts';
import { snowflakeTime } from '../../src/shared/snowflake.ts';

describe('sandbox snowflakes and message log', () => {
  it('IDs are 17-19 digit snowflakes carrying their creation time, strictly increasing', () => {
    const ids = new SnowflakeGenerator(() => 1_700_000_000_123);
    const a = ids.next();
    const b = ids.next();
    expect(a).toMatch(/^\d{17,19}$/);
    expect(BigInt(b)).toBeGreaterThan(BigInt(a));
    expect(snowflakeTime(a)).toBe(1_700_000_000_123);
  });

  it('keeps at most its capacity, and pages history newest-first with before, after and around', () => {
    const ids = new SnowflakeGenerator();
    const log = new MessageLog(5);
    const made: string[] = [];
    for (let i = 0; i < 8; i++) {
      const id = ids.next();
      made.push(id);
      log.add({ message: { id, content: String(i) }, pinged: { users: [], roles: [], everyone: false, here: false }, ephemeral: i === 6, receivedAt: 0 } as unknown as StoredMessage);
    }
    expect(log.size).toBe(5);
    expect(log.get(made[0]!)).toBeUndefined();
    const contents = (q: Parameters<MessageLog['history']>[0]): string[] => log.history(q).map((m) => m.message.content);
    // The ephemeral message (6) never shows in history.
    expect(contents({ limit: 50 })).toEqual(['7', '5', '4', '3']);
    expect(contents({ limit: 2, before: made[5]! })).toEqual(['4', '3']);
    expect(contents({ limit: 2, after: made[3]! })).toEqual(['5', '4']);
    expect(contents({ limit: 3, around: made[4]! })).toEqual(['5', '4', '3']);
  });
});
