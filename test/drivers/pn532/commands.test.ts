// Response decoders (§7.2.2 GetFirmwareVersion, §7.3.5 InListPassiveTarget, §7.1 status bytes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFirmwareVersion, decodeStatus, decodeTargetsA, encodeTargetsA } from '../../../drivers/pn532/commands.ts';
import { statusName } from '../../../drivers/pn532/errors.ts';
import { Backoff } from '../../../drivers/pn532/backoff.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

void test('firmware version: IC 0x32, v1.6, support 7', () => {
  assert.deepEqual(decodeFirmwareVersion(hex('32 01 06 07')), { ic: 0x32, ver: 1, rev: 6, support: 7 });
  assert.throws(() => decodeFirmwareVersion(hex('32 01')), { code: 'PN532_BAD_FRAME', message: /4 bytes.*got 2/ });
});

void test('targets with 4-, 7- and 10-byte UIDs, with and without ATS', () => {
  assert.deepEqual(decodeTargetsA(hex('00')), []);
  assert.deepEqual(decodeTargetsA(hex('01 01 00 04 08 04 DE AD BE EF')), [
    { tg: 1, atqa: 0x0004, sak: 0x08, uid: hex('DEADBEEF') },
  ]);
  assert.deepEqual(decodeTargetsA(hex('01 01 00 44 00 07 04 A3 12 61 EE 02 80')), [
    { tg: 1, atqa: 0x0044, sak: 0x00, uid: hex('04 A3 12 61 EE 02 80') },
  ]);
  const ten = hex('01 02 03 04 05 06 07 08 09 0A');
  assert.deepEqual(decodeTargetsA(Buffer.concat([hex('01 01 00 84 00 0A'), ten])), [{ tg: 1, atqa: 0x0084, sak: 0, uid: ten }]);
  assert.deepEqual(decodeTargetsA(hex('01 01 03 44 20 07 04 11 22 33 44 55 66 06 75 77 81 02 80')), [
    { tg: 1, atqa: 0x0344, sak: 0x20, uid: hex('04 11 22 33 44 55 66'), ats: hex('06 75 77 81 02 80') },
  ]);
});

void test('two targets round-trip', () => {
  const targets = [
    { tg: 1, atqa: 0x0004, sak: 0x08, uid: hex('01020304') },
    { tg: 2, atqa: 0x0344, sak: 0x20, uid: hex('04 11 22 33 44 55 66'), ats: hex('02 75') },
  ];
  assert.deepEqual(decodeTargetsA(encodeTargetsA(targets)), targets);
});

void test('malformed target lists are refused with a message naming the problem', () => {
  assert.throws(() => decodeTargetsA(Buffer.alloc(0)), { code: 'PN532_BAD_FRAME', message: /NbTg/ });
  assert.throws(() => decodeTargetsA(hex('03')), { message: /NbTg must be 0..2, got 3/ });
  assert.throws(() => decodeTargetsA(hex('01 01 00 04 08 05 01 02 03 04 05')), { message: /4, 7 or 10, got 5/ });
  assert.throws(() => decodeTargetsA(hex('01 01 00 04 08 04 01 02')), { message: /UID needs 4 bytes, only 2 left/ });
  assert.throws(() => decodeTargetsA(hex('01 01 00 04 08 04 01 02 03 04 99')), { message: /1 unexpected trailing/ });
  assert.throws(() => decodeTargetsA(hex('01 01 03 44 20 04 01 02 03 04 09 75')), { message: /ATS length byte 9/ });
});

void test('status byte: error bits, MI and NAD; names from the manual', () => {
  assert.deepEqual(decodeStatus(0x00), { error: 0, moreInformation: false, nad: false });
  assert.deepEqual(decodeStatus(0x41), { error: 1, moreInformation: true, nad: false });
  assert.deepEqual(decodeStatus(0x80), { error: 0, moreInformation: false, nad: true });
  assert.match(statusName(0x27), /not acceptable/);
  assert.match(statusName(0x01), /time out/);
});

void test('backoff grows by the factor up to the maximum and resets', () => {
  const b = new Backoff({ initialMs: 10, maxMs: 70, factor: 2 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [10, 20, 40, 70, 70]);
  b.reset();
  assert.equal(b.next(), 10);
});
