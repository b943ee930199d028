// Deterministic data for reconciliation tests and benches: a seeded PRNG and generators
// of HLC-ordered items. Shared by test/sync/rbsr*.test.ts and later the sync-layer tests.
import { createHash } from 'node:crypto';
import type { Item } from './item.ts';

/** mulberry32: tiny, fast, good enough to pick test data; never for keys. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fake event id: SHA-256 of a label, so ids look like the real ones. */
export function fakeId(label: string): Buffer {
  return createHash('sha256').update(label).digest();
}

/**
 * `count` items with increasing HLC times starting at `startMs`; each step advances the
 * clock by 0..maxGapMs ms, and a zero gap bumps the logical counter, as an HLC does.
 */
export function makeItems(count: number, opts: { seed: number; startMs?: number; maxGapMs?: number; label?: string }): Item[] {
  const rnd = seededRandom(opts.seed);
  const maxGap = opts.maxGapMs ?? 3;
  let ms = opts.startMs ?? 1_700_000_000_000;
  let c = 0;
  const out: Item[] = [];
  for (let i = 0; i < count; i++) {
    const gap = Math.floor(rnd() * (maxGap + 1));
    if (gap === 0 && c < 0xffff) c++;
    else {
      ms += Math.max(gap, 1);
      c = 0;
    }
    out.push({ ts: { ms, c }, id: fakeId(`${opts.label ?? 'item'}:${opts.seed}:${i}`) });
  }
  return out;
}

export function idKey(id: Buffer): string {
  return id.toString('hex');
}
