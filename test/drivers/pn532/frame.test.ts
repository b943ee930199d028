// Frame codec against the byte sequences of the PN532 User Manual (UM0701-02 §6.2.1, §7) as quoted in
// docs/design-notes.md, plus vectors computed by hand from the manual's checksum rules (the DCS sum is in a comment).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ACK_FRAME, APP_ERROR_FRAME, checksum, encodeCommand, encodeFrame, encodeResponse, NACK_FRAME,
} from '../../../drivers/pn532/frame.ts';
import {
  Command, decodeTargetsA, encodeTargetsA, inListPassiveTargetParams, maxRetriesParams, SAM_NORMAL_MODE,
} from '../../../drivers/pn532/commands.ts';
import { FrameParser } from '../../../drivers/pn532/frame-parser.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

void test('GetFirmwareVersion command and reply match the manual', () => {
  assert.deepEqual(encodeCommand(Command.GetFirmwareVersion), hex('00 00 FF 02 FE D4 02 2A 00'));
  assert.deepEqual(encodeResponse(Command.GetFirmwareVersion, hex('32 01 06 07')), hex('00 00 FF 06 FA D5 03 32 01 06 07 E8 00'));
});

void test('SAMConfiguration normal mode and its reply', () => {
  assert.deepEqual(encodeCommand(Command.SAMConfiguration, SAM_NORMAL_MODE), hex('00 00 FF 03 FD D4 14 01 17 00'));
  assert.deepEqual(encodeResponse(Command.SAMConfiguration), hex('00 00 FF 02 FE D5 15 16 00'));
});

void test('RFConfiguration MaxRetries, InListPassiveTarget, InRelease, InDataExchange', () => {
  assert.deepEqual(encodeCommand(Command.RFConfiguration, maxRetriesParams(0xff, 0x01, 0x01)), hex('00 00 FF 06 FA D4 32 05 FF 01 01 F4 00'));
  assert.deepEqual(encodeCommand(Command.InListPassiveTarget, inListPassiveTargetParams(1)), hex('00 00 FF 04 FC D4 4A 01 00 E1 00'));
  assert.deepEqual(encodeCommand(Command.InRelease, hex('00')), hex('00 00 FF 03 FD D4 52 00 DA 00'));
  assert.deepEqual(encodeCommand(Command.InDataExchange, hex('01 60 00')), hex('00 00 FF 05 FB D4 40 01 60 00 8B 00'));
});

void test('InListPassiveTarget replies: no card, 4-byte UID, 7-byte UID, ATS', () => {
  assert.deepEqual(encodeResponse(Command.InListPassiveTarget, hex('00')), hex('00 00 FF 03 FD D5 4B 00 E0 00'));
  const mifare = encodeTargetsA([{ tg: 1, atqa: 0x0004, sak: 0x08, uid: hex('DEADBEEF') }]);
  assert.deepEqual(encodeResponse(Command.InListPassiveTarget, mifare), hex('00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00'));
  const ntag = encodeTargetsA([{ tg: 1, atqa: 0x0044, sak: 0x00, uid: hex('04 A3 12 61 EE 02 80') }]);
  assert.deepEqual(encodeResponse(Command.InListPassiveTarget, ntag), hex('00 00 FF 0F F1 D5 4B 01 01 00 44 00 07 04 A3 12 61 EE 02 80 09 00'));
  const desfire = encodeTargetsA([{ tg: 1, atqa: 0x0344, sak: 0x20, uid: hex('04 11 22 33 44 55 66'), ats: hex('06 75 77 81 02 80') }]);
  assert.deepEqual(
    encodeResponse(Command.InListPassiveTarget, desfire),
    hex('00 00 FF 15 EB D5 4B 01 01 03 44 20 07 04 11 22 33 44 55 66 06 75 77 81 02 80 12 00'),
  );
});

void test('ACK, NACK and application error frames', () => {
  assert.deepEqual(ACK_FRAME, hex('00 00 FF 00 FF 00'));
  assert.deepEqual(NACK_FRAME, hex('00 00 FF FF 00 00'));
  assert.deepEqual(APP_ERROR_FRAME, hex('00 00 FF 01 FF 7F 81 00'));
});

void test('checksums make the low byte of the sum zero', () => {
  assert.equal(checksum(hex('D4 02')), 0x2a);
  assert.equal(checksum(hex('06')), 0xfa);
  assert.equal(checksum(Buffer.alloc(0)), 0x00);
  const frame = encodeFrame(0xd5, Buffer.alloc(40, 0xab));
  const sum = frame.subarray(5, frame.length - 1).reduce((a, b) => a + b, 0);
  assert.equal(sum & 0xff, 0);
});

void test('a body longer than LEN allows uses the extended frame layout (§6.2.1.2)', () => {
  const body = Buffer.alloc(259, 0x11);
  const frame = encodeFrame(0xd5, body);
  assert.deepEqual(frame.subarray(0, 5), hex('00 00 FF FF FF'));
  assert.equal((frame[5]! << 8) | frame[6]!, 260); // LENM LENL count TFI + body
  assert.equal((frame[5]! + frame[6]! + frame[7]!) & 0xff, 0); // LCS
  assert.equal(frame[8], 0xd5);
  assert.equal(frame.length, 8 + 260 + 2);
  assert.throws(() => encodeFrame(0xd4, Buffer.alloc(400)), { code: 'PN532_BAD_FRAME' });
});

void test('replies as a reader sends them: ACK and response in one read; a MIFARE Classic 4K card', () => {
  const frames: unknown[] = [];
  const parser = new FrameParser((f) => frames.push(f));
  parser.push(hex('00 00 FF 00 FF 00 00 00 FF 02 FE D5 15 16 00'));
  assert.deepEqual(frames, [{ kind: 'ack' }, { kind: 'data', tfi: 0xd5, body: hex('15'), extended: false }]);
  // SENS_RES 00 02 and SEL_RES 18 (4K); DCS: D5+4B+01+01+00+02+18+04+8A+4C+B5+12 = 0x2DD, so 0x23.
  const reply = hex('00 00 FF 0C F4 D5 4B 01 01 00 02 18 04 8A 4C B5 12 23 00');
  assert.deepEqual(encodeResponse(Command.InListPassiveTarget, hex('01 01 00 02 18 04 8A 4C B5 12')), reply);
  frames.length = 0;
  parser.push(reply);
  const body = (frames[0] as { body: Buffer }).body;
  assert.deepEqual(decodeTargetsA(body.subarray(1)), [{ tg: 1, atqa: 0x0002, sak: 0x18, uid: hex('8A 4C B5 12') }]);
});
