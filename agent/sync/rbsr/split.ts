// Where to cut a range whose fingerprints differ and which is too big for an id list.
import { type Bound, separatingBound } from './item.ts';
import type { ItemSource } from './item-source.ts';

/** Cut positions for (up to) `buckets` equal buckets of a range of `count` items. */
export function uniformCuts(count: number, buckets: number): number[] {
  const parts = Math.min(buckets, count);
  const cuts: number[] = [];
  for (let i = 1; i < parts; i++) cuts.push(Math.floor((i * count) / parts));
  return cuts;
}

/**
 * Cut positions for buckets that double in size going back in time from the newest item:
 * `first`, 2*first, 4*first, ... with the oldest bucket taking what is left. Events made
 * during a partition are the newest, so they land in a few small buckets whose size is
 * about the size of the difference, and one more round resolves them. An in-sync set costs
 * the same handful of fingerprints as an even split.
 */
export function recentCuts(count: number, parts: number, first: number): number[] {
  const fromEnd: number[] = [];
  let size = first;
  let covered = 0;
  while (fromEnd.length < parts - 1 && covered + size < count) {
    covered += size;
    fromEnd.push(count - covered);
    size *= 2;
  }
  return fromEnd.reverse();
}

/**
 * The bounds between buckets: for each cut k, the shortest bound separating item k-1
 * from item k. Returned in order, followed by `upper`.
 */
export function cutBounds(source: ItemSource, lower: Bound, upper: Bound, cuts: readonly number[]): Bound[] {
  const positions: number[] = [];
  for (const k of cuts) positions.push(k - 1, k);
  const items = source.itemsAt(lower, upper, positions);
  const bounds: Bound[] = [];
  for (let i = 0; i < cuts.length; i++) bounds.push(separatingBound(items[2 * i]!, items[2 * i + 1]!));
  bounds.push(upper);
  return bounds;
}
