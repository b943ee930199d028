// Byte-level tests of the varint and frame codec: exact encodings, round trips, and the
// typed errors for each way a frame can be wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeVarint, encodeVarint } from '../../agent/sync/rbsr/varint.ts';
import { FrameWriter, PROTOCOL_VERSION, type Range, decodeFrame } from '../../agent/sync/rbsr/frame.ts';
import { type Bound, MAX_BOUND, compareBounds, separatingBound } from '../../agent/sync/rbsr/item.ts';
import { RbsrError } from '../../agent/sync/rbsr/errors.ts';

function badFrame(buf: Buffer, what: RegExp): void {
  assert.throws(() => decodeFrame(buf), (e: unknown) => e instanceof RbsrError && e.code === 'RBSR_BAD_FRAME' && what.test(e.message));
}

void test('varint: LEB128 encodings and round trips up to 2^53-1', () => {
  assert.deepEqual(encodeVarint(0), Buffer.from([0]));
  assert.deepEqual(encodeVarint(127), Buffer.from([0x7f]));
  assert.deepEqual(encodeVarint(128), Buffer.from([0x80, 0x01]));
  assert.deepEqual(encodeVarint(300), Buffer.from([0xac, 0x02]));
  for (const v of [1, 255, 16384, 2 ** 32, 2 ** 48, 2 ** 48 + 1, Number.MAX_SAFE_INTEGER]) {
    const e = encodeVarint(v);
    assert.deepEqual(decodeVarint(e, 0), { value: v, next: e.length });
  }
  assert.throws(() => encodeVarint(-1), RangeError);
  assert.throws(() => encodeVarint(2 ** 53), RangeError);
});

void test('varint: truncated, overlong, non-minimal and too large are typed errors', () => {
  for (const bytes of [[0x80], [0xff, 0xff], [0x80, 0x00], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]]) {
    assert.throws(() => decodeVarint(Buffer.from(bytes), 0), (e: unknown) => e instanceof RbsrError && e.code === 'RBSR_BAD_FRAME');
  }
});

const id = (b: number): Buffer => Buffer.alloc(32, b);

void test('frame: round trip keeps bounds, modes, payloads; trailing skips are dropped', () => {
  const b1: Bound = { ts: { ms: 1_700_000_000_000, c: 0 }, prefix: Buffer.alloc(0) };
  const b2: Bound = { ts: { ms: 1_700_000_000_000, c: 3 }, prefix: Buffer.from([0x12, 0x34]) };
  const b3: Bound = { ts: { ms: 1_700_000_000_005, c: 1 }, prefix: Buffer.alloc(0) };
  const ranges: Range[] = [
    { upper: b1, mode: 'fingerprint', fingerprint: Buffer.alloc(16, 7) },
    { upper: b2, mode: 'skip' },
    { upper: b3, mode: 'idlist', ids: [id(1), id(2)] },
    { upper: MAX_BOUND, mode: 'skip' },
  ];
  const w = new FrameWriter();
  for (const r of ranges) w.add(r);
  const buf = w.finish();
  assert.equal(buf[0], PROTOCOL_VERSION);
  const back = decodeFrame(buf);
  assert.equal(back.length, 3);
  assert.deepEqual(back.map((r) => r.mode), ['fingerprint', 'skip', 'idlist']);
  assert.equal(compareBounds(back[1]!.upper, b2), 0);
  assert.equal(compareBounds(back[2]!.upper, b3), 0);
  const third = back[2]!;
  assert.ok(third.mode === 'idlist' && third.ids.length === 2 && third.ids[1]!.equals(id(2)));
});

void test('frame: bound bytes are delta-encoded (same ms: counter delta; new ms: absolute counter)', () => {
  const w = new FrameWriter();
  w.add({ upper: { ts: { ms: 10, c: 5 }, prefix: Buffer.alloc(0) }, mode: 'skip' });
  w.add({ upper: { ts: { ms: 10, c: 7 }, prefix: Buffer.from([0xaa]) }, mode: 'fingerprint', fingerprint: Buffer.alloc(16) });
  w.add({ upper: MAX_BOUND, mode: 'idlist', ids: [] });
  const expected = Buffer.concat([
    Buffer.from([PROTOCOL_VERSION]),
    Buffer.from([11, 5, 0, 0]), // ms 10 -> delta 10 + 1, c 5, no prefix, Skip
    Buffer.from([1, 2, 1, 0xaa, 1]), Buffer.alloc(16), // same ms: c delta 2, 1-byte prefix, Fingerprint
    Buffer.from([0, 2, 0]), // infinity, IdList of 0
  ]);
  assert.deepEqual(w.finish(), expected);
});

void test('separatingBound: shortest bound strictly above prev and at or below next', () => {
  const ts = { ms: 5, c: 0 };
  const prev = { ts, id: Buffer.concat([Buffer.from([1, 2, 3]), Buffer.alloc(29, 0xff)]) };
  const next = { ts, id: Buffer.concat([Buffer.from([1, 2, 4]), Buffer.alloc(29, 0)]) };
  assert.deepEqual(separatingBound(prev, next).prefix, Buffer.from([1, 2, 4]));
  assert.equal(separatingBound({ ts: { ms: 4, c: 9 }, id: id(9) }, next).prefix.length, 0);
});

void test('frame: each malformation names what was wrong', () => {
  badFrame(Buffer.alloc(0), /empty frame/);
  assert.throws(() => decodeFrame(Buffer.from([0x61])), (e: unknown) => e instanceof RbsrError && e.code === 'RBSR_VERSION');
  const v = PROTOCOL_VERSION;
  badFrame(Buffer.from([v, 0x80]), /truncated varint/);
  badFrame(Buffer.from([v, 0, 7]), /unknown mode 7/);
  badFrame(Buffer.from([v, 0, 1, 1, 2]), /truncated fingerprint/);
  badFrame(Buffer.from([v, 0, 2, 100, 1, 2, 3]), /id list claims 100 ids/);
  badFrame(Buffer.from([v, 0, 0, 0, 0]), /after the bound at infinity/);
  badFrame(Buffer.from([v, 1, 0, 0, 0]), /not above the previous bound/);
  badFrame(Buffer.from([v, 5, 0, 0, 0, 1, 0, 0, 0]), /not above the previous bound/);
  badFrame(Buffer.from([v, 2, 0, 33]), /prefix of 33 bytes/);
  badFrame(Buffer.from([v, 2, 0, 3, 1]), /truncated bound id prefix/);
  badFrame(Buffer.concat([Buffer.from([v]), encodeVarint(2 ** 48 + 1), Buffer.from([0, 0, 0])]), /above 2\^48-1/);
  badFrame(Buffer.concat([Buffer.from([v, 2]), encodeVarint(70000), Buffer.from([0, 0])]), /counter 70000/);
});
