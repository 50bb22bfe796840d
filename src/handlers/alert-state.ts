import type { Store } from '../store/index.ts';
import type { ZmqEvent } from '../pipeline/event.ts';
import type { FailureRecord } from './failure-tracker.ts';

const MIGRATIONS = [
  `CREATE TABLE alert_series (
     key TEXT PRIMARY KEY,
     channel_id TEXT NOT NULL,
     count INTEGER NOT NULL,
     first_at INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     last_event TEXT NOT NULL,
     message_id TEXT,
     nonce TEXT NOT NULL,
     unsent INTEGER NOT NULL,
     unsent_since INTEGER
   );
   CREATE TABLE failing_jobs (
     key TEXT PRIMARY KEY,
     channel_id TEXT NOT NULL,
     count INTEGER NOT NULL,
     first_at INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     last_error TEXT
   );`,
];

/** A repeat series as stored: enough to edit its alert after a restart and to send what it still owes. */
export interface StoredSeries {
  key: string;
  channelId: string;
  count: number;
  firstAt: number;
  lastAt: number;
  /** The latest failure, compacted. */
  last: ZmqEvent;
  /** The alert message, once Discord has it. */
  messageId?: string;
  /** The nonce of the alert's create, so a create repeated after a crash is not posted twice. */
  nonce: string;
  /** Failures not yet confirmed by Discord (held or in flight). */
  unsent: number;
  unsentSince?: number;
}

interface SeriesRow {
  key: string;
  channel_id: string;
  count: number;
  first_at: number;
  last_at: number;
  last_event: string;
  message_id: string | null;
  nonce: string;
  unsent: number;
  unsent_since: number | null;
}

interface FailureRow {
  key: string;
  channel_id: string;
  count: number;
  first_at: number;
  last_at: number;
  last_error: string | null;
}

/**
 * The failure alerts' memory in the store: each repeat series (which message to edit, how many
 * failures, what is still owed to Discord) and each failing job (for its "recovered" notice), so a
 * restart continues a series by editing its message and counts a recovery right. Writes go into the
 * store's per-turn batch.
 */
export class AlertState {
  constructor(private readonly store: Store) {
    store.migrate('alerts', MIGRATIONS);
  }

  saveSeries(series: StoredSeries): void {
    this.store.write(
      `INSERT INTO alert_series (key, channel_id, count, first_at, last_at, last_event, message_id, nonce, unsent, unsent_since)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET channel_id = excluded.channel_id, count = excluded.count, first_at = excluded.first_at, last_at = excluded.last_at,
         last_event = excluded.last_event, message_id = excluded.message_id, nonce = excluded.nonce, unsent = excluded.unsent, unsent_since = excluded.unsent_since`,
      [series.key, series.channelId, series.count, series.firstAt, series.lastAt, JSON.stringify(series.last), series.messageId ?? null, series.nonce, series.unsent, series.unsentSince ?? null],
    );
  }

  deleteSeries(key: string): void {
    this.store.write('DELETE FROM alert_series WHERE key = ?', [key]);
  }

  /** Every stored series, least recently failing first. */
  loadSeries(): StoredSeries[] {
    return this.store.all<SeriesRow>('SELECT * FROM alert_series ORDER BY last_at').map((row) => {
      const series: StoredSeries = {
        key: row.key,
        channelId: row.channel_id,
        count: row.count,
        firstAt: row.first_at,
        lastAt: row.last_at,
        last: JSON.parse(row.last_event) as ZmqEvent,
        nonce: row.nonce,
        unsent: row.unsent,
      };
      if (row.message_id !== null) series.messageId = row.message_id;
      if (row.unsent_since !== null) series.unsentSince = row.unsent_since;
      return series;
    });
  }

  saveFailure(key: string, record: FailureRecord): void {
    this.store.write(
      `INSERT INTO failing_jobs (key, channel_id, count, first_at, last_at, last_error) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET channel_id = excluded.channel_id, count = excluded.count, first_at = excluded.first_at, last_at = excluded.last_at, last_error = excluded.last_error`,
      [key, record.channelId, record.count, record.firstAt, record.lastAt, record.lastError === undefined ? null : JSON.stringify(record.lastError)],
    );
  }

  deleteFailure(key: string): void {
    this.store.write('DELETE FROM failing_jobs WHERE key = ?', [key]);
  }

  /** Every stored failing job, least recently failed first. */
  loadFailures(): [string, FailureRecord][] {
    return this.store.all<FailureRow>('SELECT * FROM failing_jobs ORDER BY last_at').map((row) => {
      const record: FailureRecord = { channelId: row.channel_id, count: row.count, firstAt: row.first_at, lastAt: row.last_at };
      if (row.last_error !== null) record.lastError = JSON.parse(row.last_error) as unknown;
      return [row.key, record];
    });
  }
}
