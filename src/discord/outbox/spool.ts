import type { APIEmbed } from 'discord.js';
import type { Store } from '../../store/index.ts';
import { rebuiltBatch, type Batch } from './batch.ts';
import { DigestCounter, type DigestBucket } from './digest.ts';
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
  // Events only counted in a digest are counted per bucket, not kept one row each: the spool stays
  // bounded (per channel, at most the topics and labels a digest names) however long an outage lasts.
  `CREATE TABLE outbox_folded (
     channel_id TEXT NOT NULL,
     nonce TEXT NOT NULL DEFAULT '',
     topic TEXT NOT NULL,
     label TEXT NOT NULL,
     count INTEGER NOT NULL,
     first_at INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     PRIMARY KEY (channel_id, nonce, topic, label)
   );
   CREATE INDEX outbox_folded_nonce ON outbox_folded (nonce);`,
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

/** Folded events of one digest bucket as read back at start-up. */
export interface SpooledFold {
  channelId: string;
  bucket: DigestBucket;
  count: number;
  firstAt: number;
  lastAt: number;
  nonce?: string;
}

interface FoldRow {
  channel_id: string;
  nonce: string;
  topic: string;
  label: string;
  count: number;
  first_at: number;
  last_at: number;
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
 * event kept in full (`outbox_spool`, with its embed), and a count per digest bucket for events
 * only counted in a digest (`outbox_folded`), each marked with the nonce of the message it was
 * packed into and deleted when that message is accepted. Writes go into the store's batch, so a
 * burst is one commit.
 */
export class Spool {
  constructor(private readonly store: Store) {
    store.migrate('outbox', MIGRATIONS);
  }

  /** Whether the spool outlives the process (the store is a file). */
  get durable(): boolean {
    return this.store.durable;
  }

  /** Stores an accepted event kept in full; returns its row id. */
  add(channelId: string, item: PendingItem): number {
    const result = this.store.write('INSERT INTO outbox_spool (channel_id, topic, label, received_at, embed) VALUES (?, ?, ?, ?, ?)', [
      channelId,
      item.topic,
      item.label ?? null,
      item.receivedAt,
      JSON.stringify(item.embed),
    ]);
    return Number(result.lastInsertRowid);
  }

  /** Counts an accepted event that is only counted in a digest, in its bucket. */
  addFolded(channelId: string, bucket: DigestBucket, receivedAt: number): void {
    this.store.write(
      `INSERT INTO outbox_folded (channel_id, nonce, topic, label, count, first_at, last_at) VALUES (?, '', ?, ?, 1, ?, ?)
       ON CONFLICT (channel_id, nonce, topic, label) DO UPDATE SET count = count + 1, first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)`,
      [channelId, bucket.topic, bucket.label, receivedAt, receivedAt],
    );
  }

  /** An event kept in full is now only counted in a digest (a failure took its place). */
  fold(channelId: string, item: PendingItem, bucket: DigestBucket): void {
    if (item.spoolId !== undefined) this.store.write('DELETE FROM outbox_spool WHERE id = ?', [item.spoolId]);
    this.addFolded(channelId, bucket, item.receivedAt);
  }

  /**
   * Marks the events of a batch with its nonce, before it is sent. A digest batch takes every
   * unmarked event of the channel, and those it counts in its digest drop their embeds, so the
   * batch read back after a crash is the same message.
   */
  claim(channelId: string, batch: Batch): void {
    this.markItems(batch);
    if (!batch.digest) return;
    this.store.write('UPDATE outbox_spool SET nonce = ?, embed = NULL WHERE channel_id = ? AND nonce IS NULL', [batch.nonce, channelId]);
    this.store.write("UPDATE outbox_folded SET nonce = ? WHERE channel_id = ? AND nonce = ''", [batch.nonce, channelId]);
  }

  /** Moves the events of a batch split into singles onto the singles' nonces (the digest's single takes the rest). */
  reclaim(from: Batch, singles: readonly Batch[]): void {
    for (const single of singles) this.markItems(single);
    const digest = singles.find((single) => single.digest);
    if (!digest) return;
    this.store.write('UPDATE outbox_spool SET nonce = ? WHERE nonce = ?', [digest.nonce, from.nonce]);
    this.store.write('UPDATE outbox_folded SET nonce = ? WHERE nonce = ?', [digest.nonce, from.nonce]);
  }

  /** Discord has the message with this nonce: its events are done. */
  delivered(nonce: string): void {
    this.store.write('DELETE FROM outbox_spool WHERE nonce = ?', [nonce]);
    this.store.write('DELETE FROM outbox_folded WHERE nonce = ?', [nonce]);
  }

  /** Removes events (expired or given up) by row id. */
  remove(items: readonly PendingItem[]): void {
    for (const item of items) if (item.spoolId !== undefined) this.store.write('DELETE FROM outbox_spool WHERE id = ?', [item.spoolId]);
  }

  /** Removes a channel's unmarked folded events (they expired together). */
  removeFolded(channelId: string): void {
    this.store.write('DELETE FROM outbox_spool WHERE channel_id = ? AND nonce IS NULL AND embed IS NULL', [channelId]);
    this.store.write("DELETE FROM outbox_folded WHERE channel_id = ? AND nonce = ''", [channelId]);
  }

  /** Every folded bucket (at start-up, before anything new is added). */
  loadFolded(): SpooledFold[] {
    return this.store.all<FoldRow>('SELECT channel_id, nonce, topic, label, count, first_at, last_at FROM outbox_folded').map((row) => {
      const fold: SpooledFold = { channelId: row.channel_id, bucket: { topic: row.topic, label: row.label }, count: row.count, firstAt: row.first_at, lastAt: row.last_at };
      if (row.nonce !== '') fold.nonce = row.nonce;
      return fold;
    });
  }

  /** Every spooled event kept in full, oldest first (at start-up, before anything new is added). */
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
 * their nonce, to be sent first), the events still waiting (oldest first) and the folded counts.
 */
export function fromSpool(events: readonly SpooledEvent[], folds: readonly SpooledFold[] = []): { started: Batch[]; waiting: WaitingEvent[]; folded: SpooledFold[] } {
  const started = new Map<string, { items: PendingItem[]; digest?: DigestCounter }>();
  const waiting: WaitingEvent[] = [];
  const folded: SpooledFold[] = [];
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
  for (const fold of folds) {
    if (fold.nonce === undefined) {
      folded.push(fold);
      continue;
    }
    let message = started.get(fold.nonce);
    if (!message) started.set(fold.nonce, (message = { items: [] }));
    (message.digest ??= new DigestCounter()).addBucket(fold.bucket, fold.count, fold.firstAt, fold.lastAt);
  }
  return { started: [...started].map(([nonce, message]) => rebuiltBatch(message.items, message.digest, nonce)), waiting, folded };
}
