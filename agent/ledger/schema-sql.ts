// The store's SQLite schema, as numbered migrations applied in order inside one transaction.
export const MIGRATIONS: string[] = [
  // 1: the event DAG, pending events, equivocation proofs, derived state and its undo log.
  `
  CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE authors (aid INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE);
  CREATE TABLE events (
    eid INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    aid INTEGER NOT NULL REFERENCES authors(aid),
    seq INTEGER NOT NULL,
    hlc_ms INTEGER NOT NULL,
    hlc_c INTEGER NOT NULL,
    dapp TEXT NOT NULL,
    type TEXT NOT NULL,
    pos INTEGER NOT NULL,
    soft_fail TEXT,
    raw BLOB NOT NULL
  );
  CREATE INDEX events_pos ON events(pos);
  CREATE INDEX events_chain ON events(aid, seq);
  CREATE INDEX events_hlc ON events(hlc_ms, hlc_c, id);
  CREATE INDEX events_kind ON events(dapp, type, hlc_ms);
  CREATE TABLE edges (child INTEGER NOT NULL, parent INTEGER NOT NULL, PRIMARY KEY (child, parent)) WITHOUT ROWID;
  CREATE TABLE heads (eid INTEGER PRIMARY KEY);
  CREATE TABLE pending (id BLOB PRIMARY KEY, raw BLOB NOT NULL, received_ms INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE pending_missing (missing BLOB NOT NULL, id BLOB NOT NULL, PRIMARY KEY (missing, id)) WITHOUT ROWID;
  CREATE TABLE equivocations (aid INTEGER NOT NULL, seq INTEGER NOT NULL, a BLOB NOT NULL, b BLOB NOT NULL, PRIMARY KEY (aid, seq, a, b)) WITHOUT ROWID;
  CREATE TABLE state (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE undo (eid INTEGER NOT NULL, n INTEGER NOT NULL, k TEXT NOT NULL, old TEXT, PRIMARY KEY (eid, n)) WITHOUT ROWID;
  `,
  // 2: pending events by author (the key at bytes 34..65 of the encoding) and by age, for the
  // pool's bounds (agent/ledger/pending.ts). Indexes only: a replica opened read-only at schema 1
  // runs the same queries, unindexed.
  `
  CREATE INDEX pending_author ON pending(substr(raw, 34, 32));
  CREATE INDEX pending_age ON pending(received_ms, id);
  `,
];
