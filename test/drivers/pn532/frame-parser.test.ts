// The incremental parser, byte by byte: split reads, garbage, preamble zeros, bad checksums, extended frames.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_FRAME, APP_ERROR_FRAME, encodeFrame, encodeResponse, NACK_FRAME } from '../../../drivers/pn532/frame.ts';
import { FrameParser, type ParsedFrame } from '../../../drivers/pn532/frame-parser.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const FW_REPLY = hex('00 00 FF 06 FA D5 03 32 01 06 07 E8 00');
const CARD_REPLY = hex('00 00 FF 0F F1 D5 4B 01 01 00 44 00 07 04 A3 12 61 EE 02 80 09 00');

function parseChunks(chunks: Buffer[]): { frames: ParsedFrame[]; parser: FrameParser } {
  const frames: ParsedFrame[] = [];
  const parser = new FrameParser((f) => frames.push(f));
  for (const c of chunks) parser.push(c);
  return { frames, parser };
}
const valid = (frames: ParsedFrame[]): ParsedFrame[] => frames.filter((f) => f.kind !== 'invalid');

void test('a reply delivered in one read', () => {
  const { frames, parser } = parseChunks([ACK_FRAME, FW_REPLY]);
  assert.deepEqual([parser.stats.skippedBytes, parser.stats.garbageBytes], [3, 0], 'preambles and a postamble, no noise');
  frames.shift();
  assert.deepEqual(frames, [{ kind: 'data', tfi: 0xd5, body: hex('03 32 01 06 07'), extended: false }]);
});

void test('ACK + reply split at every possible position and byte by byte', () => {
  const stream = Buffer.concat([ACK_FRAME, CARD_REPLY]);
  for (let cut = 1; cut < stream.length; cut++) {
    const { frames, parser } = parseChunks([stream.subarray(0, cut), stream.subarray(cut)]);
    assert.equal(frames.length, 2, `cut at ${cut}`);
    assert.equal(frames[0]!.kind, 'ack');
    assert.equal(frames[1]!.kind, 'data');
    assert.ok(parser.buffered <= 1, 'at most the postamble 00 is held back');
  }
  const bytes = [...stream].map((b) => Buffer.from([b]));
  const { frames } = parseChunks(bytes);
  assert.deepEqual(frames.map((f) => f.kind), ['ack', 'data']);
});

void test('leading garbage and several preamble zeros are skipped', () => {
  const garbage = hex('FF 13 37 55 55 AA FF FF');
  const zeros = Buffer.alloc(9);
  const { frames, parser } = parseChunks([garbage, zeros, CARD_REPLY.subarray(1)]);
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.kind, 'data');
  assert.ok(parser.stats.skippedBytes >= garbage.length + zeros.length);
  assert.equal(parser.stats.garbageBytes, garbage.length, 'padding zeros are not noise');
});

void test('bad LCS: the candidate is dropped and the next frame still parses', () => {
  const badLcs = Buffer.from(FW_REPLY);
  badLcs[4] = 0xfb;
  const { frames } = parseChunks([badLcs, CARD_REPLY]);
  assert.deepEqual(frames.map((f) => f.kind), ['invalid', 'data']);
  assert.deepEqual(frames[0], { kind: 'invalid', reason: 'lcs' });
});

void test('bad DCS: dropped, and a LEN that reaches into the next frame cannot swallow it', () => {
  const badDcs = Buffer.from(FW_REPLY);
  badDcs[badDcs.length - 2] ^= 0x01;
  const truncated = CARD_REPLY.subarray(0, 12); // LEN says 15, bytes stop early: the next frame follows
  const { frames } = parseChunks([badDcs, truncated, FW_REPLY]);
  assert.equal(frames[0]!.kind, 'invalid');
  const good = valid(frames);
  assert.equal(good.length, 1);
  assert.deepEqual(good[0], { kind: 'data', tfi: 0xd5, body: hex('03 32 01 06 07'), extended: false });
});

void test('ACK, NACK and the application error frame', () => {
  const { frames } = parseChunks([Buffer.concat([ACK_FRAME, NACK_FRAME, APP_ERROR_FRAME])]);
  assert.deepEqual(frames.map((f) => f.kind), ['ack', 'nack', 'app-error']);
});

