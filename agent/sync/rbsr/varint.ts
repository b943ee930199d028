// Unsigned LEB128 varints limited to 2^53 - 1, so every value stays an exact JS number
// (48-bit HLC milliseconds plus one fit easily). Arithmetic instead of bit operators,
// because `>>>` and `|` truncate to 32 bits.
import { badFrame } from './errors.ts';

/** Longest accepted encoding: 8 groups of 7 bits = 56 bits > 53. */
const MAX_VARINT_BYTES = 8;

export function varintLength(value: number): number {
  let n = 1;
  let v = value;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

export function encodeVarint(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`varint must be a safe non-negative integer, got ${value}`);
  }
  const out = Buffer.allocUnsafe(varintLength(value));
  let v = value;
  let i = 0;
  while (v >= 0x80) {
    out[i++] = (v % 0x80) + 0x80;
    v = Math.floor(v / 0x80);
  }
  out[i] = v;
  return out;
}

/**
 * Decodes a varint at `offset`. Rejects truncation, values above 2^53 - 1 and
 * non-minimal encodings (a trailing zero group), so each value has exactly one encoding.
 */
export function decodeVarint(buf: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const pos = offset + i;
    if (pos >= buf.length) throw badFrame('truncated varint', offset);
    const byte = buf[pos]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (byte === 0 && i > 0) throw badFrame('non-minimal varint', offset);
      if (!Number.isSafeInteger(value)) throw badFrame('varint above 2^53-1', offset);
      return { value, next: pos + 1 };
    }
    scale *= 0x80;
  }
  throw badFrame(`varint longer than ${MAX_VARINT_BYTES} bytes`, offset);
}
