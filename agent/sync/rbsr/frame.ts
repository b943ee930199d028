// Frame codec. Grammar (docs/sync-protocol.md, "Frame grammar"):
//   frame = version:u8 range*        range = bound mode payload
//   bound = varint(0)                                   -- above every item
//         | varint(msDelta + 1) varint(c or cDelta) varint(len) prefix[len]
//   mode  = 0 Skip | 1 Fingerprint fp[16] | 2 IdList varint(n) id[32]*n
// Ranges are contiguous: each starts where the previous ended (the first at the minimum)
// and only the upper bound is sent. Times are deltas from the previous bound's time.
import { RbsrError, badFrame } from './errors.ts';
import { type Bound, type Hlc, ID_BYTES, MAX_BOUND, MAX_COUNTER, MAX_MS, MIN_BOUND, compareBounds, isMaxBound } from './item.ts';
import { FINGERPRINT_BYTES } from './fingerprint.ts';
import { decodeVarint, encodeVarint } from './varint.ts';

export const PROTOCOL_VERSION = 0x01;

export const Mode = { Skip: 0, Fingerprint: 1, IdList: 2 } as const;

export type Range =
  | { readonly upper: Bound; readonly mode: 'skip' }
  | { readonly upper: Bound; readonly mode: 'fingerprint'; readonly fingerprint: Buffer }
  | { readonly upper: Bound; readonly mode: 'idlist'; readonly ids: readonly Buffer[] };

const ZERO_HLC: Hlc = MIN_BOUND.ts;

export function encodeBound(b: Bound, prev: Hlc, out: Buffer[]): void {
  if (isMaxBound(b)) {
    out.push(encodeVarint(0));
    return;
  }
  const msDelta = b.ts.ms - prev.ms;
  if (msDelta < 0) throw new RangeError('bounds must be encoded in ascending order');
  out.push(encodeVarint(msDelta + 1));
  out.push(encodeVarint(msDelta === 0 ? b.ts.c - prev.c : b.ts.c));
  out.push(encodeVarint(b.prefix.length), b.prefix);
}

/** Builds one frame; supports rolling back a partly written chunk when it would not fit. */
export class FrameWriter {
  private parts: Buffer[] = [Buffer.from([PROTOCOL_VERSION])];
  private bytes = 1;
  private prev: Hlc = ZERO_HLC;
  private pendingSkip: Bound | undefined;
  private content = 0;

  get length(): number {
    return this.bytes;
  }

  /** True when at least one non-Skip range was written. */
  get hasContent(): boolean {
    return this.content > 0;
  }

  /** Extends a run of Skip ranges; it is written only if a non-Skip range follows. */
  skip(upper: Bound): void {
    this.pendingSkip = upper;
  }

  add(range: Range): void {
    if (range.mode === 'skip') {
      this.skip(range.upper);
      return;
    }
    if (this.pendingSkip) {
      const s = this.pendingSkip;
      this.pendingSkip = undefined;
      this.writeRange({ upper: s, mode: 'skip' });
    }
    this.writeRange(range);
  }

  mark(): WriterMark {
    return { parts: this.parts.length, bytes: this.bytes, prev: this.prev, pendingSkip: this.pendingSkip, content: this.content };
  }

  rollback(m: WriterMark): void {
    this.parts.length = m.parts;
    this.bytes = m.bytes;
    this.prev = m.prev;
    this.pendingSkip = m.pendingSkip;
    this.content = m.content;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts, this.bytes);
  }

  private writeRange(range: Range): void {
    const out: Buffer[] = [];
    encodeBound(range.upper, this.prev, out);
    if (!isMaxBound(range.upper)) this.prev = range.upper.ts;
    switch (range.mode) {
      case 'skip':
        out.push(encodeVarint(Mode.Skip));
        break;
      case 'fingerprint':
        out.push(encodeVarint(Mode.Fingerprint), range.fingerprint);
        this.content++;
        break;
      case 'idlist':
        out.push(encodeVarint(Mode.IdList), encodeVarint(range.ids.length), ...range.ids);
        this.content++;
        break;
    }
    for (const b of out) {
      this.parts.push(b);
      this.bytes += b.length;
    }
  }
}

