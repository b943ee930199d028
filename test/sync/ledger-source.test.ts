// The ledger-backed item source against the in-memory reference (MemoryItemSource): counts,
// fingerprints, id lists and positions for random bounds, with many items sharing a time
// (bounds need id prefixes), tiny blocks and a tiny cache so splits and reloads happen,
// rows added in random order between refreshes, and rows added while a sliced load runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb, type Db } from '../../agent/ledger/db.ts';
import { LedgerItemSource } from '../../agent/sync/ledger-source.ts';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { type Bound, type Item, MAX_BOUND, MIN_BOUND, compareItems } from '../../agent/sync/rbsr/item.ts';
import { Reconciler } from '../../agent/sync/rbsr/reconciler.ts';
import { reconcileInProcess } from '../../agent/sync/rbsr/loopback.ts';
import { fakeId, idKey, seededRandom } from '../../agent/sync/rbsr/testkit.ts';

function memDb(): { db: Db; add: (items: Item[]) => void } {
  const db = openDb(':memory:');
  db.prepare('INSERT INTO authors (key) VALUES (?)').run(Buffer.alloc(32, 1));
  const ins = db.prepare("INSERT INTO events (id, aid, seq, hlc_ms, hlc_c, dapp, type, pos, raw) VALUES (?, 1, 1, ?, ?, 'x', 'y', 0, x'00')");
  return { db, add: (items) => { for (const it of items) ins.run(it.id, it.ts.ms, it.ts.c); } };
}

function randomItems(n: number, rnd: () => number, label: string): Item[] {
  return Array.from({ length: n }, (_, i) => ({ ts: { ms: 1000 + Math.floor(rnd() * 40), c: Math.floor(rnd() * 3) }, id: fakeId(`${label}${i}`) }));
}

function randomBounds(sorted: Item[], rnd: () => number, n: number): Bound[] {
  const out: Bound[] = [MIN_BOUND, MAX_BOUND];
  for (let i = 0; i < n; i++) {
    const it = sorted[Math.floor(rnd() * sorted.length)];
    if (it) out.push({ ts: it.ts, prefix: it.id.subarray(0, Math.floor(rnd() * 5)) });
    out.push({ ts: { ms: 990 + Math.floor(rnd() * 60), c: Math.floor(rnd() * 4) }, prefix: Buffer.alloc(0) });
  }
  return out;
}

function assertSame(src: LedgerItemSource, ref: MemoryItemSource, rnd: () => number, label: string): void {
  const all = ref.all();
  assert.equal(src.size(), ref.size(), `${label}: size`);
  const bounds = randomBounds(all, rnd, 60);
  for (let i = 0; i < 150; i++) {
    const lo = bounds[Math.floor(rnd() * bounds.length)]!;
    const hi = bounds[Math.floor(rnd() * bounds.length)]!;
    const n = ref.count(lo, hi);
    assert.equal(src.count(lo, hi), n, `${label} case ${i}: count`);
    assert.ok(src.fingerprint(lo, hi).equals(ref.fingerprint(lo, hi)), `${label} case ${i}: fingerprint`);
    assert.deepEqual(src.ids(lo, hi).map(idKey), ref.ids(lo, hi).map(idKey), `${label} case ${i}: ids`);
    if (n > 0) {
      const pos = [0, Math.floor(n / 2), n - 1].filter((p, j, a) => a.indexOf(p) === j).sort((a, b) => a - b);
      const got = src.itemsAt(lo, hi, pos);
      const want = ref.itemsAt(lo, hi, pos);
      assert.deepEqual(got.map((x) => [x.ts.ms, x.ts.c, idKey(x.id)]), want.map((x) => [x.ts.ms, x.ts.c, idKey(x.id)]), `${label} case ${i}: itemsAt`);
    }
  }
}

void test('LedgerItemSource matches MemoryItemSource through random inserts and refreshes', async () => {
  for (const seed of [1, 2, 3]) {
    const rnd = seededRandom(seed);
    const { db, add } = memDb();
    const ref = new MemoryItemSource();
    const src = new LedgerItemSource(db, { blockSize: 1 + Math.floor(rnd() * 6), cacheBlocks: 2 });
    const first = randomItems(300, rnd, `a${seed}:`);
    add(first);
    for (const it of first) ref.insert(it);
    await src.load({ sliceRows: 17 });
    assertSame(src, ref, rnd, `seed ${seed} after load`);
    for (let round = 0; round < 4; round++) {
      const more = randomItems(1 + Math.floor(rnd() * 200), rnd, `b${seed}:${round}:`);
      add(more);
      for (const it of more) ref.insert(it);
      assert.equal(src.refresh(), more.length);
      assertSame(src, ref, rnd, `seed ${seed} round ${round}`);
    }
    db.close();
  }
});

void test('rows added while a sliced load runs are counted exactly once', async () => {
  const rnd = seededRandom(7);
  const { db, add } = memDb();
  const ref = new MemoryItemSource();
  const items = randomItems(500, rnd, 'load');
  add(items.slice(0, 400));
  const src = new LedgerItemSource(db, { blockSize: 8 });
  let pauses = 0;
  await src.load({
    sliceRows: 50,
    pause: async () => {
      // Ingest running between slices: rows both before and after the load cursor.
      if (pauses++ < 5) add(items.slice(400 + pauses * 20 - 20, 400 + pauses * 20));
      await Promise.resolve();
    },
  });
  assert.ok(pauses >= 5);
  for (const it of items) ref.insert(it);
  assertSame(src, ref, rnd, 'concurrent load');
  db.close();
});

void test('an empty ledger is an empty set; two ledger sources reconcile exactly', async () => {
  const a = memDb();
  const b = memDb();
  const empty = new LedgerItemSource(a.db);
  await empty.load();
  assert.equal(empty.size(), 0);
  assert.ok(empty.fingerprint(MIN_BOUND, MAX_BOUND).equals(new MemoryItemSource().fingerprint(MIN_BOUND, MAX_BOUND)));
  assert.deepEqual(empty.ids(MIN_BOUND, MAX_BOUND), []);
  const rnd = seededRandom(11);
  const common = randomItems(3000, rnd, 'c');
  const onlyA = randomItems(150, rnd, 'x');
  const onlyB = randomItems(170, rnd, 'y');
  a.add([...common, ...onlyA]);
  b.add([...common, ...onlyB]);
  assert.equal(empty.refresh(), 3150);
  const sb = new LedgerItemSource(b.db, { blockSize: 16 });
  await sb.load();
  const s = reconcileInProcess(new Reconciler(empty, { settleMax: 256 }), new Reconciler(sb, { settleMax: 256 }));
  assert.deepEqual(s.have.map(idKey).sort(), onlyA.map((i) => idKey(i.id)).sort());
  assert.deepEqual(s.need.map(idKey).sort(), onlyB.map((i) => idKey(i.id)).sort());
  assert.deepEqual(sb.ids(MIN_BOUND, MAX_BOUND).map(idKey), [...common, ...onlyB].sort(compareItems).map((i) => idKey(i.id)));
  a.db.close();
  b.db.close();
});

void test('use before load is a clear error', () => {
  const { db } = memDb();
  const src = new LedgerItemSource(db);
  assert.throws(() => src.size() + src.count(MIN_BOUND, MAX_BOUND), /before load/);
  assert.throws(() => src.refresh(), /before load/);
  assert.throws(() => new LedgerItemSource(db, { blockSize: 0 }), /blockSize/);
  db.close();
});
