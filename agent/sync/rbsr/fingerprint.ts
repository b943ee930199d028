// Range fingerprints as in Negentropy: SHA-256(sum of ids mod 2^256, little-endian ||
// varint(count)) truncated to 16 bytes. A sum (unlike a hash chain or XOR of hashes in
// order) is incremental and invertible, so a store can answer any range from prefix sums
// or a counted tree in O(log n), and adding an item is one addition.
// https://github.com/hoytech/negentropy/blob/master/docs/negentropy-protocol-v1.md
import { createHash } from 'node:crypto';
import { encodeVarint } from './varint.ts';

export const FINGERPRINT_BYTES = 16;
/** 256-bit sums are held as 8 little-endian 32-bit words. */
export const SUM_WORDS = 8;

/** Adds the 32-byte id (as a little-endian integer) into `acc` at word offset `at`. */
export function addId(acc: Uint32Array, at: number, id: Uint8Array): void {
  let carry = 0;
  for (let w = 0; w < SUM_WORDS; w++) {
    const o = w * 4;
    const word = id[o]! + id[o + 1]! * 0x100 + id[o + 2]! * 0x10000 + id[o + 3]! * 0x1000000;
    const s = acc[at + w]! + word + carry;
    acc[at + w] = s >>> 0;
    carry = s >= 0x100000000 ? 1 : 0;
  }
}

/** out = a[ai..] - b[bi..] mod 2^256 (out is a fresh 8-word array). */
export function subtractSums(a: Uint32Array, ai: number, b: Uint32Array, bi: number): Uint32Array {
  const out = new Uint32Array(SUM_WORDS);
  let borrow = 0;
  for (let w = 0; w < SUM_WORDS; w++) {
    let d = a[ai + w]! - b[bi + w]! - borrow;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 0x100000000;
    out[w] = d;
  }
  return out;
}

/** Incremental id sum, for stores that keep a running total as events arrive. */
export class IdSum {
  readonly words = new Uint32Array(SUM_WORDS);
  count = 0;

  add(id: Uint8Array): this {
    addId(this.words, 0, id);
    this.count++;
    return this;
  }

  fingerprint(): Buffer {
    return fingerprintOf(this.words, this.count);
  }
}

export function fingerprintOf(sum: Uint32Array, count: number): Buffer {
  const bytes = Buffer.alloc(SUM_WORDS * 4);
  for (let w = 0; w < SUM_WORDS; w++) bytes.writeUInt32LE(sum[w]!, w * 4);
  const h = createHash('sha256').update(bytes).update(encodeVarint(count)).digest();
  return h.subarray(0, FINGERPRINT_BYTES);
}
