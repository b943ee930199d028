// Ed25519 for the ledger. Verification on the hot path uses Node's native (OpenSSL) code with
// cached KeyObjects: rebuilding a KeyObject per call costs about 3x (docs/design-notes.md). @noble/ed25519
// signs where the native code is missing and cross-checks the native code in tests.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, createHash, type KeyObject } from 'node:crypto';
import * as noble from '@noble/ed25519';

noble.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest());

// DER prefixes of RFC 8410 SubjectPublicKeyInfo / PrivateKeyInfo for Ed25519 (OID 1.3.101.112).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const KEY_CACHE_MAX = 4096;
const keyCache = new Map<string, KeyObject>();

export function publicKeyObject(pub: Uint8Array): KeyObject {
  const k = Buffer.from(pub).toString('hex');
  let ko = keyCache.get(k);
  if (!ko) {
    ko = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(k, ko);
  }
  return ko;
}

export function verifyNative(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 32 || sig.length !== 64) return false;
  try { return nodeVerify(null, msg, publicKeyObject(pub), sig); } catch { return false; }
}

/** The same check on libuv's thread pool, so a batch verifies on every core. */
export function verifyNativeAsync(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean> {
  if (pub.length !== 32 || sig.length !== 64) return Promise.resolve(false);
  let key: KeyObject;
  try { key = publicKeyObject(pub); } catch { return Promise.resolve(false); }
  return new Promise((resolve) => {
    nodeVerify(null, msg, key, sig, (err, ok) => resolve(!err && ok));
  });
}

export function verifyNoble(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try { return noble.verify(sig, msg, pub); } catch { return false; }
}

export interface KeyPair { publicKey: Buffer; seed: Buffer }

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  return { seed: Buffer.from(seed), publicKey: Buffer.from(noble.getPublicKey(seed)) };
}

export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(noble.utils.randomSecretKey());
}

export class Signer {
  readonly publicKey: Buffer;
  private readonly native: KeyObject | null;
  constructor(private readonly pair: KeyPair) {
    this.publicKey = pair.publicKey;
    let native: KeyObject | null = null;
    try { native = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, pair.seed]), format: 'der', type: 'pkcs8' }); } catch { native = null; }
    this.native = native;
  }
  sign(msg: Uint8Array): Buffer {
    if (this.native) return nodeSign(null, msg, this.native);
    return Buffer.from(noble.sign(msg, this.pair.seed));
  }
  signNoble(msg: Uint8Array): Buffer {
    return Buffer.from(noble.sign(msg, this.pair.seed));
  }
}
