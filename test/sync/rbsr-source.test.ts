// MemoryItemSource against a brute-force model: counts, fingerprints, id lists and item
// positions for random bounds, including items that share a timestamp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { IdSum, fingerprintOf } from '../../agent/sync/rbsr/fingerprint.ts';
import { type Bound, type Item, MAX_BOUND, MIN_BOUND, compareItemToBound, compareItems } from '../../agent/sync/rbsr/item.ts';
import { fakeId, seededRandom } from '../../agent/sync/rbsr/testkit.ts';
import { RbsrError } from '../../agent/sync/rbsr/errors.ts';

function inRange(it: Item, lo: Bound, hi: Bound): boolean {
  return compareItemToBound(it, lo) >= 0 && compareItemToBound(it, hi) < 0;
}

void test('fingerprint: sum wraps mod 2^256 and count is part of the hash', () => {
  const ones = Buffer.alloc(32, 0xff);
  const one = Buffer.alloc(32);
  one[0] = 1;
  const s = new IdSum().add(ones).add(one); // 2^256 - 1 + 1 = 0 mod 2^256
  assert.deepEqual([...s.words], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.ok(!s.fingerprint().equals(new IdSum().fingerprint()), 'count 2 vs 0 must differ');
  assert.ok(s.fingerprint().equals(fingerprintOf(new Uint32Array(8), 2)));
  assert.equal(s.fingerprint().length, 16);
});

void test('MemoryItemSource matches a brute-force model on random bounds', () => {
  const seed = 4242;
  const rnd = seededRandom(seed);
  const items: Item[] = [];
  for (let i = 0; i < 600; i++) {
    // Few distinct times so many items share a timestamp and bounds need id prefixes.
    items.push({ ts: { ms: 1000 + Math.floor(rnd() * 20), c: Math.floor(rnd() * 3) }, id: fakeId(`s${i}`) });
  }
  const src = new MemoryItemSource([...items, ...items.slice(0, 50)]); // duplicates ignored
  const sorted = items.slice().sort(compareItems);
  assert.equal(src.size(), 600);
  const bounds: Bound[] = [MIN_BOUND, MAX_BOUND];
  for (let i = 0; i < 200; i++) {
    const it = sorted[Math.floor(rnd() * sorted.length)]!;
    bounds.push({ ts: it.ts, prefix: it.id.subarray(0, Math.floor(rnd() * 4)) });
    bounds.push({ ts: { ms: 995 + Math.floor(rnd() * 30), c: Math.floor(rnd() * 4) }, prefix: Buffer.alloc(0) });
  }
  for (let i = 0; i < 400; i++) {
    const lo = bounds[Math.floor(rnd() * bounds.length)]!;
    const hi = bounds[Math.floor(rnd() * bounds.length)]!;
    const want = sorted.filter((it) => inRange(it, lo, hi));
    const sum = new IdSum();
    for (const it of want) sum.add(it.id);
    assert.equal(src.count(lo, hi), want.length, `seed ${seed} case ${i}`);
    assert.ok(src.fingerprint(lo, hi).equals(sum.fingerprint()), `seed ${seed} case ${i}`);
    assert.deepEqual(src.ids(lo, hi), want.map((it) => it.id));
    if (want.length > 0) {
      const p = Math.floor(rnd() * want.length);
      assert.equal(src.itemsAt(lo, hi, [p])[0], want[p]);
    }
  }
});

void test('MemoryItemSource rejects items that are not (48-bit ms, 16-bit c, 32-byte id)', () => {
  const src = new MemoryItemSource();
  const bad: Item[] = [
    { ts: { ms: -1, c: 0 }, id: fakeId('a') },
    { ts: { ms: 2 ** 48, c: 0 }, id: fakeId('a') },
    { ts: { ms: 1, c: 65536 }, id: fakeId('a') },
    { ts: { ms: 1, c: 0 }, id: Buffer.alloc(31) },
  ];
  for (const it of bad) assert.throws(() => src.insert(it), (e: unknown) => e instanceof RbsrError && e.code === 'RBSR_BAD_ITEM');
});
