import type { Trigger } from './trigger.ts';

/** Run times walked one by one at most, per wake; croner takes ~36 µs for each, so this is ~0.4 s at worst. */
export const MAX_WALK = 10_000;

/** How far {@link walkDue} got. */
export interface DueWalk {
  /** Run times visited. */
  visited: number;
  /** True when the walk hit {@link MAX_WALK} and jumped over run times it did not visit (so counts are at least). */
  jumped: boolean;
}

/**
 * Visits a trigger's run times from `from` (due itself) up to and including `now`, in order. Past
 * {@link MAX_WALK} of them it jumps to the first run time after `jumpAfter` (the oldest one still
 * worth visiting, e.g. the start of the misfire grace window), so a long downtime costs a bounded walk (at
 * most 2 × MAX_WALK visits in all).
 */
export function walkDue(trigger: Trigger, from: number, now: number, jumpAfter: number, visit: (t: number) => void): DueWalk {
  let visited = 0;
  let jumped = false;
  let t: number | null = from;
  while (t !== null && t <= now) {
    if (visited >= 2 * MAX_WALK) return { visited, jumped: true };
    if (visited === MAX_WALK && !jumped && t <= jumpAfter) {
      jumped = true;
      t = trigger.next(jumpAfter);
      continue;
    }
    visit(t);
    visited++;
    t = trigger.next(t);
  }
  return { visited, jumped };
}
