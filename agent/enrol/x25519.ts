// X25519 keys as raw 32-byte values (what node.add's `kx` carries, RFC 7748), converted to and from Node's
// KeyObjects with the fixed DER prefixes of RFC 8410 (OID 1.3.101.110), the same way ledger/crypto.ts does
// for Ed25519.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface KxKeyPair { privateKey: Buffer; publicKey: Buffer }

export function kxPublicKeyObject(pub: Uint8Array): KeyObject {
  if (pub.length !== 32) throw new RangeError(`an X25519 public key is 32 bytes, got ${pub.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

export function kxPrivateKeyObject(priv: Uint8Array): KeyObject {
  if (priv.length !== 32) throw new RangeError(`an X25519 private key is 32 bytes, got ${priv.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, priv]), format: 'der', type: 'pkcs8' });
}

export function rawPublic(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

export function kxPublicFromPrivate(priv: Uint8Array): Buffer {
  return rawPublic(createPublicKey(kxPrivateKeyObject(priv)));
}

export function generateKxKeyPair(): KxKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length),
    publicKey: rawPublic(publicKey),
  };
}
