/** What the subscriber knows about one publisher, from the envelopes it has seen. */
export interface PublisherState {
  src: string;
  lastSeq: number;
  lastTs?: string;
  /** Milliseconds since the epoch when its last message arrived. */
  lastReceivedAt: number;
  received: number;
  /** Events the network lost, counted from gaps and from the missed start of a restarted run. */
  lost: number;
  gaps: number;
  restarts: number;
}

/** How one sequence number relates to what came before from the same publisher. */
export type SeqObservation =
  | { kind: 'first' }
  | { kind: 'next' }
  | { kind: 'gap'; expected: number; got: number; lost: number }
  | { kind: 'restart'; previousSeq: number; seq: number; lost: number };

/** Options for {@link SequenceTracker}. */
export interface SequenceTrackerOptions {
  /** Publishers tracked at once; the least recently seen is forgotten beyond this. */
  maxPublishers?: number;
}

const FIRST: SeqObservation = { kind: 'first' };
const NEXT: SeqObservation = { kind: 'next' };

/**
 * Follows each publisher's envelope sequence and tells gaps (lost events) from restarts
 * (the sequence starting again), keeping a bounded number of publishers.
 */
export class SequenceTracker {
  readonly maxPublishers: number;
  // Map order is recency order: the first entry is the least recently seen publisher.
  private readonly states = new Map<string, PublisherState>();
  private mostRecent: PublisherState | undefined;
  private totalLost = 0;
  private totalGaps = 0;
  private totalRestarts = 0;
  private totalEvicted = 0;

  constructor(options: SequenceTrackerOptions = {}) {
    const max = options.maxPublishers ?? 1000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxPublishers must be a positive integer, got ${max}`);
    this.maxPublishers = max;
  }

  /** Records one message's sequence number from `src` and classifies it. */
  observe(src: string, seq: number, ts?: string, receivedAt: number = Date.now()): SeqObservation {
    let state = this.mostRecent;
    if (state === undefined || state.src !== src) {
      state = this.states.get(src);
      if (state === undefined) return this.firstSight(src, seq, ts, receivedAt);
      // Re-insert to move it to the most recent end; skipped when the same publisher repeats.
      this.states.delete(src);
      this.states.set(src, state);
      this.mostRecent = state;
    }
    const last = state.lastSeq;
    state.lastSeq = seq;
    state.lastTs = ts;
    state.lastReceivedAt = receivedAt;
    state.received += 1;
    if (seq === last + 1) return NEXT;
    if (seq > last + 1) {
      const lost = seq - last - 1;
      state.lost += lost;
      state.gaps += 1;
      this.totalLost += lost;
      this.totalGaps += 1;
      return { kind: 'gap', expected: last + 1, got: seq, lost };
    }
    // A sequence that goes back means a new run; whatever came before `seq` in it was missed.
    const lost = seq - 1;
    state.lost += lost;
    state.restarts += 1;
    this.totalLost += lost;
    this.totalRestarts += 1;
    return { kind: 'restart', previousSeq: last, seq, lost };
  }

  private firstSight(src: string, seq: number, ts: string | undefined, receivedAt: number): SeqObservation {
    if (this.states.size >= this.maxPublishers) {
      const oldest = this.states.keys().next();
      if (!oldest.done) {
        this.states.delete(oldest.value);
        this.totalEvicted += 1;
      }
    }
    const state: PublisherState = { src, lastSeq: seq, lastTs: ts, lastReceivedAt: receivedAt, received: 1, lost: 0, gaps: 0, restarts: 0 };
    this.states.set(src, state);
    this.mostRecent = state;
    return FIRST;
  }

  /** The state of one publisher, if it is tracked. */
  get(src: string): PublisherState | undefined {
    const state = this.states.get(src);
    return state === undefined ? undefined : { ...state };
  }

  /** Copies of every tracked publisher's state, most recently seen first. */
  publishers(): PublisherState[] {
    return [...this.states.values()].reverse().map((s) => ({ ...s }));
  }

  /** Number of publishers tracked now. */
  get size(): number {
    return this.states.size;
  }

  /** Totals over every publisher ever seen, evicted ones included. */
  totals(): { lost: number; gaps: number; restarts: number; evicted: number } {
    return { lost: this.totalLost, gaps: this.totalGaps, restarts: this.totalRestarts, evicted: this.totalEvicted };
  }
}
