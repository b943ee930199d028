// The pending pool's bounds (agent/ledger/pending.ts, docs/sync-protocol.md 4.4, issue 13 item 4):
// events by throw-away keys with made-up parents are kept as pending only up to a share per
// unknown author (then PENDING_FULL) and a total in count and bytes (then the oldest go), and
// expire; pending is local state: the state hash does not move, and an honest pending event is
// still released when its parent arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ChainBuilder, type BuiltEvent } from '../../agent/ledger/chain-builder.ts';
import type { Ledger, IngestResult } from '../../agent/ledger/ledger.ts';
import { foundOrg, signerFor, tempLedgers } from './helpers.ts';

const NOW = 1_700_000_000_000;
const writerDapps = { module: new URL('./helpers.ts', import.meta.url).href, export: 'testDapps' };

/** `n` notes by `who`, chained, the first on a parent nobody has. */
function orphans(l: Ledger, b: ChainBuilder, who: string, n: number, k = 'x'): BuiltEvent[] {
  const s = signerFor(who);
  const out: BuiltEvent[] = [];
  let parent: Buffer = randomBytes(32);
  for (let i = 0; i < n; i++) {
    const e = b.make(s, [parent], 'note', 'set', { k, v: i }, l.orgId!);
    out.push(e);
    parent = e.id;
  }
  return out;
}

const statuses = (rs: IngestResult[]): string[] => rs.map((r) => r.code ?? r.status);

void test('an unknown author gets its share of the pool in count and bytes; then PENDING_FULL, nothing stored; a known author is not capped', () => {
  const t = tempLedgers();
  try {
    const l = t.open('a', { now: () => NOW + 10_000, pending: { maxPerAuthor: 5, maxBytesPerAuthor: 1024 * 1024 } });
    foundOrg(l, signerFor('admin'), signerFor('node'), NOW);
    const hash = l.stateHash();
    const b = new ChainBuilder(NOW + 100);
    const evil = l.ingest(orphans(l, b, 'throwaway-1', 8).map((e) => e.raw));
    assert.deepEqual(statuses(evil), ['pending', 'pending', 'pending', 'pending', 'pending', 'PENDING_FULL', 'PENDING_FULL', 'PENDING_FULL']);
    assert.match(evil[5]!.message!, /unknown here and has 5 pending events .* at most 5/);
    assert.equal(l.pendingCount(), 5);
    assert.equal(statuses(l.ingest(orphans(l, b, 'throwaway-2', 3).map((e) => e.raw))).join(), 'pending,pending,pending', 'each key its own share');
    assert.equal(statuses(l.ingest(orphans(l, b, 'admin', 8).map((e) => e.raw))).filter((s) => s === 'pending').length, 8, 'an author the ledger knows is bounded by the total only');
    assert.equal(l.pendingCount(), 16);
    assert.equal(l.stateHash(), hash, 'pending events are in no state hash');

    const one = orphans(l, b, 'x', 1)[0]!.raw.length;
    const byBytes = t.open('bytes', { now: () => NOW + 10_000, pending: { maxBytesPerAuthor: 2 * one + 10 } });
    foundOrg(byBytes, signerFor('admin'), signerFor('node'), NOW);
    assert.deepEqual(statuses(byBytes.ingest(orphans(byBytes, b, 'throwaway-3', 4).map((e) => e.raw))), ['pending', 'pending', 'PENDING_FULL', 'PENDING_FULL']);
  } finally {
    t.cleanup();
  }
});

