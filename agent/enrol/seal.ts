// The site secret (the key badge ids are hashed with, issue 3) sealed to one node's X25519 key, so it can
// travel inside the ledger's org/node.add event and only that node can read it.
//
// box = epk (32) | nonce (12) | ciphertext (32) | tag (16) = SEALED_SECRET_BYTES (92), where
//   epk      fresh X25519 key pair per seal (its private half is discarded at once)
//   shared   X25519(ephemeral private, recipient kx)
//   key      HKDF-SHA256(ikm = shared, salt = epk, info = SEAL_INFO || recipient kx), 32 bytes
//   AES-256-GCM(key, nonce) over the secret, with epk || recipient kx as associated data.
// Binding the recipient key into the key derivation and the tag means a box cannot be re-aimed at another
// node, and a box opened with the wrong key fails its tag instead of yielding a wrong secret.
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { SEALED_SECRET_BYTES } from '../../dapps/org/index.ts';
import { EnrolError } from './errors.ts';
import { kxPrivateKeyObject, kxPublicKeyObject, rawPublic } from './x25519.ts';

export const SITE_SECRET_BYTES = 32;
export const SEAL_INFO = Buffer.from('gdo:site-secret-box:v1\0', 'ascii');
const EPK = 32;
const NONCE = 12;
const TAG = 16;

const HEX64 = /^[0-9a-f]{64}$/;

function deriveKey(shared: Buffer, epk: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, epk, Buffer.concat([SEAL_INFO, recipient]), 32));
}

function agree(privateKey: KeyObject, publicKey: KeyObject, what: string): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch (err) {
    // OpenSSL refuses low-order points (an all-zero shared secret): such a key cannot receive a secret.
    throw new EnrolError('ENROL_SEAL', `${what}: X25519 key agreement failed (${(err as Error).message})`, { cause: err });
  }
}

/** Seals a 32-byte secret to the node whose X25519 public key is `kxPubHex`; returns the box as hex. */
export function sealSiteSecret(secret: Buffer, kxPubHex: string): string {
  if (secret.length !== SITE_SECRET_BYTES) throw new EnrolError('ENROL_SEAL', `the site secret must be ${SITE_SECRET_BYTES} bytes, got ${secret.length}`);
  if (!HEX64.test(kxPubHex)) throw new EnrolError('ENROL_SEAL', `the node's kx key must be 64 lowercase hex characters, got ${JSON.stringify(kxPubHex.slice(0, 80))}`);
  const recipient = Buffer.from(kxPubHex, 'hex');
  const eph = generateKeyPairSync('x25519');
  const epk = rawPublic(eph.publicKey);
  const key = deriveKey(agree(eph.privateKey, kxPublicKeyObject(recipient), `kx key ${kxPubHex.slice(0, 12)}`), epk, recipient);
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.concat([epk, recipient]));
  const ct = Buffer.concat([c.update(secret), c.final()]);
  const box = Buffer.concat([epk, nonce, ct, c.getAuthTag()]);
  if (box.length !== SEALED_SECRET_BYTES) throw new Error(`sealed box is ${box.length} bytes, expected ${SEALED_SECRET_BYTES}`);
  return box.toString('hex');
}

/** Opens a box made by sealSiteSecret with the node's raw 32-byte X25519 private key. */
export function openSiteSecret(boxHex: string, kxPrivateKey: Buffer): Buffer {
  if (!/^[0-9a-f]*$/.test(boxHex) || boxHex.length !== SEALED_SECRET_BYTES * 2) {
    throw new EnrolError('ENROL_SEAL', `a sealed site secret is ${SEALED_SECRET_BYTES} bytes (${SEALED_SECRET_BYTES * 2} lowercase hex characters), got ${boxHex.length} characters`);
  }
  if (kxPrivateKey.length !== 32) throw new EnrolError('ENROL_SEAL', `an X25519 private key is 32 bytes, got ${kxPrivateKey.length}`);
  const box = Buffer.from(boxHex, 'hex');
  const epk = box.subarray(0, EPK);
  const nonce = box.subarray(EPK, EPK + NONCE);
  const ct = box.subarray(EPK + NONCE, box.length - TAG);
  const tag = box.subarray(box.length - TAG);
  const priv = kxPrivateKeyObject(kxPrivateKey);
  const recipient = rawPublic(createPublicKey(priv));
  const key = deriveKey(agree(priv, kxPublicKeyObject(epk), 'sealed site secret'), epk, recipient);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(Buffer.concat([epk, recipient]));
  d.setAuthTag(tag);
  try {
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    throw new EnrolError('ENROL_SEAL', `the sealed site secret does not open with kx key ${recipient.toString('hex').slice(0, 12)}: it was sealed to another node or has been tampered with`);
  }
}
