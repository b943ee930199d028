// Items, bounds and their total order. An item is an event's hybrid-logical-clock time
// plus its SHA-256 id; sorting by time first makes the events of a partition contiguous,
// so reconciling them costs about the bytes of their ids (docs/design-notes.md lesson 4).
import { RbsrError } from './errors.ts';

export const ID_BYTES = 32;
/** HLC milliseconds are 48-bit (year 10889); the logical counter is 16-bit. */
export const MAX_MS = 2 ** 48 - 1;
export const MAX_COUNTER = 0xffff;

export interface Hlc {
  readonly ms: number;
  readonly c: number;
}

export interface Item {
  readonly ts: Hlc;
  /** 32-byte SHA-256 event id. */
  readonly id: Buffer;
}

/**
 * A position in the order: every item with (ts, id) < (ts, prefix padded with zero bytes)
 * lies below it. `ts.ms === Infinity` is the bound above every item.
 */
export interface Bound {
  readonly ts: Hlc;
  /** 0..32 bytes; missing bytes count as zeros. */
  readonly prefix: Buffer;
}

const EMPTY = Buffer.alloc(0);
export const MIN_BOUND: Bound = Object.freeze({ ts: Object.freeze({ ms: 0, c: 0 }), prefix: EMPTY });
export const MAX_BOUND: Bound = Object.freeze({ ts: Object.freeze({ ms: Infinity, c: 0 }), prefix: EMPTY });

export function isMaxBound(b: Bound): boolean {
  return b.ts.ms === Infinity;
}

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.c !== b.c) return a.c < b.c ? -1 : 1;
  return 0;
}

export function compareItems(a: Item, b: Item): number {
  return compareHlc(a.ts, b.ts) || Buffer.compare(a.id, b.id);
}

/** Negative when the item lies below the bound, >= 0 when at or above it. */
export function compareItemToBound(item: Item, bound: Bound): number {
  const t = compareHlc(item.ts, bound.ts);
  if (t !== 0) return t;
  const p = bound.prefix;
  // A shorter prefix is padded with zeros, which no id byte is below: equal leading
  // bytes therefore mean item >= bound.
  return Buffer.compare(item.id.subarray(0, p.length), p);
}

export function compareBounds(a: Bound, b: Bound): number {
  const t = compareHlc(a.ts, b.ts);
  if (t !== 0) return t;
  const len = Math.max(a.prefix.length, b.prefix.length);
  return Buffer.compare(padded(a.prefix, len), padded(b.prefix, len));
}

function padded(p: Buffer, len: number): Buffer {
  if (p.length === len) return p;
  const out = Buffer.alloc(len);
  p.copy(out);
  return out;
}

export function boundOfItem(item: Item): Bound {
  return { ts: item.ts, prefix: item.id };
}

/**
 * The shortest bound b with prev < b <= next: the time alone when the times differ,
 * otherwise the id bytes up to and including the first byte where the ids differ.
 */
export function separatingBound(prev: Item, next: Item): Bound {
  if (compareHlc(prev.ts, next.ts) !== 0) return { ts: next.ts, prefix: EMPTY };
  let i = 0;
  while (i < ID_BYTES && prev.id[i] === next.id[i]) i++;
  return { ts: next.ts, prefix: next.id.subarray(0, Math.min(i + 1, ID_BYTES)) };
}

export function checkItem(item: Item): void {
  const { ms, c } = item.ts;
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_MS) {
    throw new RbsrError('RBSR_BAD_ITEM', `item ts.ms must be an integer 0..2^48-1, got ${ms}`);
  }
  if (!Number.isInteger(c) || c < 0 || c > MAX_COUNTER) {
    throw new RbsrError('RBSR_BAD_ITEM', `item ts.c must be an integer 0..65535, got ${c}`);
  }
  if (!Buffer.isBuffer(item.id) || item.id.length !== ID_BYTES) {
    throw new RbsrError('RBSR_BAD_ITEM', `item id must be a 32-byte Buffer, got ${describe(item.id)}`);
  }
}

function describe(v: unknown): string {
  return Buffer.isBuffer(v) ? `${v.length} bytes` : typeof v;
}
