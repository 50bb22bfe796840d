import type { APIEmbed } from 'discord.js';
import type { Store } from '../../store/index.ts';
import { rebuiltBatch, type Batch } from './batch.ts';
import { DigestCounter } from './digest.ts';
import type { PendingItem } from './packing.ts';

const MIGRATIONS = [
  `CREATE TABLE outbox_spool (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     channel_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     label TEXT,
     received_at INTEGER NOT NULL,
     embed TEXT,
     nonce TEXT
   );
   CREATE INDEX outbox_spool_channel ON outbox_spool (channel_id, nonce);
   CREATE INDEX outbox_spool_nonce ON outbox_spool (nonce) WHERE nonce IS NOT NULL;`,
];

/** One spooled event as read back at start-up. */
export interface SpooledEvent {
  id: number;
  channelId: string;
  topic: string;
  label?: string;
  receivedAt: number;
  /** Its full embed; undefined when it is only counted in a digest. */
  embed?: APIEmbed;
  /** The message it was packed into (tried, maybe landed) before the process stopped. */
  nonce?: string;
  /** Its stored embed could not be read back: it is only counted in a digest. */
  unreadable?: boolean;
}

interface Row {
  id: number;
  channel_id: string;
  topic: string;
  label: string | null;
  received_at: number;
  embed: string | null;
  nonce: string | null;
}

/**
 * The Outbox's events in the store until Discord has the message that carries them: a row per
 * event (with its embed while it may still be sent in full), marked with the nonce of the message
 * it was packed into, deleted when that message is accepted. Writes go into the store's batch,
 * so a burst is one commit.
 */
export class Spool {
  constructor(private readonly store: Store) {
    store.migrate('outbox', MIGRATIONS);
  }

  /** Whether the spool outlives the process (the store is a file). */
  get durable(): boolean {
    return this.store.durable;
  }

  /** Stores an accepted event; returns its row id. */
  add(channelId: string, item: PendingItem, folded: boolean): number {
    const embed = folded ? null : JSON.stringify(item.embed);
    const result = this.store.write('INSERT INTO outbox_spool (channel_id, topic, label, received_at, embed) VALUES (?, ?, ?, ?, ?)', [
      channelId,
      item.topic,
      item.label ?? null,
      item.receivedAt,
      embed,
    ]);
    return Number(result.lastInsertRowid);
  }

  /** The event is now only counted in a digest: its embed is no longer needed. */
  fold(id: number): void {
    this.store.write('UPDATE outbox_spool SET embed = NULL WHERE id = ?', [id]);
  }

  /**
   * Marks the events of a batch with its nonce, before it is sent. A digest batch takes every
   * unmarked event of the channel, and those it counts in its digest drop their embeds, so the
   * batch read back after a crash is the same message.
   */
  claim(channelId: string, batch: Batch): void {
    this.markItems(batch);
    if (batch.digest) this.store.write('UPDATE outbox_spool SET nonce = ?, embed = NULL WHERE channel_id = ? AND nonce IS NULL', [batch.nonce, channelId]);
  }

  /** Moves the events of a batch split into singles onto the singles' nonces (the digest's single takes the rest). */
  reclaim(from: Batch, singles: readonly Batch[]): void {
    for (const single of singles) this.markItems(single);
    const digest = singles.find((single) => single.digest);
    if (digest) this.store.write('UPDATE outbox_spool SET nonce = ? WHERE nonce = ?', [digest.nonce, from.nonce]);
  }

  /** Discord has the message with this nonce: its events are done. */
  delivered(nonce: string): void {
    this.store.write('DELETE FROM outbox_spool WHERE nonce = ?', [nonce]);
  }

  /** Removes events (expired or given up) by row id. */
  remove(items: readonly PendingItem[]): void {
    for (const item of items) if (item.spoolId !== undefined) this.store.write('DELETE FROM outbox_spool WHERE id = ?', [item.spoolId]);
  }

  /** Removes a channel's unmarked folded events (they expired together). */
  removeFolded(channelId: string): void {
    this.store.write('DELETE FROM outbox_spool WHERE channel_id = ? AND nonce IS NULL AND embed IS NULL', [channelId]);
  }

  /** Every spooled event, oldest first (at start-up, before anything new is added). */
  load(): SpooledEvent[] {
    return this.store.all<Row>('SELECT id, channel_id, topic, label, received_at, embed, nonce FROM outbox_spool ORDER BY id').map((row) => {
      const event: SpooledEvent = { id: row.id, channelId: row.channel_id, topic: row.topic, receivedAt: row.received_at };
      if (row.label !== null) event.label = row.label;
      if (row.nonce !== null) event.nonce = row.nonce;
      if (row.embed !== null) {
        try {
          event.embed = JSON.parse(row.embed) as APIEmbed;
        } catch {
          // A damaged row must not cost the others: this event is still counted, in a digest.
          event.unreadable = true;
        }
      }
      return event;
    });
  }

  private markItems(batch: Batch): void {
    for (const item of batch.items) if (item.spoolId !== undefined) this.store.write('UPDATE outbox_spool SET nonce = ? WHERE id = ?', [batch.nonce, item.spoolId]);
  }

  /** Commits what is written so far. */
  flush(): void {
    this.store.flush();
  }
}

/** A spooled event not yet in any message: in full, or `folded` (only counted in a digest). */
export type WaitingEvent = PendingItem & { folded: boolean };

/**
 * What a previous run left, as a lane takes it back: the messages it had started (rebuilt with
 * their nonce, to be sent first) and the events still waiting, oldest first.
 */
export function fromSpool(events: readonly SpooledEvent[]): { started: Batch[]; waiting: WaitingEvent[] } {
  const started = new Map<string, { items: PendingItem[]; digest?: DigestCounter }>();
  const waiting: WaitingEvent[] = [];
  for (const event of events) {
    const item: PendingItem = { embed: event.embed ?? {}, topic: event.topic, receivedAt: event.receivedAt, spoolId: event.id };
    if (event.label !== undefined) item.label = event.label;
    if (event.nonce === undefined) {
      waiting.push({ ...item, folded: event.embed === undefined });
      continue;
    }
    let message = started.get(event.nonce);
    if (!message) started.set(event.nonce, (message = { items: [] }));
    if (event.embed) message.items.push(item);
    else (message.digest ??= new DigestCounter()).add(event.topic, event.label, event.receivedAt);
  }
  return { started: [...started].map(([nonce, message]) => rebuiltBatch(message.items, message.digest, nonce)), waiting };
}
