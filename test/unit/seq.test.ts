import { describe, expect, it } from 'vitest';
import { SequenceTracker } from '../../src/transport/seq.ts';

function feed(tracker: SequenceTracker, src: string, seqs: number[]) {
  return seqs.map((seq, i) => tracker.observe(src, seq, `2024-05-01T12:00:0${i % 10}Z`, 1000 + i));
}

describe('SequenceTracker', () => {
  it('treats the first sight of a publisher at seq 50 as neither gap nor restart: 49 were sent before we connected, not lost', () => {
    const tracker = new SequenceTracker();
    expect(tracker.observe('a', 50)).toEqual({ kind: 'first', beforeConnect: 49 });
    expect(tracker.get('a')).toMatchObject({ lastSeq: 50, received: 1, lost: 0, beforeConnect: 49, gaps: 0, restarts: 0 });
    expect(tracker.totals()).toMatchObject({ lost: 0, beforeConnect: 49 });
    expect(tracker.observe('b', 1)).toEqual({ kind: 'first', beforeConnect: 0 });
  });

  it('counts 1,2,3 as in order with nothing lost', () => {
    const tracker = new SequenceTracker();
    expect(feed(tracker, 'a', [1, 2, 3]).map((o) => o.kind)).toEqual(['first', 'next', 'next']);
    expect(tracker.totals()).toEqual({ lost: 0, beforeConnect: 0, gaps: 0, restarts: 0, evicted: 0 });
  });

  it('reports 1,2,5 as a gap of 2 and 5,9 as another of 3', () => {
    const tracker = new SequenceTracker();
    const seen = feed(tracker, 'a', [1, 2, 5, 6, 9]);
    expect(seen[2]).toEqual({ kind: 'gap', expected: 3, got: 5, lost: 2 });
    expect(seen[4]).toEqual({ kind: 'gap', expected: 7, got: 9, lost: 2 });
    expect(tracker.get('a')).toMatchObject({ lastSeq: 9, received: 5, lost: 4, gaps: 2, restarts: 0 });
    expect(tracker.totals().lost).toBe(4);
  });

  it('reports 1..10 then 1 as a restart with nothing lost, not a gap', () => {
    const tracker = new SequenceTracker();
    const seen = feed(tracker, 'a', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2]);
    expect(seen[10]).toEqual({ kind: 'restart', previousSeq: 10, seq: 1, lost: 0, beforeConnect: 0 });
    expect(seen[11]).toEqual({ kind: 'next' });
    expect(tracker.get('a')).toMatchObject({ restarts: 1, gaps: 0, lost: 0 });
  });

  it('reports 1..10 then 3 as a restart that lost the new run\'s first 2 events', () => {
    const tracker = new SequenceTracker();
    const seen = feed(tracker, 'a', [8, 9, 10, 3]);
    expect(seen[3]).toEqual({ kind: 'restart', previousSeq: 10, seq: 3, lost: 2, beforeConnect: 0 });
    expect(tracker.totals()).toMatchObject({ lost: 2, restarts: 1, gaps: 0 });
  });

  it('treats a repeated seq (4 then 4) as a restart, since seq never repeats within a run', () => {
    const tracker = new SequenceTracker();
    expect(feed(tracker, 'a', [4, 4])[1]).toEqual({ kind: 'restart', previousSeq: 4, seq: 4, lost: 3, beforeConnect: 0 });
  });

  it('keeps publishers apart: a:1,2 interleaved with b:7,8 has no gaps', () => {
    const tracker = new SequenceTracker();
    const kinds = [tracker.observe('a', 1), tracker.observe('b', 7), tracker.observe('a', 2), tracker.observe('b', 8)].map((o) => o.kind);
    expect(kinds).toEqual(['first', 'first', 'next', 'next']);
  });

  it('records lastTs and lastReceivedAt per publisher', () => {
    const tracker = new SequenceTracker();
    tracker.observe('a', 1, '2024-05-01T12:00:00Z', 111);
    tracker.observe('a', 2, '2024-05-01T12:00:05Z', 222);
    expect(tracker.get('a')).toEqual({ src: 'a', sequenced: true, lastSeq: 2, lastTs: '2024-05-01T12:00:05Z', lastReceivedAt: 222, received: 2, lost: 0, beforeConnect: 0, gaps: 0, restarts: 0 });
  });

  it('tracks at most maxPublishers (3) and forgets the least recently seen', () => {
    const tracker = new SequenceTracker({ maxPublishers: 3 });
    tracker.observe('a', 1);
    tracker.observe('b', 1);
    tracker.observe('c', 1);
    tracker.observe('a', 2); // a is now more recent than b
    tracker.observe('d', 1); // evicts b
    expect(tracker.size).toBe(3);
    expect(tracker.publishers().map((p) => p.src)).toEqual(['d', 'a', 'c']);
    expect(tracker.get('b')).toBeUndefined();
    expect(tracker.observe('b', 2)).toEqual({ kind: 'first', beforeConnect: 1 }); // evicts c
    expect(tracker.get('c')).toBeUndefined();
    expect(tracker.totals().evicted).toBe(2);
  });

  it('stays at 1000 publishers when 5,000 distinct ones appear, keeping lost totals', () => {
    const tracker = new SequenceTracker();
    for (let i = 0; i < 5000; i++) {
      tracker.observe(`p${i}`, 1);
      tracker.observe(`p${i}`, 3);
    }
    expect(tracker.size).toBe(1000);
    expect(tracker.totals()).toMatchObject({ lost: 5000, gaps: 5000, evicted: 4000 });
  });

  it('hands out copies, so callers cannot change its state', () => {
    const tracker = new SequenceTracker();
    tracker.observe('a', 1);
    const [state] = tracker.publishers();
    if (state) state.lastSeq = 99;
    expect(tracker.observe('a', 2)).toEqual({ kind: 'next' });
  });

  it('with run ids, a new run is a restart even when seq does not go back (run r1 at 1..5, then r2 at 7): nothing lost, 6 sent before we connected', () => {
    const tracker = new SequenceTracker();
    for (let seq = 1; seq <= 5; seq++) tracker.observe('a', seq, undefined, 0, 'r1');
    expect(tracker.observe('a', 7, undefined, 0, 'r2')).toEqual({ kind: 'restart', previousSeq: 5, seq: 7, lost: 0, beforeConnect: 6, run: 'r2', previousRun: 'r1' });
    expect(tracker.observe('a', 8, undefined, 0, 'r2')).toEqual({ kind: 'next' });
    expect(tracker.get('a')).toMatchObject({ run: 'r2', lastSeq: 8, lost: 0, gaps: 0, restarts: 1, beforeConnect: 6 });
    // Without the run id the same numbers read as a gap of one.
    const blind = new SequenceTracker();
    expect(feed(blind, 'a', [1, 2, 3, 4, 5, 7])[5]).toEqual({ kind: 'gap', expected: 6, got: 7, lost: 1 });
  });

  it('two processes sharing a src (runs x and y interleaved, 1..50 each) show no gap and no loss, one restart (the second run appearing)', () => {
    const tracker = new SequenceTracker();
    const kinds = new Set<string>();
    for (let seq = 1; seq <= 50; seq++) {
      kinds.add(tracker.observe('shared', seq, undefined, 0, 'x').kind);
      kinds.add(tracker.observe('shared', seq, undefined, 0, 'y').kind);
    }
    expect([...kinds].sort()).toEqual(['first', 'next', 'restart']);
    expect(tracker.totals()).toMatchObject({ lost: 0, gaps: 0, restarts: 1, beforeConnect: 0 });
    expect(tracker.get('shared')).toMatchObject({ received: 100, lost: 0 });
  });

  it('within one run, a gap is still a gap (r: 1, 2, 6 → 3 lost), and a repeated seq (r: 6 again) is a duplicate that counts nothing', () => {
    const tracker = new SequenceTracker();
    const seen = [1, 2, 6, 6].map((seq) => tracker.observe('a', seq, undefined, 0, 'r'));
    expect(seen[2]).toEqual({ kind: 'gap', expected: 3, got: 6, lost: 3 });
    expect(seen[3]).toEqual({ kind: 'duplicate', seq: 6, lastSeq: 6 });
    expect(tracker.totals()).toMatchObject({ lost: 3, gaps: 1, restarts: 0 });
  });

  it('remembers at most 8 runs per publisher: 20 runs taking turns stay bounded and a forgotten run counts as new again', () => {
    const tracker = new SequenceTracker();
    for (let run = 0; run < 20; run++) tracker.observe('a', 1, undefined, 0, `r${run}`);
    expect(tracker.totals().restarts).toBe(19);
    // r19 is current, r11..r18 remembered: r18 continues, r0 (forgotten) starts anew.
    expect(tracker.observe('a', 2, undefined, 0, 'r18').kind).toBe('next');
    expect(tracker.observe('a', 2, undefined, 0, 'r0').kind).toBe('restart');
  });

  it('rejects a bound of 0', () => {
    expect(() => new SequenceTracker({ maxPublishers: 0 })).toThrow(RangeError);
  });
});