void test('extended frames are parsed, and oversize LEN is refused', () => {
  const body = Buffer.alloc(262);
  for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
  const frame = encodeFrame(0xd5, body);
  const half = frame.length >> 1;
  const { frames } = parseChunks([frame.subarray(0, half), frame.subarray(half)]);
  assert.equal(frames.length, 1);
  const f = frames[0]!;
  assert.ok(f.kind === 'data' && f.extended);
  assert.deepEqual(f.body, body);
  const huge = hex('00 00 FF FF FF 04 00 FC D5');
  assert.deepEqual(parseChunks([huge]).frames, [{ kind: 'invalid', reason: 'length' }]);
});

void test('a 255-byte normal frame (LEN FF, LCS 01) is not confused with a NACK', () => {
  const frame = encodeFrame(0xd5, Buffer.alloc(254, 0x42));
  assert.equal(frame[3], 0xff);
  assert.equal(frame[4], 0x01);
  const { frames } = parseChunks([frame]);
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.kind, 'data');
});

void test('replies of other commands parse too: stale filtering is the protocol layer\'s job', () => {
  const { frames } = parseChunks([encodeResponse(0x14), CARD_REPLY]);
  assert.deepEqual(frames.map((f) => (f.kind === 'data' ? f.body[0] : f.kind)), [0x15, 0x4b]);
});

void test('garbage never accumulates: only a possible start is buffered', () => {
  const { parser } = parseChunks([Buffer.alloc(10_000, 0x55), hex('12 34 00')]);
  assert.equal(parser.buffered, 1);
  parser.push(hex('FF 05'));
  assert.equal(parser.buffered, 3); // 00 FF 05, waiting for LCS
  parser.reset();
  assert.equal(parser.buffered, 0);
});

void test('an extended frame with a small LEN parses like its normal twin (§6.2.1.2: LENM LENL LCS)', () => {
  // GetFirmwareVersion's reply in the extended layout: LENM 00, LENL 06, LCS FA (00 + 06 + FA = 0x100).
  const extended = hex('00 00 FF FF FF 00 06 FA D5 03 32 01 06 07 E8 00');
  assert.deepEqual(parseChunks([extended]).frames, [{ kind: 'data', tfi: 0xd5, body: hex('03 32 01 06 07'), extended: true }]);
  const badLcs = hex('00 00 FF FF FF 00 06 FB D5 03 32 01 06 07 E8 00');
  assert.deepEqual(valid(parseChunks([badLcs, FW_REPLY]).frames), [{ kind: 'data', tfi: 0xd5, body: hex('03 32 01 06 07'), extended: false }]);
  assert.equal(parseChunks([badLcs]).frames[0]?.kind, 'invalid');
  const badDcs = hex('00 00 FF FF FF 00 06 FA D5 03 32 01 06 07 E9 00');
  assert.deepEqual(parseChunks([badDcs]).frames, [{ kind: 'invalid', reason: 'dcs' }]);
});

void test('an error frame between garbage and a reply, frames without postamble, back to back', () => {
  const noPost = (f: Buffer): Buffer => f.subarray(0, f.length - 1);
  const { frames } = parseChunks([hex('13 37'), APP_ERROR_FRAME, hex('AA 55'), noPost(FW_REPLY), noPost(ACK_FRAME), CARD_REPLY]);
  assert.deepEqual(frames.map((f) => f.kind), ['app-error', 'data', 'ack', 'data']);
});

void test('an extended frame split byte by byte, preceded by a stale normal reply', () => {
  const body = Buffer.alloc(263, 0x5a); // LEN 264: TFI + 263
  body[0] = 0x41;
  const ext = encodeFrame(0xd5, body);
  const bytes = [...Buffer.concat([encodeResponse(0x4a, hex('00')), ext])].map((b) => Buffer.from([b]));
  const { frames } = parseChunks(bytes);
  assert.deepEqual(frames.map((f) => (f.kind === 'data' ? [f.body[0], f.body.length, f.extended] : f.kind)), [[0x4b, 2, false], [0x41, 263, true]]);
});