export interface WriterMark {
  readonly parts: number;
  readonly bytes: number;
  readonly prev: Hlc;
  readonly pendingSkip: Bound | undefined;
  readonly content: number;
}

/**
 * Decodes a whole frame. Every count is checked against the bytes left before anything
 * is allocated, and every step consumes at least one byte, so a hostile frame costs at
 * most O(frame length) time and memory. Ids are views into `buf`.
 */
export function decodeFrame(buf: Buffer): Range[] {
  if (buf.length === 0) throw badFrame('empty frame, expected a version byte', 0);
  if (buf[0] !== PROTOCOL_VERSION) {
    throw new RbsrError('RBSR_VERSION', `rbsr protocol version ${buf[0]} not supported, expected ${PROTOCOL_VERSION}`);
  }
  const ranges: Range[] = [];
  let pos = 1;
  let prev: Hlc = ZERO_HLC;
  let lower: Bound = MIN_BOUND;
  while (pos < buf.length) {
    if (isMaxBound(lower)) throw badFrame('range after the bound at infinity', pos);
    const start = pos;
    const b = decodeBound(buf, pos, prev);
    pos = b.next;
    if (compareBounds(b.bound, lower) <= 0) throw badFrame('bound not above the previous bound', start);
    if (!isMaxBound(b.bound)) prev = b.bound.ts;
    lower = b.bound;
    const m = decodeVarint(buf, pos);
    pos = m.next;
    switch (m.value) {
      case Mode.Skip:
        ranges.push({ upper: b.bound, mode: 'skip' });
        break;
      case Mode.Fingerprint:
        if (buf.length - pos < FINGERPRINT_BYTES) throw badFrame('truncated fingerprint', pos);
        ranges.push({ upper: b.bound, mode: 'fingerprint', fingerprint: buf.subarray(pos, pos + FINGERPRINT_BYTES) });
        pos += FINGERPRINT_BYTES;
        break;
      case Mode.IdList: {
        const n = decodeVarint(buf, pos);
        pos = n.next;
        if (n.value > (buf.length - pos) / ID_BYTES) {
          throw badFrame(`id list claims ${n.value} ids but only ${buf.length - pos} bytes remain`, pos);
        }
        const ids: Buffer[] = new Array<Buffer>(n.value);
        for (let i = 0; i < n.value; i++) ids[i] = buf.subarray(pos + i * ID_BYTES, pos + (i + 1) * ID_BYTES);
        pos += n.value * ID_BYTES;
        ranges.push({ upper: b.bound, mode: 'idlist', ids });
        break;
      }
      default:
        throw badFrame(`unknown mode ${m.value}, expected 0 (Skip), 1 (Fingerprint) or 2 (IdList)`, m.next - 1);
    }
  }
  return ranges;
}

function decodeBound(buf: Buffer, at: number, prev: Hlc): { bound: Bound; next: number } {
  const msField = decodeVarint(buf, at);
  if (msField.value === 0) return { bound: MAX_BOUND, next: msField.next };
  const ms = prev.ms + msField.value - 1;
  if (ms > MAX_MS) throw badFrame(`bound time ${ms} ms above 2^48-1`, at);
  const cField = decodeVarint(buf, msField.next);
  const c = ms === prev.ms ? prev.c + cField.value : cField.value;
  if (c > MAX_COUNTER) throw badFrame(`bound counter ${c} above 65535`, msField.next);
  const len = decodeVarint(buf, cField.next);
  if (len.value > ID_BYTES) throw badFrame(`bound id prefix of ${len.value} bytes, at most ${ID_BYTES}`, cField.next);
  if (len.next + len.value > buf.length) throw badFrame('truncated bound id prefix', len.next);
  const prefix = buf.subarray(len.next, len.next + len.value);
  return { bound: { ts: { ms, c }, prefix }, next: len.next + len.value };
}