describe('SequenceTracker.heard: publishers without sequence numbers (ScheduleZero broker)', () => {
  it('is known, with when it was last heard from and how many it sent, but marked unsequenced, lost 0 not claimed as counted', () => {
    const tracker = new SequenceTracker();
    tracker.heard('scheduler-1', 100);
    tracker.heard('scheduler-1', 200);
    expect(tracker.get('scheduler-1')).toEqual({ src: 'scheduler-1', sequenced: false, lastSeq: 0, lastReceivedAt: 200, received: 2, lost: 0, beforeConnect: 0, gaps: 0, restarts: 0 });
    expect(tracker.totals()).toMatchObject({ lost: 0, gaps: 0, restarts: 0 });
  });

  it('a publisher that starts sending sequence numbers is followed from there, keeping its count', () => {
    const tracker = new SequenceTracker();
    tracker.heard('a', 1);
    expect(tracker.observe('a', 5, undefined, 2)).toEqual({ kind: 'first', beforeConnect: 4 });
    expect(tracker.observe('a', 6, undefined, 3)).toEqual({ kind: 'next' });
    expect(tracker.get('a')).toMatchObject({ sequenced: true, lastSeq: 6, received: 3 });
  });

  it('counts against maxPublishers like any other publisher (3 unsequenced, then a 4th evicts the oldest)', () => {
    const tracker = new SequenceTracker({ maxPublishers: 3 });
    for (const src of ['a', 'b', 'c', 'd']) tracker.heard(src, 1);
    expect(tracker.publishers().map((p) => p.src)).toEqual(['d', 'c', 'b']);
    expect(tracker.totals().evicted).toBe(1);
  });
});
