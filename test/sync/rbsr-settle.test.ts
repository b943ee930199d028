// Responder settlement (docs/sync-protocol.md 1.14): the responder resolves the initiator's
// id lists itself, so the differing ids cross the wire about once and a node far behind
// catches up in two round trips. Checked against exact set differences on seeded sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { Reconciler, type ReconcilerOptions } from '../../agent/sync/rbsr/reconciler.ts';
import { reconcileInProcess, type SessionStats } from '../../agent/sync/rbsr/loopback.ts';
import type { Item } from '../../agent/sync/rbsr/item.ts';
import { RbsrError } from '../../agent/sync/rbsr/errors.ts';
import { idKey, makeItems, seededRandom } from '../../agent/sync/rbsr/testkit.ts';

function run(a: Item[], b: Item[], opts: ReconcilerOptions): SessionStats {
  return reconcileInProcess(new Reconciler(new MemoryItemSource(a), opts), new Reconciler(new MemoryItemSource(b), opts), 2000);
}

function assertExact(s: SessionStats, a: Item[], b: Item[], label: string): void {
  const inA = new Set(a.map((it) => idKey(it.id)));
  const inB = new Set(b.map((it) => idKey(it.id)));
  assert.deepEqual(s.have.map(idKey).sort(), [...inA].filter((k) => !inB.has(k)).sort(), `${label}: have must be A \\ B`);
  assert.deepEqual(s.need.map(idKey).sort(), [...inB].filter((k) => !inA.has(k)).sort(), `${label}: need must be B \\ A`);
}

void test('settlement: random sets converge to exactly their symmetric difference', () => {
  for (let seed = 500; seed < 700; seed++) {
    const rnd = seededRandom(seed);
    const size = [0, 1, 7, 40, 300, 3000][Math.floor(rnd() * 6)]!;
    const all = makeItems(size, { seed, maxGapMs: Math.floor(rnd() * 3) });
    const p = [0, 0.02, 0.3, 1][Math.floor(rnd() * 4)]!;
    const a: Item[] = [];
    const b: Item[] = [];
    for (const it of all) {
      const r = rnd();
      if (r < p / 2) a.push(it);
      else if (r < p) b.push(it);
      else { a.push(it); b.push(it); }
    }
    const opts: ReconcilerOptions = {
      settleMax: [1, 16, 256, 4096][Math.floor(rnd() * 4)]!,
      frameSizeLimit: rnd() < 0.5 ? 4096 : 65536,
      idListThreshold: 1 + Math.floor(rnd() * 32),
    };
    const label = `seed=${seed} size=${size} p=${p} opts=${JSON.stringify(opts)}`;
    assertExact(run(a, b, opts), a, b, label);
  }
});

void test('settlement halves the bytes of a partition and catches a far-behind node up in a few round trips', () => {
  const N = 100_000;
  const common = makeItems(N, { seed: 1, label: 'common' });
  const fresh = makeItems(2000, { seed: 2, startMs: common[N - 1]!.ts.ms + 5, label: 'recent' });
  const rnd = seededRandom(2);
  const a = [...common];
  const b = [...common];
  for (const it of fresh) (rnd() < 0.5 ? a : b).push(it);
  const plain = run(a, b, {});
  const settled = run(a, b, { settleMax: 2048 });
  assertExact(settled, a, b, 'recent 1000+1000');
  const bytes = (s: SessionStats): number => s.bytesToInitiator + s.bytesToResponder;
  console.log(`rbsr settle recent 1000+1000 on N=100000: ${settled.rounds} round trips, ${bytes(settled)} B (plain: ${plain.rounds}, ${bytes(plain)} B)`);
  assert.ok(settled.rounds <= 2, `expected <= 2 round trips, got ${settled.rounds}`);
  // Each differing id crosses about once: the initiator's in its id lists, the responder's not at all.
  assert.ok(bytes(settled) < 0.6 * bytes(plain), `settled ${bytes(settled)} B vs plain ${bytes(plain)} B`);

  const behind = makeItems(20_000, { seed: 3 });
  const s = run(behind.slice(0, 5), behind, { settleMax: 2048 });
  assertExact(s, behind.slice(0, 5), behind, 'behind 19995');
  console.log(`rbsr settle 5 vs 20000: ${s.rounds} round trips, ${bytes(s)} B`);
  assert.ok(s.rounds <= 3, `expected <= 3 round trips, got ${s.rounds}`);
});

void test('in sync with settlement: one round trip, the reply is the version byte', () => {
  const items = makeItems(5000, { seed: 9 });
  const ini = new Reconciler(new MemoryItemSource(items), { settleMax: 64 });
  const res = new Reconciler(new MemoryItemSource(items), { settleMax: 64 });
  const r = res.reconcile(ini.initiate());
  assert.equal(r.reply!.length, 1);
  assert.deepEqual(r.needIndexes, []);
  const step = ini.reconcile(r.reply!, r.needIndexes);
  assert.equal(step.done, true);
});

void test('need indexes name the ids of the initiator\'s last frame; bad ones are RBSR_BAD_FRAME and leave it waiting', () => {
  const items = makeItems(10, { seed: 11 });
  const ini = new Reconciler(new MemoryItemSource(items), { settleMax: 64 });
  const res = new Reconciler(new MemoryItemSource(items.slice(0, 7)), { settleMax: 64 });
  const first = ini.initiate(); // 10 items <= idListThreshold: one id list
  const r = res.reconcile(first);
  assert.deepEqual(r.needIndexes, [7, 8, 9]);
  assert.deepEqual(r.need.map(idKey), items.slice(7).map((it) => idKey(it.id)));
  assert.deepEqual(r.have, []);
  for (const bad of [[10], [8, 7], [-1], [1.5]]) {
    assert.throws(() => ini.reconcile(r.reply!, bad), (e: unknown) => e instanceof RbsrError && e.code === 'RBSR_BAD_FRAME', JSON.stringify(bad));
  }
  const step = ini.reconcile(r.reply!, r.needIndexes);
  assert.deepEqual(step.have.map(idKey), items.slice(7).map((it) => idKey(it.id)));
  assert.equal(step.done, true);
  assert.throws(() => res.reconcile(first, [0]), (e: unknown) => e instanceof RbsrError && e.code === 'RBSR_STATE');
});

void test('settleFrameMax caps what one frame settles; the rest is answered the plain way', () => {
  const all = makeItems(3000, { seed: 12 });
  const opts = { settleMax: 500, settleFrameMax: 500, idListThreshold: 8 };
  const ini = new Reconciler(new MemoryItemSource(all.slice(0, 3)), opts);
  const res = new Reconciler(new MemoryItemSource(all), opts);
  // Round 1: 3000 items in the range are above settleMax, so the responder splits.
  const r1 = res.reconcile(ini.initiate());
  assert.equal(r1.have.length, 0);
  // Round 2: the initiator lists its (few) ids per sub-range of about 190 items: the responder
  // settles sub-ranges while the frame's total stays within 500 items, and splits the rest.
  const step = ini.reconcile(r1.reply!, r1.needIndexes);
  const r2 = res.reconcile(step.reply!);
  assert.ok(r2.have.length > 0 && r2.have.length <= 500, `settled ${r2.have.length}`);
  assert.ok(r2.reply!.length > 1, 'what was not settled is answered with fingerprints');
  assert.throws(() => new Reconciler(new MemoryItemSource([]), { settleMax: 10, settleFrameMax: 5 }), (e: unknown) => e instanceof RbsrError && e.code === 'RBSR_CONFIG');
});