void test('the pool in total: the oldest are dropped first (count and bytes), results say so; the bound holds after reopening', () => {
  const t = tempLedgers();
  try {
    let now = NOW + 10_000;
    const opts = { now: () => now, pending: { maxCount: 10 } };
    const l = t.open('total', opts);
    foundOrg(l, signerFor('admin'), signerFor('node'), NOW);
    const b = new ChainBuilder(NOW + 100);
    const evs = Array.from({ length: 15 }, (_, i) => orphans(l, b, `key-${i}`, 1)[0]!);
    const results: IngestResult[] = [];
    for (const e of evs) {
      now += 1; // arrival order: one after the other
      results.push(...l.ingest([e.raw]));
    }
    assert.deepEqual(results.map((r) => r.dropped ?? 0), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert.equal(l.pendingCount(), 10);
    const kept = l.store.db.prepare('SELECT id FROM pending').all() as Array<{ id: Buffer }>;
    assert.deepEqual(new Set(kept.map((r) => r.id.toString('hex'))), new Set(evs.slice(5).map((e) => e.id.toString('hex'))), 'the five oldest went');
    l.close();
    const again = t.open('total', opts);
    now += 1;
    again.ingest(orphans(again, b, 'key-late', 3).map((e) => e.raw));
    assert.equal(again.pendingCount(), 10, 'a reopened ledger counts what is stored');

    const one = evs[0]!.raw.length;
    const small = t.open('bytes-total', { now: () => now, pending: { maxBytes: 4 * one + 10 } });
    foundOrg(small, signerFor('admin'), signerFor('node'), NOW);
    for (let i = 0; i < 7; i++) {
      now += 1;
      small.ingest(orphans(small, b, `bk-${i}`, 1).map((e) => e.raw));
    }
    assert.equal(small.pendingCount(), 4);
    const bytes = (small.store.db.prepare('SELECT sum(length(raw)) AS n FROM pending').get() as { n: number }).n;
    assert.ok(bytes <= 4 * one + 10, `${bytes} bytes pending`);
  } finally {
    t.cleanup();
  }
});

void test('pending events expire; an honest pending event is still released when its parent arrives', () => {
  const t = tempLedgers();
  try {
    let now = NOW + 10_000;
    const l = t.open('exp', { now: () => now, pending: { expiryMs: 60_000 } });
    foundOrg(l, signerFor('admin'), signerFor('node'), NOW);
    const b = new ChainBuilder(NOW + 100);
    l.ingest(orphans(l, b, 'old', 3).map((e) => e.raw));
    assert.equal(l.pendingCount(), 3);
    now += 61_000;
    // An honest child whose parent is late: pending, then released with it.
    const door = signerFor('node');
    const parent = b.make(door, l.heads().map((h) => Buffer.from(h, 'hex')), 'note', 'set', { k: 'p', v: 1 }, l.orgId!);
    const child = b.make(door, [parent.id], 'note', 'set', { k: 'c', v: 2 }, l.orgId!);
    assert.equal(l.ingest([child.raw])[0]!.status, 'pending');
    assert.equal(l.pendingCount(), 1, 'the three expired ones were dropped when the next one was parked');
    assert.deepEqual(l.ingest([parent.raw])[0], { status: 'accepted', id: parent.id.toString('hex') });
    assert.equal(l.hasEvent(child.id), true, 'released');
    assert.equal(l.pendingCount(), 0);
  } finally {
    t.cleanup();
  }
});

void test('the bounds hold in the writer thread too', async () => {
  const t = tempLedgers();
  try {
    const l = t.open('w', { writer: 'worker', writerDapps, maxSkewMs: Infinity, pending: { maxPerAuthor: 4, maxCount: 6 } });
    foundOrg(l, signerFor('admin'), signerFor('node'), NOW);
    const b = new ChainBuilder(NOW + 100);
    const r1 = await l.ingestAsync(orphans(l, b, 'w-1', 6).map((e) => e.raw));
    assert.deepEqual(statuses(r1), ['pending', 'pending', 'pending', 'pending', 'PENDING_FULL', 'PENDING_FULL']);
    const r2 = await l.ingestAsync(orphans(l, b, 'w-2', 4).map((e) => e.raw));
    assert.equal(r2.reduce((n, r) => n + (r.dropped ?? 0), 0), 2);
    assert.equal(l.pendingCount(), 6);
  } finally {
    t.cleanup();
  }
});
