// The DER writer's encodings against known bytes (X.690): lengths past one byte, OIDs with multi-byte
// arcs, integers with the sign bit, named-bit strings, and the UTCTime / GeneralizedTime switch of
// RFC 5280 4.1.2.5 that no certificate of today's dates reaches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { children, namedBits, oid, readElement, seq, time, tlv, uint } from '../../agent/enrol/der.ts';
import { ipBytes } from '../../agent/enrol/x509.ts';

const hex = (b: Buffer): string => b.toString('hex');

test('DER encodings are the bytes X.690 gives', () => {
  assert.equal(hex(tlv(0x04, Buffer.alloc(5))), '0405' + '00'.repeat(5));
  assert.equal(hex(tlv(0x04, Buffer.alloc(200)).subarray(0, 3)), '0481c8');
  assert.equal(hex(tlv(0x04, Buffer.alloc(300)).subarray(0, 4)), '0482012c');
  assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302'); // ecdsa-with-SHA256
  assert.equal(hex(oid('2.5.29.19')), '0603551d13');
  assert.equal(hex(uint(0x80)), '02020080');
  assert.equal(hex(uint(Buffer.from([0, 0, 1]))), '020101');
  assert.equal(hex(uint(0)), '020100');
  assert.equal(hex(namedBits([0])), '03020780'); // digitalSignature
  assert.equal(hex(namedBits([5, 6])), '03020106'); // keyCertSign, cRLSign
  assert.equal(hex(namedBits([8])), '0303070080');
  assert.equal(time(new Date('2049-12-31T23:59:59Z')).toString('latin1'), '\x17\x0d491231235959Z');
  assert.equal(time(new Date('2050-01-01T00:00:00Z')).toString('latin1'), '\x18\x0f20500101000000Z');
});

test('DER reads back what it wrote, and refuses a length past its container', () => {
  const s = seq(uint(1), tlv(0x04, Buffer.alloc(300)), oid('2.5.4.3'));
  const top = readElement(s, 0);
  assert.equal(top.end, s.length);
  assert.deepEqual(children(s, top).map((e) => e.tag), [0x02, 0x04, 0x06]);
  assert.throws(() => readElement(Buffer.from('3005020101', 'hex'), 0), /runs past its container/);
});

test('iPAddress bytes for IPv4, IPv6 with ::, and IPv4-mapped IPv6', () => {
  assert.equal(hex(ipBytes('10.0.0.2')), '0a000002');
  assert.equal(hex(ipBytes('::1')), '00000000000000000000000000000001');
  assert.equal(hex(ipBytes('fe80::1:2')), 'fe800000000000000000000000010002');
  assert.equal(hex(ipBytes('::ffff:10.0.0.2')), '00000000000000000000ffff0a000002');
  assert.equal(hex(ipBytes('2001:db8:0:0:1:0:0:1')), '20010db8000000000001000000000001');
  assert.throws(() => ipBytes('10.0.0'), /not an IPv4 or IPv6 address/);
});
