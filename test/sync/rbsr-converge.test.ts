// Property tests: for seeded random pairs of sets, a session ends with have = A \ B and
// need = B \ A exactly (no duplicates), and no frame exceeds its limit. The seed is in
// every failure message; rerun one case with GDO_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { Reconciler, type ReconcilerOptions } from '../../agent/sync/rbsr/reconciler.ts';
import { reconcileInProcess } from '../../agent/sync/rbsr/loopback.ts';
import type { Item } from '../../agent/sync/rbsr/item.ts';
import { fakeId, idKey, makeItems, seededRandom } from '../../agent/sync/rbsr/testkit.ts';

type Pattern = 'random' | 'recent' | 'oldest' | 'clustered' | 'one-empty' | 'identical' | 'same-time' | 'disjoint';
const PATTERNS: Pattern[] = ['random', 'recent', 'oldest', 'clustered', 'one-empty', 'identical', 'same-time', 'disjoint'];
const SIZES = [0, 1, 2, 5, 31, 32, 33, 100, 257, 1000, 5000];
const SCALE = Number(process.env['GDO_FUZZ_SCALE'] ?? 1);

function universe(size: number, pattern: Pattern, rnd: () => number, seed: number): Item[] {
  if (pattern === 'same-time') {
    // Everything at one or two HLC instants: bounds must separate items by id prefix.
    return Array.from({ length: size }, (_, i) => ({ ts: { ms: 5_000, c: rnd() < 0.5 ? 0 : 1 }, id: fakeId(`st:${seed}:${i}`) }));
  }
  return makeItems(size, { seed, maxGapMs: Math.floor(rnd() * 4) });
}

/** Assigns each item to A only, B only or both, following the pattern. */
function splitSets(all: Item[], pattern: Pattern, rnd: () => number): { a: Item[]; b: Item[] } {
  const a: Item[] = [];
  const b: Item[] = [];
  const n = all.length;
  const pDiff = [0.01, 0.1, 0.5][Math.floor(rnd() * 3)]!;
  const cut = Math.floor(n * (1 - pDiff));
  let runSide = 0;
  all.forEach((it, i) => {
    let side: 0 | 1 | 2 = 0; // 0 both, 1 A only, 2 B only
    switch (pattern) {
      case 'random':
      case 'same-time':
        side = rnd() < pDiff ? (rnd() < 0.5 ? 1 : 2) : 0;
        break;
      case 'recent':
        side = i >= cut ? (rnd() < 0.5 ? 1 : 2) : 0;
        break;
      case 'oldest':
        side = i < n - cut ? (rnd() < 0.5 ? 1 : 2) : 0;
        break;
      case 'clustered':
        if (rnd() < 0.02) runSide = Math.floor(rnd() * 3);
        side = runSide as 0 | 1 | 2;
        break;
      case 'one-empty':
        side = 1;
        break;
      case 'identical':
        side = 0;
        break;
      case 'disjoint':
        side = rnd() < 0.5 ? 1 : 2;
        break;
    }
    if (side !== 2) a.push(it);
    if (side !== 1) b.push(it);
  });
  return rnd() < 0.5 ? { a, b } : { a: b, b: a };
}

function randomOptions(rnd: () => number): ReconcilerOptions {
  const r = rnd();
  if (r < 0.5) return {};
  if (r < 0.7) return { frameSizeLimit: 4096 };
  return {
    frameSizeLimit: [4096, 8192, 65536, 1 << 20][Math.floor(rnd() * 4)]!,
    buckets: 2 + Math.floor(rnd() * 15),
    idListThreshold: 1 + Math.floor(rnd() * 40),
  };
}

function runCase(seed: number): void {
  const rnd = seededRandom(seed);
  const size = SIZES[Math.floor(rnd() * SIZES.length)]!;
  const pattern = PATTERNS[Math.floor(rnd() * PATTERNS.length)]!;
  const { a, b } = splitSets(universe(size, pattern, rnd, seed), pattern, rnd);
  const optsA = randomOptions(rnd);
  const optsB = rnd() < 0.7 ? optsA : randomOptions(rnd);
  const label = `seed=${seed} size=${size} pattern=${pattern} |A|=${a.length} |B|=${b.length} optsA=${JSON.stringify(optsA)} optsB=${JSON.stringify(optsB)}`;
  try {
    const stats = reconcileInProcess(new Reconciler(new MemoryItemSource(a), optsA), new Reconciler(new MemoryItemSource(b), optsB), 5000);
    const inA = new Set(a.map((it) => idKey(it.id)));
    const inB = new Set(b.map((it) => idKey(it.id)));
    const have = stats.have.map(idKey).sort();
    const need = stats.need.map(idKey).sort();
    assert.deepEqual(have, [...inA].filter((k) => !inB.has(k)).sort(), 'have must be A \\ B');
    assert.deepEqual(need, [...inB].filter((k) => !inA.has(k)).sort(), 'need must be B \\ A');
    const limit = Math.max(optsA.frameSizeLimit ?? 65536, optsB.frameSizeLimit ?? 65536);
    assert.ok(stats.largestFrame <= limit, `frame of ${stats.largestFrame} bytes above limit ${limit}`);
    if (have.length === 0 && need.length === 0) assert.equal(stats.rounds, 1, 'equal sets take one round trip');
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`rbsr convergence failed (${label}); rerun with GDO_SEED=${seed}\n${msg}`, { cause: e });
  }
}

void test('two random sets converge to exactly their symmetric difference', () => {
  const only = process.env['GDO_SEED'];
  if (only !== undefined) {
    runCase(Number(only));
    return;
  }
  const cases = Math.round(400 * SCALE);
  for (let i = 0; i < cases; i++) runCase(1_000 + i);
});

void test('every pattern and size converges with default options', () => {
  let seed = 90_000;
  for (const pattern of PATTERNS) {
    for (const size of [3, 40, 700]) {
      const rnd = seededRandom(++seed);
      const { a, b } = splitSets(universe(size, pattern, rnd, seed), pattern, rnd);
      const stats = reconcileInProcess(new Reconciler(new MemoryItemSource(a)), new Reconciler(new MemoryItemSource(b)));
      const diff = new Set([...a, ...b].map((it) => idKey(it.id))).size * 2 - a.length - b.length;
      assert.equal(stats.have.length + stats.need.length, diff, `seed=${seed} pattern=${pattern} size=${size}`);
    }
  }
});
