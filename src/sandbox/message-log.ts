import type { APIMessage } from 'discord.js';
import type { MentionRecord } from './inspection.ts';

/** A message as the sandbox keeps it: the API object plus what only the sandbox knows. */
export interface StoredMessage {
  message: APIMessage;
  guildId?: string;
  /** Who the message would have pinged when it was sent. */
  pinged: MentionRecord;
  /** Ephemeral interaction replies: shown to the invoker only, never in channel history. */
  ephemeral: boolean;
  /** The slash command invocation this message answers, if any. */
  interaction?: { id: string; command: string };
  /** Wall-clock arrival time in ms (the message ID encodes it too). */
  receivedAt: number;
}

/** History query parameters, as GET /channels/{id}/messages takes them. */
export interface HistoryQuery {
  limit: number;
  before?: string;
  after?: string;
  around?: string;
}

const byId = (a: string, b: string): number => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

/** One channel's messages, oldest first, keeping at most `capacity` (the oldest go first). */
export class MessageLog {
  private readonly items: StoredMessage[] = [];
  private readonly index = new Map<string, StoredMessage>();

  constructor(private readonly capacity: number) {}

  /** Adds a message in ID order (a seeded old message goes before newer ones); drops the oldest beyond capacity. */
  add(entry: StoredMessage): void {
    const last = this.items.at(-1);
    if (last === undefined || byId(last.message.id, entry.message.id) < 0) this.items.push(entry);
    else {
      const at = this.items.findIndex((m) => byId(m.message.id, entry.message.id) > 0);
      this.items.splice(at < 0 ? this.items.length : at, 0, entry);
    }
    this.index.set(entry.message.id, entry);
    while (this.items.length > this.capacity) {
      const dropped = this.items.shift();
      if (dropped) this.index.delete(dropped.message.id);
    }
  }

  get(id: string): StoredMessage | undefined {
    return this.index.get(id);
  }

  /** Removes a message; returns whether it was there. */
  remove(id: string): boolean {
    const entry = this.index.get(id);
    if (!entry) return false;
    this.index.delete(id);
    this.items.splice(this.items.indexOf(entry), 1);
    return true;
  }

  /** Every kept message, oldest first. */
  all(): StoredMessage[] {
    return [...this.items];
  }

  get size(): number {
    return this.items.length;
  }

  /** The newest message ID, or null. */
  lastId(): string | null {
    return this.items.at(-1)?.message.id ?? null;
  }

  /** Channel history as Discord returns it: newest first, ephemeral replies excluded. */
  history(query: HistoryQuery): StoredMessage[] {
    const visible = this.items.filter((m) => !m.ephemeral);
    const { limit } = query;
    if (query.around !== undefined) {
      const around = query.around;
      const older = visible.filter((m) => byId(m.message.id, around) <= 0).slice(-Math.ceil(limit / 2));
      const newer = visible.filter((m) => byId(m.message.id, around) > 0).slice(0, limit - older.length);
      return [...older, ...newer].reverse();
    }
    if (query.after !== undefined) {
      const after = query.after;
      return visible.filter((m) => byId(m.message.id, after) > 0).slice(0, limit).reverse();
    }
    const before = query.before;
    const candidates = before === undefined ? visible : visible.filter((m) => byId(m.message.id, before) < 0);
    return candidates.slice(-limit).reverse();
  }
}
