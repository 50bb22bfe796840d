import { LRUCache } from 'lru-cache';

/** What the subscriber knows about one publisher, from the envelopes it has seen. */
export interface PublisherState {
  src: string;
  /** False for a publisher that sends no sequence numbers (ScheduleZero's broker): its losses cannot be known. */
  sequenced: boolean;
  /** The run id of its last message (one per publisher start), when its envelopes carry one. */
  run?: string;
  /** The sequence number of its last message, in that message's run; 0 while `sequenced` is false. */
  lastSeq: number;
  lastTs?: string;
  /** Milliseconds since the epoch when its last message arrived. */
  lastReceivedAt: number;
  received: number;
  /** Events the network lost: gaps, and (for envelopes without a run id) the missed start of a restarted run. */
  lost: number;
  /** Events a run sent before we connected to it: seq N first seen means N−1 of them. Not counted as lost. */
  beforeConnect: number;
  gaps: number;
  restarts: number;
}

/** How one sequence number relates to what came before from the same publisher. */
export type SeqObservation =
  | { kind: 'first'; beforeConnect: number }
  | { kind: 'next' }
  | { kind: 'gap'; expected: number; got: number; lost: number }
  /** A new run: with run ids its first `seq − 1` events came before we connected; without, they count as lost. */
  | { kind: 'restart'; previousSeq: number; seq: number; lost: number; beforeConnect: number; run?: string; previousRun?: string }
  /** A seq not after the last one of the same run id: a duplicate or reordered message; nothing counted. */
  | { kind: 'duplicate'; seq: number; lastSeq: number };

/** Options for {@link SequenceTracker}. */
export interface SequenceTrackerOptions {
  /** Publishers tracked at once; the least recently seen is forgotten beyond this. */
  maxPublishers?: number;
}

/** Runs remembered per publisher: enough for a few processes sharing a `src`, bounded. */
const MAX_RUNS_PER_PUBLISHER = 8;
/** Envelopes without a run id are followed as one run of their own. */
const NO_RUN = '';

const NEXT: SeqObservation = { kind: 'next' };

/** A publisher's state plus the last seq of each of its other recent runs (oldest first). */
interface Tracked extends PublisherState {
  runs: LRUCache<string, number>;
}

// Keeps the last seq of the run the publisher is switching away from (the least recent run is forgotten first).
function remember(state: Tracked): void {
  state.runs.set(state.run ?? NO_RUN, state.lastSeq);
}

function newRuns(): LRUCache<string, number> {
  return new LRUCache({ max: MAX_RUNS_PER_PUBLISHER });
}

function snapshot(tracked: Tracked): PublisherState {
  const { runs: _runs, ...state } = tracked;
  return state;
}

/**
 * Follows each publisher's envelope sequence and tells gaps (lost events) from restarts (the
 * sequence starting again), keeping a bounded number of publishers. An envelope's `run` id (one
 * per publisher start) makes a restart exact: each run is followed on its own, so a new run is a
 * restart even when it does not go back, and two processes sharing a `src` are not taken for
 * gaps and restarts. Without a run id, a seq that goes back is taken for a restart. Publishers
 * without sequence numbers are followed too ({@link SequenceTracker.heard}), marked `sequenced: false`.
 */
export class SequenceTracker {
  readonly maxPublishers: number;
  // The least recently seen publisher is forgotten first (and counted as evicted).
  private readonly states: LRUCache<string, Tracked>;
  private mostRecent: Tracked | undefined;
  private totalLost = 0;
  private totalBeforeConnect = 0;
  private totalGaps = 0;
  private totalRestarts = 0;
  private totalEvicted = 0;

