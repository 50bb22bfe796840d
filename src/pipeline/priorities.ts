/** Maps a topic to its priority: the longest configured prefix that starts the topic wins. */
export class TopicPriorities {
  // Longest prefix first, so the first match is the most specific one.
  private readonly rules: readonly (readonly [prefix: string, priority: number])[];

  constructor(
    priorities: Readonly<Record<string, number>>,
    readonly defaultPriority: number,
  ) {
    this.rules = Object.entries(priorities).sort((a, b) => b[0].length - a[0].length);
  }

  /** The priority of one topic. */
  of(topic: string): number {
    for (const [prefix, priority] of this.rules) {
      if (topic.startsWith(prefix)) return priority;
    }
    return this.defaultPriority;
  }

  /** Every distinct priority a topic can get, lowest first. */
  levels(): number[] {
    return [...new Set([this.defaultPriority, ...this.rules.map(([, p]) => p)])].sort((a, b) => a - b);
  }
}
