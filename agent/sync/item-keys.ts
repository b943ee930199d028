// Comparisons and 256-bit sums over items held in flat arrays (times in typed arrays, ids
// packed 32 bytes apiece), so the ledger's item index keeps no object per event.
import type { Bound } from './rbsr/item.ts';
import { SUM_WORDS } from './rbsr/fingerprint.ts';

/** Item (ms, c, ids[off..off+32]) against a bound: negative below it, >= 0 at or above it. */
export function compareToBound(ms: number, c: number, ids: Buffer, off: number, bound: Bound): number {
  if (ms !== bound.ts.ms) return ms < bound.ts.ms ? -1 : 1;
  if (c !== bound.ts.c) return c < bound.ts.c ? -1 : 1;
  const len = bound.prefix.length;
  // A prefix is padded with zero bytes, which no id byte is below: equal leading bytes mean >=.
  return ids.compare(bound.prefix, 0, len, off, off + len);
}

/** Item a against item b, both given by time and a 32-byte id view. */
export function compareKeys(aMs: number, aC: number, aId: Buffer, bMs: number, bC: number, bId: Buffer): number {
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aC !== bC) return aC < bC ? -1 : 1;
  return Buffer.compare(aId, bId);
}

/** out[oi..] = a[ai..] + b[bi..] mod 2^256. */
export function addSums(out: Uint32Array, oi: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number): void {
  let carry = 0;
  for (let w = 0; w < SUM_WORDS; w++) {
    const s = a[ai + w]! + b[bi + w]! + carry;
    out[oi + w] = s >>> 0;
    carry = s >= 0x100000000 ? 1 : 0;
  }
}
