// WAL checkpoints in a worker thread: the main connection never checkpoints while it runs, the
// worker does once the WAL has grown, and stopping it hands checkpoints back to SQLite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../agent/ledger/db.ts';
import { Checkpointer } from '../../agent/ledger/checkpointer.ts';

test('the checkpointer moves WAL checkpoints off the main connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-ckpt-'));
  const path = join(dir, 'l.db');
  const db = openDb(path);
  try {
    const ck = new Checkpointer(db, path, { thresholdBytes: 64 * 1024, intervalMs: 20 });
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
    db.exec('CREATE TABLE t (x BLOB)');
    const ins = db.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 200; i++) ins.run(Buffer.alloc(4096, i));
    const deadline = Date.now() + 10_000;
    while (ck.stats.checkpoints === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(ck.stats.checkpoints > 0, 'the worker checkpointed');
    assert.equal(ck.stats.errors, 0);
    // The checkpointed pages are in the database file now.
    assert.ok(statSync(path).size >= 200 * 4096);
    ck.stop();
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'SQLite checkpoints again once the worker stops');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
