// Incremental PN532 frame parser (UM0701-02 §6.2.1). Bytes arrive in arbitrary chunks from a UART:
// frames may be split across reads, preceded by garbage or by several preamble zeros, and may
// carry bad checksums. A frame is only emitted once its LCS and DCS are both right; on a bad
// checksum the parser drops the candidate and resynchronises one byte after its start code, so a
// corrupted LEN can never swallow the frame that follows.
import { MAX_EXTENDED_LEN, TFI_APP_ERROR } from './frame.ts';

export type ParsedFrame =
  | { kind: 'ack' }
  | { kind: 'nack' }
  /** Application error frame, §6.2.1.5. */
  | { kind: 'app-error' }
  /** Information frame: `body` is PD0..PDn (command or response code first). */
  | { kind: 'data'; tfi: number; body: Buffer; extended: boolean }
  /** A start code was found but LCS, DCS or LEN was wrong: the candidate was dropped. */
  | { kind: 'invalid'; reason: 'lcs' | 'dcs' | 'length' };

export interface FrameParserStats {
  frames: number;
  invalid: number;
  /** Bytes skipped while looking for a start code (garbage, preamble zeros, postambles). */
  skippedBytes: number;
  /** The skipped bytes that were not 00: preambles and postambles are zeros, so these are noise. */
  garbageBytes: number;
}

const EMPTY = Buffer.alloc(0);

/** `start`: where the start code was found; `next`: where parsing continues. */
type Step = { start: number; next: number; frame: ParsedFrame } | 'need-more';

export class FrameParser {
  readonly stats: FrameParserStats = { frames: 0, invalid: 0, skippedBytes: 0, garbageBytes: 0 };
  private pending: Buffer = EMPTY;
  private readonly onFrame: (frame: ParsedFrame) => void;

  constructor(onFrame: (frame: ParsedFrame) => void) {
    this.onFrame = onFrame;
  }

  /** Bytes held back because they may be the start of a frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Forgets any partial frame (used before a new command: older bytes cannot answer it). */
  reset(): void {
    this.pending = EMPTY;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    for (;;) {
      const step = parseAt(data, pos);
      if (step === 'need-more') break;
      skipped(data, pos, step.start, this.stats);
      pos = step.next;
      if (step.frame.kind === 'invalid') this.stats.invalid++;
      else this.stats.frames++;
      this.onFrame(step.frame);
    }
    // Keep only what can still become a frame; copy, because the caller may reuse its buffer.
    const start = keepFrom(data, pos, this.stats);
    this.pending = start >= data.length ? EMPTY : Buffer.from(data.subarray(start));
  }
}

/** Index of the first 00 FF start code (§6.2.1.1) at or after `from`, or -1. */
function findStartCode(data: Uint8Array, from: number): number {
  for (let i = from; i + 1 < data.length; i++) {
    if (data[i] === 0x00 && data[i + 1] === 0xff) return i;
  }
  return -1;
}

/** Where the unparsed tail begins: garbage without a start code is dropped, a trailing 00 is kept. */
function keepFrom(data: Uint8Array, pos: number, stats: FrameParserStats): number {
  const start = findStartCode(data, pos);
  if (start >= 0) {
    skipped(data, pos, start, stats);
    return start;
  }
  const last = data.length - 1;
  const keep = last >= pos && data[last] === 0x00 ? last : data.length;
  skipped(data, pos, keep, stats);
  return keep;
}

function skipped(data: Uint8Array, from: number, to: number, stats: FrameParserStats): void {
  stats.skippedBytes += to - from;
  for (let i = from; i < to; i++) if (data[i] !== 0x00) stats.garbageBytes++;
}

function parseAt(data: Uint8Array, pos: number): Step {
  const sc = findStartCode(data, pos);
  if (sc < 0) return 'need-more';
  const h = sc + 2; // LEN position
  if (h + 1 >= data.length) return 'need-more';
  const len = data[h]!;
  const lcs = data[h + 1]!;
  if (len === 0x00 && lcs === 0xff) return { start: sc, next: h + 2, frame: { kind: 'ack' } };
  if (len === 0xff && lcs === 0x00) return { start: sc, next: h + 2, frame: { kind: 'nack' } };
  if (len === 0xff && lcs === 0xff) return parseExtended(data, sc, h + 2);
  if (((len + lcs) & 0xff) !== 0) return { start: sc, next: sc + 1, frame: { kind: 'invalid', reason: 'lcs' } };
  if (len === 0) return { start: sc, next: sc + 1, frame: { kind: 'invalid', reason: 'length' } };
  return parseBody(data, sc, h + 2, len, false);
}

/** Extended frame (§6.2.1.2): LENM LENL LCS follow the FF FF marker. */
function parseExtended(data: Uint8Array, sc: number, p: number): Step {
  if (p + 2 >= data.length) return 'need-more';
  const len = (data[p]! << 8) | data[p + 1]!;
  if (((data[p]! + data[p + 1]! + data[p + 2]!) & 0xff) !== 0) {
    return { start: sc, next: sc + 1, frame: { kind: 'invalid', reason: 'lcs' } };
  }
  if (len === 0 || len > MAX_EXTENDED_LEN) return { start: sc, next: sc + 1, frame: { kind: 'invalid', reason: 'length' } };
  return parseBody(data, sc, p + 3, len, true);
}

/** TFI..PDn then DCS (§6.2.1.1): (TFI + sum(PD) + DCS) & 0xFF must be 0. */
function parseBody(data: Uint8Array, sc: number, p: number, len: number, extended: boolean): Step {
  const dcsAt = p + len;
  if (dcsAt >= data.length) return 'need-more';
  let sum = 0;
  for (let i = p; i <= dcsAt; i++) sum += data[i]!;
  if ((sum & 0xff) !== 0) return { start: sc, next: sc + 1, frame: { kind: 'invalid', reason: 'dcs' } };
  const tfi = data[p]!;
  if (tfi === TFI_APP_ERROR && len === 1) return { start: sc, next: dcsAt + 1, frame: { kind: 'app-error' } };
  const body = Buffer.from(data.subarray(p + 1, dcsAt));
  return { start: sc, next: dcsAt + 1, frame: { kind: 'data', tfi, body, extended } };
}
