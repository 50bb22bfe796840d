import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, resolveStorePath, StoreError, type Store } from '../../src/store/index.ts';

let dir: string;
const opened: Store[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zmq-notify-store-'));
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(path = 'data/test.db'): Store {
  const store = openStore({ path, baseDir: dir });
  opened.push(store);
  return store;
}

const notes = ['CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)', 'ALTER TABLE notes ADD COLUMN tag TEXT'];

describe('Store (SQLite file in a temp dir)', () => {
  it('resolves storage.path against the config directory, creates the directory, and keeps :memory: as it is', () => {
    expect(resolveStorePath('data/x.db', '/etc/zmq-notify')).toBe('/etc/zmq-notify/data/x.db');
    expect(resolveStorePath('/var/lib/x.db', '/etc/zmq-notify')).toBe('/var/lib/x.db');
    expect(resolveStorePath(':memory:', '/etc')).toBe(':memory:');
    const store = open();
    expect(store.location).toBe(join(dir, 'data/test.db'));
    expect(store.durable).toBe(true);
    expect(open(':memory:').durable).toBe(false);
  });

  it('applies each part\'s migrations once and in order, and refuses a database from a newer version', () => {
    const store = open();
    expect(store.migrate('notes', notes.slice(0, 1))).toBe(1);
    store.run('INSERT INTO notes (text) VALUES (?)', ['a']);
    // A later version adds the second step only; running it twice changes nothing.
    expect(store.migrate('notes', notes)).toBe(2);
    expect(store.migrate('notes', notes)).toBe(2);
    // Parts are independent: another part's tables and versions do not interfere.
    store.migrate('other', ['CREATE TABLE other (k TEXT PRIMARY KEY)']);
    store.run('UPDATE notes SET tag = ?', ['t']);
    expect(store.all('SELECT text, tag FROM notes')).toEqual([{ text: 'a', tag: 't' }]);
    // Bad input: a binary that knows fewer migrations than the file holds.
    expect(() => store.migrate('notes', notes.slice(0, 1))).toThrow(StoreError);
    expect(() => store.migrate('notes', notes.slice(0, 1))).toThrow(/schema version 2 of "notes", newer/);
  });

  it('a migration that fails is rolled back whole and leaves the version where it was', () => {
    const store = open();
    expect(() => store.migrate('bad', ['CREATE TABLE t (a TEXT); INSERT INTO nowhere VALUES (1)'])).toThrow(/no such table/);
    expect(store.get('SELECT name FROM sqlite_master WHERE name = ?', ['t'])).toBeUndefined();
    expect(store.migrate('bad', ['CREATE TABLE t (a TEXT)'])).toBe(1);
  });

  it('batched writes are visible at once, committed together at the end of the turn, and survive reopening', async () => {
    const store = open();
    store.migrate('notes', notes);
    for (let i = 0; i < 1000; i++) store.write('INSERT INTO notes (text) VALUES (?)', [`n${i}`]);
    expect(store.get<{ n: number }>('SELECT COUNT(*) AS n FROM notes')?.n).toBe(1000);
    // A second connection sees nothing until the batch is committed.
    const other = open();
    expect(other.get<{ n: number }>('SELECT COUNT(*) AS n FROM notes')?.n).toBe(0);
    await store.committed();
    expect(other.get<{ n: number }>('SELECT COUNT(*) AS n FROM notes')?.n).toBe(1000);
    store.write('DELETE FROM notes WHERE text = ?', ['n0']);
    store.close();
    opened.splice(opened.indexOf(store), 1);
    expect(open().get<{ n: number }>('SELECT COUNT(*) AS n FROM notes')?.n).toBe(999);
  });

  it('transactions roll back when their function throws, also inside an open batch', () => {
    const store = open();
    store.migrate('notes', notes);
    store.write('INSERT INTO notes (text) VALUES (?)', ['kept']);
    expect(() =>
      store.transaction(() => {
        store.run('INSERT INTO notes (text) VALUES (?)', ['lost']);
        throw new Error('no');
      }),
    ).toThrow('no');
    store.flush();
    expect(store.all('SELECT text FROM notes')).toEqual([{ text: 'kept' }]);
  });

  it('a path that cannot be a database is a clear error naming the file (bad input: a directory, then a text file)', () => {
    expect(() => openStore({ path: dir, baseDir: '/' })).toThrow(StoreError);
    const text = join(dir, 'not-a-db.txt');
    writeFileSync(text, 'this is not sqlite '.repeat(100));
    expect(() => openStore({ path: text, baseDir: '/' })).toThrow(new RegExp(`cannot open the database at ${text}`));
  });

  it('a closed store refuses further use', () => {
    const store = open();
    store.close();
    opened.splice(opened.indexOf(store), 1);
    expect(() => store.run('SELECT 1')).toThrow(/closed/);
  });
});
