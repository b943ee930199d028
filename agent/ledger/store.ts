// Prepared statements over the ledger database: the only place that knows the SQL.
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.ts';
import type { Val } from './state.ts';

export interface EventRow {
  eid: number; id: Buffer; aid: number; seq: number; hlc_ms: number; hlc_c: number;
  dapp: string; type: string; pos: number; soft_fail: string | null; raw: Buffer;
}
export interface DepRow { child: number; eid: number; id: Buffer; pos: number; hlc_ms: number; hlc_c: number; aid: number; seq: number }

export class Store {
  private readonly st: Record<string, Statement>;
  constructor(readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.st = {
      metaGet: p('SELECT v FROM meta WHERE k = ?'),
      metaSet: p('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      authorGet: p('SELECT aid FROM authors WHERE key = ?'),
      authorKey: p('SELECT key FROM authors WHERE aid = ?'),
      authorAdd: p('INSERT INTO authors (key) VALUES (?)'),
      byId: p('SELECT * FROM events WHERE id = ?'),
      brief: p('SELECT eid, id, pos, hlc_ms, hlc_c, aid, seq FROM events WHERE id = ?'),
      firstPosFromSeq: p('SELECT min(pos) AS p FROM events WHERE aid = ? AND seq >= ?'),
      atSeq: p('SELECT eid, id, pos FROM events WHERE aid = ? AND seq = ?'),
      lastOfAuthor: p('SELECT id, seq FROM events WHERE aid = ? ORDER BY seq DESC, id ASC LIMIT 1'),
      insert: p('INSERT INTO events (id, aid, seq, hlc_ms, hlc_c, dapp, type, pos, soft_fail, raw) VALUES (?,?,?,?,?,?,?,?,?,?)'),
      setPos: p('UPDATE events SET pos = ?, soft_fail = ? WHERE eid = ?'),
      fromPos: p('SELECT * FROM events WHERE pos >= ? ORDER BY pos'),
      depsFromPos: p(`SELECT e.child AS child, p.eid AS eid, p.id AS id, p.pos AS pos, p.hlc_ms AS hlc_ms, p.hlc_c AS hlc_c, p.aid AS aid, p.seq AS seq
                      FROM events c JOIN edges e ON e.child = c.eid JOIN events p ON p.eid = e.parent WHERE c.pos >= ?`),
      edgeAdd: p('INSERT OR IGNORE INTO edges (child, parent) VALUES (?, ?)'),
      // Events are never deleted and eids are only ever given out as max + 1 (an INTEGER PRIMARY
      // KEY without AUTOINCREMENT; a rolled-back insert hands its eid to the next), so the largest
      // eid is the count: one index seek instead of count(*)'s walk over a million rows.
      count: p('SELECT coalesce(max(eid), 0) AS n FROM events'),
      maxPos: p('SELECT max(pos) AS m FROM events'),
      // CROSS JOIN keeps heads as the outer loop: SQLite would otherwise walk the whole events index.
      heads: p('SELECT e.eid, e.id, e.pos FROM heads h CROSS JOIN events e ON e.eid = h.eid ORDER BY e.id'),
      headAdd: p('INSERT OR IGNORE INTO heads (eid) VALUES (?)'),
      headDel: p('DELETE FROM heads WHERE eid = ?'),
      stateGet: p('SELECT v FROM state WHERE k = ?'),
      statePut: p('INSERT INTO state (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      stateDel: p('DELETE FROM state WHERE k = ?'),
      stateScan: p('SELECT k, v FROM state WHERE k >= ? AND k < ? ORDER BY k'),
      undoAdd: p('INSERT INTO undo (eid, n, k, old) VALUES (?, ?, ?, ?)'),
      undoFromPos: p('SELECT u.k AS k, u.old AS old FROM undo u JOIN events e ON e.eid = u.eid WHERE e.pos >= ? ORDER BY e.pos, u.n'),
      undoDelFromPos: p('DELETE FROM undo WHERE eid IN (SELECT eid FROM events WHERE pos >= ?)'),
      pendingHas: p('SELECT 1 FROM pending WHERE id = ?'),
      pendingAdd: p('INSERT OR IGNORE INTO pending (id, raw, received_ms) VALUES (?, ?, ?)'),
      pendingMissingAdd: p('INSERT OR IGNORE INTO pending_missing (missing, id) VALUES (?, ?)'),
      pendingWaitingOn: p('SELECT p.id, p.raw FROM pending_missing m JOIN pending p ON p.id = m.id WHERE m.missing = ?'),
      pendingDel: p('DELETE FROM pending WHERE id = ?'),
      pendingMissingDel: p('DELETE FROM pending_missing WHERE id = ?'),
      pendingCount: p('SELECT count(*) AS n FROM pending'),
      pendingMissingAll: p('SELECT DISTINCT missing FROM pending_missing WHERE missing NOT IN (SELECT id FROM pending) LIMIT ?'),
      pendingOldest: p('SELECT id, length(raw) AS b FROM pending ORDER BY received_ms, id LIMIT ?'),
      pendingExpired: p('SELECT id, length(raw) AS b FROM pending WHERE received_ms < ? ORDER BY received_ms, id LIMIT ?'),
      // The author's key at bytes 34..65 of the encoding (agent/ledger/pending.ts AUTHOR_AT); indexed by migration 2.
      pendingOfAuthor: p('SELECT count(*) AS n, coalesce(sum(length(raw)), 0) AS b FROM pending WHERE substr(raw, 34, 32) = ?'),
      pendingTotals: p('SELECT count(*) AS n, coalesce(sum(length(raw)), 0) AS b FROM pending'),
      eqAdd: p('INSERT OR IGNORE INTO equivocations (aid, seq, a, b) VALUES (?, ?, ?, ?)'),
      eqAll: p('SELECT a2.key AS key, min(q.seq) AS seq FROM equivocations q JOIN authors a2 ON a2.aid = q.aid GROUP BY q.aid'),
      eqList: p('SELECT a2.key AS key, q.seq AS seq, q.a AS a, q.b AS b FROM equivocations q JOIN authors a2 ON a2.aid = q.aid ORDER BY q.aid, q.seq'),
      all: p('SELECT raw FROM events ORDER BY pos'),
      dataVersion: p('PRAGMA data_version').pluck(),
      begin: p('BEGIN'),
      commit: p('COMMIT'),
      softFailed: p('SELECT id, dapp, type, soft_fail FROM events WHERE soft_fail IS NOT NULL ORDER BY pos'),
    };
  }
  s(name: string): Statement { return this.st[name]!; }
  meta(k: string): string | undefined { return (this.st.metaGet!.get(k) as { v: string } | undefined)?.v; }
  setMeta(k: string, v: string): void { this.st.metaSet!.run(k, v); }
  aid(key: Buffer): number | undefined { return (this.st.authorGet!.get(key) as { aid: number } | undefined)?.aid; }
  ensureAid(key: Buffer): number {
    return this.aid(key) ?? Number(this.st.authorAdd!.run(key).lastInsertRowid);
  }
  stateScan(lo: string, hi: string): Array<[string, string]> {
    return (this.st.stateScan!.all(lo, hi) as Array<{ k: string; v: string }>).map((r) => [r.k, r.v]);
  }
  /** The store as the bottom layer of the fold's state views. */
  kv(): { get(k: string): string | undefined; scan(lo: string, hi: string): Array<[string, string]> } {
    return { get: (k) => this.stateGet(k), scan: (lo, hi) => this.stateScan(lo, hi) };
  }
  stateGet(k: string): string | undefined { return (this.st.stateGet!.get(k) as { v: string } | undefined)?.v; }
  stateSet(k: string, v: Val): void {
    if (v === null) this.st.stateDel!.run(k); else this.st.statePut!.run(k, v);
  }
  dataVersion(): number { return this.st.dataVersion!.get() as number; }
  count(): number { return (this.st.count!.get() as { n: number }).n; }
  nextPos(): number { const m = (this.st.maxPos!.get() as { m: number | null }).m; return m === null ? 0 : m + 1; }
}
