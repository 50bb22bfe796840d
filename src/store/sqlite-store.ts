import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../observability/logger.ts';
import type { Migrations, RunResult, SqlParams, Store } from './store.ts';

/** Where {@link openStore} keeps the database. */
export interface StoreOptions {
  /** A file path (relative to `baseDir`) or `:memory:`. */
  path: string;
  /** What a relative `path` is resolved against (the config file's directory). */
  baseDir: string;
  logger?: Logger;
}

/** Raised when the database cannot be opened or migrated; the message names the file. */
export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

const MEMORY = ':memory:';
const MAX_CACHED_STATEMENTS = 500;

/** The absolute location of the database file for a `storage.path` (`:memory:` as it is). */
export function resolveStorePath(path: string, baseDir: string): string {
  if (path === MEMORY) return MEMORY;
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Opens (creating if needed) the SQLite database behind the {@link Store} interface, with its
 * directory. WAL journaling with `synchronous=NORMAL`: a commit survives a crash of the process
 * (kill -9); after a power loss the last commits may be rolled back, never corrupted.
 *
 * @example
 * ```ts
 * const store = openStore({ path: ':memory:', baseDir: process.cwd() });
 * ```
 */
export function openStore(options: StoreOptions): Store {
  const location = resolveStorePath(options.path, options.baseDir);
  let db: Database.Database;
  try {
    if (location !== MEMORY) mkdirSync(dirname(location), { recursive: true });
    db = new Database(location);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // A small page cache (1 MiB instead of 2): the spool is written far more than it is read, and
    // the bot's memory budget under a flood is tight.
    db.pragma('cache_size = -1024');
  } catch (error) {
    throw new StoreError(`cannot open the database at ${location} (storage.path): ${(error as Error).message}`, { cause: error });
  }
  return new SqliteStore(db, location, options.logger);
}

/** {@link Store} over one better-sqlite3 connection, with cached statements and per-turn write batches. */
class SqliteStore implements Store {
  readonly durable: boolean;
  private readonly statements = new Map<string, Database.Statement>();
  private batchOpen = false;
  private commitWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    readonly location: string,
    private readonly logger?: Logger,
  ) {
    this.durable = location !== MEMORY;
    db.exec('CREATE TABLE IF NOT EXISTS store_migrations (part TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (part, version))');
  }

  migrate(part: string, migrations: Migrations): number {
    this.flush();
    const row = this.get<{ version: number | null }>('SELECT MAX(version) AS version FROM store_migrations WHERE part = ?', [part]);
    const current = row?.version ?? 0;
    if (current > migrations.length) {
      throw new StoreError(`the database at ${this.location} holds schema version ${current} of "${part}", newer than this zmq-notify knows (${migrations.length}); use a newer zmq-notify or another storage.path`);
    }
    for (let version = current + 1; version <= migrations.length; version++) {
      this.transaction(() => {
        this.db.exec(migrations[version - 1]!);
        this.run('INSERT INTO store_migrations (part, version, applied_at) VALUES (?, ?, ?)', [part, version, Date.now()]);
      });
    }
    return migrations.length;
  }

  run(sql: string, params: SqlParams = []): RunResult {
    return this.statement(sql).run(params as unknown[]);
  }

  get<T>(sql: string, params: SqlParams = []): T | undefined {
    return this.statement(sql).get(params as unknown[]) as T | undefined;
  }

  all<T>(sql: string, params: SqlParams = []): T[] {
    return this.statement(sql).all(params as unknown[]) as T[];
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  write(sql: string, params: SqlParams = []): RunResult {
    if (!this.batchOpen) {
      this.assertOpen();
      this.db.exec('BEGIN');
      this.batchOpen = true;
      setImmediate(() => this.commitBatch());
    }
    return this.run(sql, params);
  }

  flush(): void {
    this.commitBatch();
  }

  committed(): Promise<void> {
    if (!this.batchOpen) return Promise.resolve();
    return new Promise((resolve) => this.commitWaiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.commitBatch();
    this.closed = true;
    this.statements.clear();
    this.db.close();
  }

  private commitBatch(): void {
    if (!this.batchOpen || this.closed) return;
    this.batchOpen = false;
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      // A failed COMMIT leaves the transaction open in SQLite: end it so later batches can start.
      this.logger?.error({ err: error, location: this.location }, 'the database could not commit a batch of writes');
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    }
    const waiters = this.commitWaiters;
    this.commitWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private statement(sql: string): Database.Statement {
    this.assertOpen();
    let statement = this.statements.get(sql);
    if (!statement) {
      // Callers' SQL is fixed text; the bound only matters for one that builds statements on the fly.
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError(`the database at ${this.location} is closed`);
  }
}
