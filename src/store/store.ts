/** Values a statement may bind: positional (`?`) or named (`@name`). */
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>;

/** What a write statement changed. */
export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/** One part's schema changes, applied in order, each once (its index + 1 is its version). */
export type Migrations = readonly string[];

/**
 * The embedded database, as the rest of the bot sees it: plain SQL statements, transactions, and
 * per-part migrations, so each part (the Outbox spool, the alert series, the scheduler) keeps its
 * own tables and schema versions. Calls are synchronous: SQLite runs in-process, and the Outbox
 * must have an event stored before `post()` returns. Another database could back this interface
 * (e.g. Postgres through a write-ahead buffer) without changing its users.
 *
 * @example
 * ```ts
 * const store = openStore({ path: 'data/zmq-notify.db', baseDir: '/etc/zmq-notify', logger });
 * store.migrate('notes', ['CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)']);
 * store.write('INSERT INTO notes (text) VALUES (?)', ['hello']); // committed with this turn's other writes
 * const rows = store.all<{ text: string }>('SELECT text FROM notes');
 * ```
 */
export interface Store {
  /** Where the data lives: an absolute file path, or `:memory:` (gone when the process ends). */
  readonly location: string;
  /** Whether the data outlives the process (false for `:memory:`). */
  readonly durable: boolean;
  /**
   * Applies the migrations of `part` that are not applied yet, each in its own transaction, and
   * returns the part's schema version. Throws when the database holds a newer version than given.
   */
  migrate(part: string, migrations: Migrations): number;
  /** Runs a statement now (in the open batch, if one is open: see {@link Store.write}). */
  run(sql: string, params?: SqlParams): RunResult;
  /** The first row of a query, or undefined. */
  get<T>(sql: string, params?: SqlParams): T | undefined;
  /** Every row of a query. */
  all<T>(sql: string, params?: SqlParams): T[];
  /** Runs `fn` in one transaction (nested calls become savepoints); rolls back if it throws. */
  transaction<T>(fn: () => T): T;
  /**
   * Runs a write now inside the current batch: the first write of an event-loop turn opens a
   * transaction that is committed at the end of the turn, with every other write of that turn.
   * Reads on the store see the write at once. Use it for writes that come in bursts.
   */
  write(sql: string, params?: SqlParams): RunResult;
  /** Commits the open batch now (a no-op without one). */
  flush(): void;
  /** Resolves once the batch open now (if any) is committed. */
  committed(): Promise<void>;
  /** Commits and closes the database; later calls throw. */
  close(): void;
}
