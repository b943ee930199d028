// What the reconciler needs from a set of items. The ledger store implements this over
// its (hlc, id) index; MemoryItemSource is the reference implementation. All ranges are
// half-open [lower, upper) in the order of item.ts: by ms, then c, then id bytes.
import type { Bound, Item } from './item.ts';

export interface ItemSource {
  /** Number of items in the whole set. */
  size(): number;
  /** Number of items in [lower, upper). */
  count(lower: Bound, upper: Bound): number;
  /**
   * Fingerprint of the items in [lower, upper): see fingerprint.ts (fingerprintOf).
   * Called for every range of every frame, so it should cost O(log n), not O(range).
   */
  fingerprint(lower: Bound, upper: Bound): Buffer;
  /** Ids of the items in [lower, upper), ascending. Called only for small ranges. */
  ids(lower: Bound, upper: Bound): Buffer[];
  /**
   * The items at the given 0-based positions inside [lower, upper), in the order given.
   * Positions are ascending and < count(lower, upper). Used to place split bounds.
   */
  itemsAt(lower: Bound, upper: Bound, positions: readonly number[]): Item[];
}
