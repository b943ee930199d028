// Checks the ledger format's published vectors (docs/ledger-format.md) and RFC 8032's own
// Ed25519 vectors, with both the native and the @noble/ed25519 code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { keyPairFromSeed, Signer, verifyNative, verifyNoble } from '../../agent/ledger/crypto.ts';
import { decodeEvent, encodeUnsigned, eventId, signingBytes } from '../../agent/ledger/event.ts';

// RFC 8032 section 7.1, TEST 1 to 3 (secret key, public key, message, signature).
const RFC8032 = [
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
] as const;

test('RFC 8032 vectors: keys, signatures, native and noble verification', () => {
  for (const [sk, pk, msgHex, sigHex] of RFC8032) {
    const pair = keyPairFromSeed(Buffer.from(sk, 'hex'));
    assert.equal(pair.publicKey.toString('hex'), pk);
    const signer = new Signer(pair);
    const msg = Buffer.from(msgHex, 'hex');
    assert.equal(signer.sign(msg).toString('hex'), sigHex, 'native signature');
    assert.equal(signer.signNoble(msg).toString('hex'), sigHex, 'noble signature');
    const sig = Buffer.from(sigHex, 'hex');
    assert.ok(verifyNative(pair.publicKey, msg, sig));
    assert.ok(verifyNoble(pair.publicKey, msg, sig));
    const bad = Buffer.from(sig); bad[10]! ^= 1;
    assert.ok(!verifyNative(pair.publicKey, msg, bad));
    assert.ok(!verifyNoble(pair.publicKey, msg, bad));
  }
});

interface Vector {
  name: string; seed: string; unsigned: string; id: string; sig: string;
  event: { v: number; org: string; author: string; seq: number; prev: string; parents: string[]; hlc: { ms: number; c: number }; dapp: string; type: string; body: never };
}

function loadVectors(): Vector[] {
  const doc = readFileSync(new URL('../../docs/ledger-format.md', import.meta.url), 'utf8');
  const m = /```json vectors\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, 'docs/ledger-format.md has a ```json vectors block');
  return JSON.parse(m[1]!) as Vector[];
}

test('docs/ledger-format.md vectors: encoding, id and signature', () => {
  const vectors = loadVectors();
  assert.ok(vectors.length >= 3);
  for (const v of vectors) {
    const e = v.event;
    const unsigned = encodeUnsigned({
      v: e.v, org: Buffer.from(e.org, 'hex'), author: Buffer.from(e.author, 'hex'), seq: e.seq, prev: Buffer.from(e.prev, 'hex'),
      parents: e.parents.map((p) => Buffer.from(p, 'hex')), hlc: e.hlc, dapp: e.dapp, type: e.type, body: e.body,
    });
    assert.equal(unsigned.toString('hex'), v.unsigned, `${v.name}: unsigned encoding`);
    assert.equal(eventId(unsigned).toString('hex'), v.id, `${v.name}: id`);
    const signer = new Signer(keyPairFromSeed(Buffer.from(v.seed, 'hex')));
    assert.equal(signer.publicKey.toString('hex'), e.author, `${v.name}: author key from seed`);
    assert.equal(signer.sign(signingBytes(unsigned)).toString('hex'), v.sig, `${v.name}: signature`);
    assert.ok(verifyNoble(signer.publicKey, signingBytes(unsigned), Buffer.from(v.sig, 'hex')), `${v.name}: noble cross-check`);
    const decoded = decodeEvent(Buffer.concat([unsigned, Buffer.from(v.sig, 'hex')]));
    assert.equal(decoded.id.toString('hex'), v.id);
    assert.deepEqual(decoded.body, e.body);
  }
});
