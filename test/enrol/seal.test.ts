// The site secret sealed to a node's X25519 key (agent/enrol/seal.ts): the 92-byte layout org/node.add
// carries, opening with the right key only, and clear refusals for wrong keys and tampered boxes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, createPublicKey, diffieHellman, hkdfSync, randomBytes } from 'node:crypto';
import { SEALED_SECRET_BYTES } from '../../dapps/org/index.ts';
import { isEnrolError } from '../../agent/enrol/errors.ts';
import { openSiteSecret, sealSiteSecret, SEAL_INFO } from '../../agent/enrol/seal.ts';
import { generateKxKeyPair, kxPrivateKeyObject, kxPublicFromPrivate, kxPublicKeyObject } from '../../agent/enrol/x25519.ts';

const sealError = (pattern: RegExp) => (err: unknown): boolean => {
  assert.ok(isEnrolError(err, 'ENROL_SEAL'), `expected ENROL_SEAL, got ${String(err)}`);
  assert.match(err.message, pattern);
  return true;
};

describe('sealed site secret', () => {
  const node = generateKxKeyPair();
  const secret = randomBytes(32);
  const box = sealSiteSecret(secret, node.publicKey.toString('hex'));

  it(`is exactly ${SEALED_SECRET_BYTES} bytes (epk 32 | nonce 12 | ct 32 | tag 16) and opens to the secret`, () => {
    assert.equal(SEALED_SECRET_BYTES, 92);
    assert.match(box, /^[0-9a-f]{184}$/);
    assert.deepEqual(openSiteSecret(box, node.privateKey), secret);
  });

  it('follows the documented construction: X25519, HKDF-SHA256 bound to the recipient, AES-256-GCM', () => {
    // An independent opening from the format comment alone, so a change to the format fails here.
    const b = Buffer.from(box, 'hex');
    const epk = b.subarray(0, 32);
    const shared = diffieHellman({ privateKey: kxPrivateKeyObject(node.privateKey), publicKey: kxPublicKeyObject(epk) });
    const key = Buffer.from(hkdfSync('sha256', shared, epk, Buffer.concat([SEAL_INFO, node.publicKey]), 32));
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(32, 44));
    d.setAAD(Buffer.concat([epk, node.publicKey]));
    d.setAuthTag(b.subarray(76));
    assert.deepEqual(Buffer.concat([d.update(b.subarray(44, 76)), d.final()]), secret);
    assert.equal(SEAL_INFO.toString('latin1'), 'gdo:site-secret-box:v1\0');
  });

  it('uses a fresh ephemeral key and nonce each time', () => {
    const again = sealSiteSecret(secret, node.publicKey.toString('hex'));
    assert.notEqual(again, box);
    assert.notEqual(again.slice(0, 64), box.slice(0, 64));
    assert.deepEqual(openSiteSecret(again, node.privateKey), secret);
  });

  it('does not open with another node\'s key', () => {
    const other = generateKxKeyPair();
    assert.throws(() => openSiteSecret(box, other.privateKey), sealError(/does not open with kx key [0-9a-f]{12}: it was sealed to another node or has been tampered with/));
  });

  it('refuses a box with any byte changed: ephemeral key, nonce, ciphertext or tag', () => {
    for (const at of [0, 31, 32, 43, 44, 75, 76, 91]) {
      const b = Buffer.from(box, 'hex');
      b[at] = (b[at] ?? 0) ^ 0x01;
      assert.throws(() => openSiteSecret(b.toString('hex'), node.privateKey), sealError(/X25519 key agreement failed|does not open/), `byte ${at}`);
    }
  });

  it('refuses boxes of the wrong size or spelling, and bad inputs to seal, naming the problem', () => {
    assert.throws(() => openSiteSecret(box.slice(0, -2), node.privateKey), sealError(/92 bytes \(184 lowercase hex characters\), got 182/));
    assert.throws(() => openSiteSecret(box.toUpperCase(), node.privateKey), sealError(/184 lowercase hex/));
    assert.throws(() => openSiteSecret(box, node.privateKey.subarray(0, 31)), sealError(/private key is 32 bytes, got 31/));
    assert.throws(() => sealSiteSecret(secret.subarray(0, 16), node.publicKey.toString('hex')), sealError(/must be 32 bytes, got 16/));
    assert.throws(() => sealSiteSecret(secret, 'abcd'), sealError(/64 lowercase hex characters/));
    // A low-order point would make the shared secret all zeros: OpenSSL refuses the agreement.
    assert.throws(() => sealSiteSecret(secret, '00'.repeat(32)), sealError(/X25519 key agreement failed/));
  });

  it('derives raw X25519 public keys as Node does', () => {
    assert.deepEqual(kxPublicFromPrivate(node.privateKey), node.publicKey);
    const spki = createPublicKey(kxPrivateKeyObject(node.privateKey)).export({ format: 'jwk' });
    assert.equal(Buffer.from(spki.x ?? '', 'base64url').toString('hex'), node.publicKey.toString('hex'));
  });
});
