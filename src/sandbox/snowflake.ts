import { SnowflakeUtil } from 'discord.js';

/**
 * Makes Discord-shaped IDs: 64-bit snowflakes with the creation time in the high bits (built by
 * discord.js's SnowflakeUtil). discord.js relies on that shape (its rate-limit routing only treats
 * 17-19 digit numbers as IDs, and it reads a message's age from its ID), so sequential small
 * numbers would not do.
 */
export class SnowflakeGenerator {
  private lastMs = 0;
  private increment = 0;
  private pastIncrement = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A new ID, unique and increasing for this generator. */
  next(): string {
    let ms = this.now();
    if (ms <= this.lastMs) {
      ms = this.lastMs;
      this.increment += 1;
      // 12 bits of increment per millisecond; borrow the next millisecond when they run out.
      if (this.increment > 0xfff) {
        ms += 1;
        this.increment = 0;
      }
    } else {
      this.increment = 0;
    }
    this.lastMs = ms;
    return SnowflakeUtil.generate({ timestamp: ms, increment: BigInt(this.increment), workerId: 1n, processId: 1n }).toString();
  }

  /** An ID created at `ms` in the past (a message seeded as days old); the worker bits keep it apart from next()'s. */
  at(ms: number): string {
    this.pastIncrement = (this.pastIncrement + 1) & 0xfff;
    return SnowflakeUtil.generate({ timestamp: Math.max(ms, SnowflakeUtil.epochNumber), increment: BigInt(this.pastIncrement), workerId: 2n, processId: 1n }).toString();
  }
}
