// Opens the SQLite file with the settings the ledger relies on, and migrates its schema.
import Database from 'better-sqlite3';
import { MIGRATIONS } from './schema-sql.ts';

export type Db = Database.Database;

export interface OpenDbOptions {
  /**
   * FULL makes every commit durable before it returns: access events are audit records, and
   * a maker space's SD card loses power without warning (docs/design-notes.md, SD cards). Tests may relax it.
   */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  readonly?: boolean;
}

export function openDb(path: string, opts: OpenDbOptions = {}): Db {
  const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  }
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -16000');
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) migrate(db);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db): void {
  const from = schemaVersion(db);
  if (from > MIGRATIONS.length) {
    throw new Error(`ledger database schema ${from} is newer than this gdo (knows ${MIGRATIONS.length}); upgrade gdo`);
  }
  if (from === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let v = from; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}