  constructor(options: SequenceTrackerOptions = {}) {
    const max = options.maxPublishers ?? 1000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxPublishers must be a positive integer, got ${max}`);
    this.maxPublishers = max;
    this.states = new LRUCache({ max, dispose: (_state, _src, reason) => reason === 'evict' && this.totalEvicted++ });
  }

  /** Records one message's sequence number (and run id, when its envelope has one) from `src` and classifies it. */
  observe(src: string, seq: number, ts?: string, receivedAt: number = Date.now(), run?: string): SeqObservation {
    let state = this.mostRecent;
    if (state === undefined || state.src !== src) {
      state = this.states.get(src);
      if (state === undefined) return this.firstSight(src, seq, ts, receivedAt, run);
      // The lookup made it the most recent; skipped when the same publisher repeats.
      this.mostRecent = state;
    }
    if (!state.sequenced) {
      // It sent messages without sequence numbers before: counting starts here.
      this.states.delete(src);
      const seen = this.firstSight(src, seq, ts, receivedAt, run);
      (this.mostRecent as Tracked).received += state.received;
      return seen;
    }
    const key = run ?? NO_RUN;
    let last: number | undefined = state.lastSeq;
    if (state.run !== run) {
      // Another run than the last message's: remember where that one was, look this one up.
      remember(state);
      last = state.runs.get(key);
    }
    const previousSeq = state.lastSeq;
    const previousRun = state.run;
    state.lastTs = ts;
    state.lastReceivedAt = receivedAt;
    state.received += 1;
    if (last === undefined) return this.newRun(state, seq, run, previousSeq, previousRun);
    if (seq <= last && run !== undefined) return { kind: 'duplicate', seq, lastSeq: last };
    state.lastSeq = seq;
    state.run = run;
    if (seq === last + 1) return NEXT;
    if (seq > last + 1) {
      const lost = seq - last - 1;
      state.lost += lost;
      state.gaps += 1;
      this.totalLost += lost;
      this.totalGaps += 1;
      return { kind: 'gap', expected: last + 1, got: seq, lost };
    }
    // Without a run id, a sequence that goes back means a new run; what came before `seq` in it was missed.
    const lost = seq - 1;
    state.lost += lost;
    state.restarts += 1;
    this.totalLost += lost;
    this.totalRestarts += 1;
    return { kind: 'restart', previousSeq, seq, lost, beforeConnect: 0 };
  }

  // A run id not seen from this publisher before: it started again; its first seq − 1 events
  // were sent before we connected to it.
  private newRun(state: Tracked, seq: number, run: string | undefined, previousSeq: number, previousRun: string | undefined): SeqObservation {
    state.lastSeq = seq;
    state.run = run;
    const beforeConnect = seq - 1;
    state.beforeConnect += beforeConnect;
    state.restarts += 1;
    this.totalBeforeConnect += beforeConnect;
    this.totalRestarts += 1;
    const seen: SeqObservation = { kind: 'restart', previousSeq, seq, lost: 0, beforeConnect };
    if (run !== undefined) seen.run = run;
    if (previousRun !== undefined) seen.previousRun = previousRun;
    return seen;
  }

  /**
   * Records one message from `src` that has no sequence number (ScheduleZero's broker sends none):
   * the publisher is known, and when it was last heard from, but not what it lost.
   */
  heard(src: string, receivedAt: number = Date.now()): void {
    let state = this.mostRecent;
    if (state === undefined || state.src !== src) {
      state = this.states.get(src);
      if (state === undefined) {
        state = { src, sequenced: false, lastSeq: 0, lastReceivedAt: receivedAt, received: 0, lost: 0, beforeConnect: 0, gaps: 0, restarts: 0, runs: newRuns() };
        this.states.set(src, state);
      }
      this.mostRecent = state;
    }
    state.lastReceivedAt = receivedAt;
    state.received += 1;
  }

  private firstSight(src: string, seq: number, ts: string | undefined, receivedAt: number, run: string | undefined): SeqObservation {
    const beforeConnect = seq - 1;
    const state: Tracked = { src, sequenced: true, lastSeq: seq, lastTs: ts, lastReceivedAt: receivedAt, received: 1, lost: 0, beforeConnect, gaps: 0, restarts: 0, runs: newRuns() };
    if (run !== undefined) state.run = run;
    this.totalBeforeConnect += beforeConnect;
    this.states.set(src, state);
    this.mostRecent = state;
    return { kind: 'first', beforeConnect };
  }

  /** The last seq seen from `src` in run `run` (undefined: none, or not tracked). */
  lastSeq(src: string, run?: string): number | undefined {
    const state = this.states.peek(src);
    if (state === undefined) return undefined;
    return state.run === run ? state.lastSeq : state.runs.get(run ?? NO_RUN);
  }

  /** The state of one publisher, if it is tracked. */
  get(src: string): PublisherState | undefined {
    const state = this.states.peek(src);
    return state === undefined ? undefined : snapshot(state);
  }

  /** Copies of every tracked publisher's state, most recently seen first. */
  publishers(): PublisherState[] {
    return [...this.states.values()].map(snapshot);
  }

  /** Number of publishers tracked now. */
  get size(): number {
    return this.states.size;
  }

  /** Totals over every publisher ever seen, evicted ones included. */
  totals(): { lost: number; beforeConnect: number; gaps: number; restarts: number; evicted: number } {
    return { lost: this.totalLost, beforeConnect: this.totalBeforeConnect, gaps: this.totalGaps, restarts: this.totalRestarts, evicted: this.totalEvicted };
  }
}
