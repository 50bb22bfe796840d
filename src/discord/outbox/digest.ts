import type { DigestSummary } from '../embeds/digest.ts';

/** Topics and labels tracked by name; beyond these a digest only counts (O(1) memory). */
export const DIGEST_TOPICS = 20;
export const DIGEST_LABELS = 10;
const NAME_MAX = 100;
/** The name a stored bucket uses for the topics or labels beyond those a digest names. */
export const OTHERS = '\u0001others';

/** Which of a digest's counters an event went to: its topic and label by name, or {@link OTHERS}; label '' = none. */
export interface DigestBucket {
  topic: string;
  label: string;
}

/**
 * Counters for events that reach Discord only as a digest: every event counted by topic, the first
 * few labels (job names) named, in constant memory however many events are added.
 */
export class DigestCounter {
  count = 0;
  private readonly topics = new Map<string, number>();
  private otherTopics = 0;
  private readonly labels = new Map<string, number>();
  private otherLabels = 0;
  private firstAt: number | undefined;
  private lastAt: number | undefined;
  // Receive times are summed relative to the first one: absolute epoch ms would lose precision.
  private base: number | undefined;
  private offsetSum = 0;
  private timed = 0;

  /** Counts one event (or `n` events alike); returns the counters it went to. */
  add(topic: string, label: string | undefined, receivedAt: number, n = 1): DigestBucket {
    const bucket: DigestBucket = { topic: OTHERS, label: '' };
    if (n <= 0) return bucket;
    this.count += n;
    bucket.topic = this.countTopic(topic, n);
    if (label !== undefined && label !== '') bucket.label = this.countLabel(label, n);
    if (Number.isFinite(receivedAt)) {
      this.noteTimes(receivedAt, n);
      this.firstAt = Math.min(this.firstAt ?? Infinity, receivedAt);
      this.lastAt = Math.max(this.lastAt ?? -Infinity, receivedAt);
    }
    return bucket;
  }

  /** Counts `n` events of a stored bucket (as {@link add} returned it), received between `firstAt` and `lastAt`. */
  addBucket(bucket: DigestBucket, n: number, firstAt: number, lastAt: number): void {
    if (n <= 0) return;
    this.count += n;
    if (bucket.topic === OTHERS) this.otherTopics += n;
    else this.countTopic(bucket.topic, n);
    if (bucket.label === OTHERS) this.otherLabels += n;
    else if (bucket.label !== '') this.countLabel(bucket.label, n);
    this.noteTimes((firstAt + lastAt) / 2, n);
    this.firstAt = Math.min(this.firstAt ?? Infinity, firstAt);
    this.lastAt = Math.max(this.lastAt ?? -Infinity, lastAt);
  }

  /** Counts everything another digest counted. */
  addAll(other: DigestCounter): void {
    for (const [topic, n] of other.topics) this.countTopic(topic, n);
    this.otherTopics += other.otherTopics;
    for (const [label, n] of other.labels) this.countLabel(label, n);
    this.otherLabels += other.otherLabels;
    const mean = other.meanReceivedAt();
    if (mean !== undefined) {
      this.noteTimes(mean, other.timed);
      this.firstAt = Math.min(this.firstAt ?? Infinity, other.firstAt ?? mean);
      this.lastAt = Math.max(this.lastAt ?? -Infinity, other.lastAt ?? mean);
    }
    this.count += other.count;
  }

  /** The mean receive time of the events counted (for the event-to-post histogram), if any. */
  meanReceivedAt(): number | undefined {
    return this.base === undefined || this.timed === 0 ? undefined : this.base + this.offsetSum / this.timed;
  }

  /** How many topics and labels are held by name (bounded by {@link DIGEST_TOPICS} and {@link DIGEST_LABELS}). */
  trackedNames(): { topics: number; labels: number } {
    return { topics: this.topics.size, labels: this.labels.size };
  }

  /** What the digest embed shows. */
  summary(): DigestSummary {
    const summary: DigestSummary = {
      count: this.count,
      topics: [...this.topics].map(([topic, count]) => ({ topic, count })),
      otherTopics: this.otherTopics,
      labels: [...this.labels].map(([label, count]) => ({ label, count })),
      otherLabels: this.otherLabels,
    };
    if (this.firstAt !== undefined) summary.firstAt = this.firstAt;
    if (this.lastAt !== undefined) summary.lastAt = this.lastAt;
    return summary;
  }

  private noteTimes(at: number, n: number): void {
    this.base ??= at;
    this.offsetSum += (at - this.base) * n;
    this.timed += n;
  }

  private countTopic(topic: string, n: number): string {
    const key = topic.slice(0, NAME_MAX);
    const seen = this.topics.get(key);
    if (seen !== undefined) this.topics.set(key, seen + n);
    else if (this.topics.size < DIGEST_TOPICS) this.topics.set(key, n);
    else {
      this.otherTopics += n;
      return OTHERS;
    }
    return key;
  }

  private countLabel(label: string, n: number): string {
    const key = label.slice(0, NAME_MAX);
    const seen = this.labels.get(key);
    if (seen !== undefined) this.labels.set(key, seen + n);
    else if (this.labels.size < DIGEST_LABELS) this.labels.set(key, n);
    else {
      this.otherLabels += n;
      return OTHERS;
    }
    return key;
  }
}
