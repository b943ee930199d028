// The costs the sync design relies on, counted (not timed) on 100,000 shared items:
// an in-sync check, a partition's worth of recent differences, scattered differences,
// and the effect of the frame size limit. Figures are printed for the record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { Reconciler, type ReconcilerOptions } from '../../agent/sync/rbsr/reconciler.ts';
import { type SessionStats, reconcileInProcess } from '../../agent/sync/rbsr/loopback.ts';
import type { Item } from '../../agent/sync/rbsr/item.ts';
import { idKey, makeItems, seededRandom } from '../../agent/sync/rbsr/testkit.ts';

const N = 100_000;
const common = makeItems(N, { seed: 1, label: 'common' });
const lastMs = common[N - 1]!.ts.ms;

function session(a: Item[], b: Item[], opts: ReconcilerOptions = {}): SessionStats {
  return reconcileInProcess(new Reconciler(new MemoryItemSource(a), opts), new Reconciler(new MemoryItemSource(b), opts));
}

function total(s: SessionStats): number {
  return s.bytesToResponder + s.bytesToInitiator;
}

function report(name: string, s: SessionStats, missing: number): void {
  const ratio = missing > 0 ? ` ratio ${(total(s) / (missing * 32)).toFixed(3)} of ${missing} missing ids x 32 B` : '';
  console.log(`rbsr ${name}: ${s.rounds} round trip(s), ${s.bytesToResponder} B up + ${s.bytesToInitiator} B down = ${total(s)} B, largest frame ${s.largestFrame} B${ratio}`);
}

/** Recent differences: `k` new items on each side, interleaved in time after all shared ones. */
function recentSplit(k: number, seed: number): { a: Item[]; b: Item[]; aOnly: Item[]; bOnly: Item[] } {
  const fresh = makeItems(2 * k, { seed, startMs: lastMs + 5, label: 'recent' });
  const rnd = seededRandom(seed);
  const aOnly: Item[] = [];
  const bOnly: Item[] = [];
  for (const it of fresh) {
    if ((rnd() < 0.5 && aOnly.length < k) || bOnly.length >= k) aOnly.push(it);
    else bOnly.push(it);
  }
  return { a: [...common, ...aOnly], b: [...common, ...bOnly], aOnly, bOnly };
}

function assertExact(s: SessionStats, aOnly: Item[], bOnly: Item[]): void {
  assert.deepEqual(s.have.map(idKey).sort(), aOnly.map((it) => idKey(it.id)).sort());
  assert.deepEqual(s.need.map(idKey).sort(), bOnly.map((it) => idKey(it.id)).sort());
}

void test('in sync, N=100,000: one round trip, a few hundred bytes', () => {
  const s = session(common, common);
  report('in sync N=100000', s, 0);
  assert.equal(s.rounds, 1);
  assert.ok(total(s) < 600, `expected < 600 bytes, got ${total(s)}`);
  assert.equal(s.have.length + s.need.length, 0);
});

void test('1,000 + 1,000 recent differences: <= 2 round trips, bytes close to the missing ids', () => {
  const { a, b, aOnly, bOnly } = recentSplit(1000, 2);
  const s = session(a, b);
  report('recent 1000+1000 on N=100000', s, 2000);
  assertExact(s, aOnly, bOnly);
  assert.ok(s.rounds <= 2, `expected <= 2 round trips, got ${s.rounds}`);
  const ratio = total(s) / (2000 * 32);
  // At least the responder's 1,000 ids must cross; little more than both sides' ids may.
  assert.ok(ratio >= 0.5 && ratio <= 1.25, `bytes / missing-id bytes = ${ratio.toFixed(3)}, expected 0.5..1.25`);
});

void test('50 + 50 recent differences (Negentropy reference: 2 round trips, 3.3 KB)', () => {
  const { a, b, aOnly, bOnly } = recentSplit(50, 3);
  const s = session(a, b);
  report('recent 50+50 on N=100000', s, 100);
  assertExact(s, aOnly, bOnly);
  assert.ok(s.rounds <= 2);
  assert.ok(total(s) <= 1.5 * 100 * 32, `got ${total(s)} bytes`);
});

void test('500 + 500 scattered differences converge; frame limit holds; bigger frames mean fewer rounds', () => {
  const all = makeItems(N + 1000, { seed: 5, label: 'scattered' });
  const rnd = seededRandom(7);
  const a: Item[] = [];
  const b: Item[] = [];
  const aOnly: Item[] = [];
  const bOnly: Item[] = [];
  // Exactly 500 on each side, chosen uniformly over the whole history.
  const picks = new Map<number, 1 | 2>();
  while (picks.size < 1000) {
    const i = Math.floor(rnd() * all.length);
    if (!picks.has(i)) picks.set(i, picks.size < 500 ? 1 : 2);
  }
  all.forEach((it, i) => {
    const side = picks.get(i);
    if (side !== 2) a.push(it);
    if (side !== 1) b.push(it);
    if (side === 1) aOnly.push(it);
    if (side === 2) bOnly.push(it);
  });
  const rounds: number[] = [];
  for (const frameSizeLimit of [4096, 65536, 1 << 20]) {
    const s = session(a, b, { frameSizeLimit });
    report(`scattered 500+500 on N=100000, frame limit ${frameSizeLimit}`, s, 1000);
    assertExact(s, aOnly, bOnly);
    assert.ok(s.largestFrame <= frameSizeLimit, `frame ${s.largestFrame} > ${frameSizeLimit}`);
    rounds.push(s.rounds);
  }
  assert.ok(rounds[0]! > rounds[1]! && rounds[1]! > rounds[2]!, `rounds should fall as frames grow: ${rounds.join(', ')}`);
  assert.ok(rounds[1]! <= 12, `64 KiB frames: expected <= 12 round trips, got ${rounds[1]}`);
  assert.ok(rounds[2]! <= 6, `1 MiB frames: expected <= 6 round trips, got ${rounds[2]}`);
});

void test('one side empty: the other side learns it has everything', () => {
  const s = session(common.slice(0, 20_000), []);
  report('initiator 20000 vs empty', s, 20_000);
  assert.equal(s.have.length, 20_000);
  assert.equal(s.need.length, 0);
  const t = session([], common.slice(0, 20_000));
  report('empty vs responder 20000', t, 20_000);
  assert.equal(t.need.length, 20_000);
  // 640 KB of ids in 64 KiB frames needs >= 10 round trips; echoing keeps it near that.
  assert.ok(t.rounds <= 20, `expected <= 20 round trips, got ${t.rounds}`);
});
