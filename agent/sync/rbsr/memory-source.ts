// In-memory ItemSource: a sorted array searched by bisection plus a prefix-sum table of
// ids, so count and fingerprint of any range are O(log n) after an O(n) build.
import { type Bound, type Item, checkItem, compareItemToBound, compareItems } from './item.ts';
import type { ItemSource } from './item-source.ts';
import { SUM_WORDS, addId, fingerprintOf, subtractSums } from './fingerprint.ts';

export class MemoryItemSource implements ItemSource {
  private items: Item[] = [];
  private pending: Item[] = [];
  /** prefix[i * 8 .. i * 8 + 7] = sum of ids of items[0..i). Rebuilt lazily after inserts. */
  private prefix = new Uint32Array(SUM_WORDS);

  constructor(items: Iterable<Item> = []) {
    for (const item of items) this.insert(item);
  }

  /** Adds an item; duplicates of an existing (ts, id) are ignored. */
  insert(item: Item): void {
    checkItem(item);
    this.pending.push(item);
  }

  size(): number {
    this.settle();
    return this.items.length;
  }

  count(lower: Bound, upper: Bound): number {
    const [lo, hi] = this.span(lower, upper);
    return hi - lo;
  }

  fingerprint(lower: Bound, upper: Bound): Buffer {
    const [lo, hi] = this.span(lower, upper);
    return fingerprintOf(subtractSums(this.prefix, hi * SUM_WORDS, this.prefix, lo * SUM_WORDS), hi - lo);
  }

  ids(lower: Bound, upper: Bound): Buffer[] {
    const [lo, hi] = this.span(lower, upper);
    const out: Buffer[] = [];
    for (let i = lo; i < hi; i++) out.push(this.items[i]!.id);
    return out;
  }

  itemsAt(lower: Bound, upper: Bound, positions: readonly number[]): Item[] {
    const [lo, hi] = this.span(lower, upper);
    return positions.map((p) => {
      if (!Number.isInteger(p) || p < 0 || lo + p >= hi) {
        throw new RangeError(`position ${p} outside a range of ${hi - lo} items`);
      }
      return this.items[lo + p]!;
    });
  }

  /** All items in order (a copy). */
  all(): Item[] {
    this.settle();
    return this.items.slice();
  }

  private span(lower: Bound, upper: Bound): [number, number] {
    this.settle();
    const lo = this.lowerIndex(lower);
    const hi = Math.max(lo, this.lowerIndex(upper));
    return [lo, hi];
  }

  /** Index of the first item >= bound. */
  private lowerIndex(bound: Bound): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareItemToBound(this.items[mid]!, bound) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private settle(): void {
    if (this.pending.length === 0) return;
    const merged = this.items.concat(this.pending).sort(compareItems);
    this.pending = [];
    const items: Item[] = [];
    for (const it of merged) {
      if (items.length > 0 && compareItems(items[items.length - 1]!, it) === 0) continue;
      items.push(it);
    }
    this.items = items;
    const prefix = new Uint32Array((items.length + 1) * SUM_WORDS);
    for (let i = 0; i < items.length; i++) {
      prefix.copyWithin((i + 1) * SUM_WORDS, i * SUM_WORDS, (i + 1) * SUM_WORDS);
      addId(prefix, (i + 1) * SUM_WORDS, items[i]!.id);
    }
    this.prefix = prefix;
  }
}
