// Every rejection code, through the real ingest pipeline and store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUnsigned, decodeEvent, signingBytes, ZERO_ID, FORMAT_VERSION, type UnsignedEvent } from '../../agent/ledger/event.ts';
import { importBundle, writeBundle } from '../../agent/ledger/bundle.ts';
import type { Signer } from '../../agent/ledger/crypto.ts';
import type { Ledger } from '../../agent/ledger/ledger.ts';
import { foundOrg, signerFor, tempLedgers } from './helpers.ts';

const NOW = 1_700_000_000_000;
const admin = signerFor('admin');
const node = signerFor('node');
const stranger = signerFor('stranger');

function setup() {
  const t = tempLedgers();
  const l = t.open('l', { now: () => NOW + 60_000 });
  foundOrg(l, admin, node, NOW);
  return { t, l };
}

function forge(l: Ledger, signer: Signer, over: Partial<UnsignedEvent>): Buffer {
  const base = l.build(signer, 'note', 'set', { k: 'x', v: 1 }, { now: NOW + 10 });
  const u: UnsignedEvent = { v: FORMAT_VERSION, org: base.org, author: base.author, seq: base.seq, prev: base.prev, parents: base.parents, hlc: base.hlc, dapp: base.dapp, type: base.type, body: base.body, ...over };
  const unsigned = encodeUnsigned(u);
  return Buffer.concat([unsigned, signer.sign(signingBytes(unsigned))]);
}

function expectReject(l: Ledger, raw: Buffer, code: string, pattern?: RegExp): void {
  const before = l.stateHash();
  const [r] = l.ingest([raw]);
  assert.equal(r!.status, 'rejected', JSON.stringify(r));
  assert.equal(r!.code, code, r!.message);
  if (pattern) assert.match(r!.message!, pattern);
  assert.equal(l.stateHash(), before, 'a rejection changes nothing');
}

test('every rejection code names what was wrong and changes nothing', async () => {
  const { t, l } = setup();
  try {
    const good = l.build(node, 'note', 'set', { k: 'x', v: 1 }, { now: NOW + 10 });
    expectReject(l, Buffer.alloc(70_000), 'TOO_LARGE', /65536/);
    expectReject(l, good.raw.subarray(0, 100), 'BAD_ENCODING', /truncated/);
    expectReject(l, Buffer.concat([good.raw, Buffer.from([0])]), 'BAD_ENCODING', /trailing/);
    // Same content, body re-encoded with whitespace: decodes, but is not canonical.
    const spaced = Buffer.from(good.raw.toString('latin1').replace('{"k":"x","v":1}', '{"k":"x", "v":1}'), 'latin1');
    const lenAt = good.unsignedLen - 4 - 15;
    spaced.writeUInt32BE(16, lenAt);
    expectReject(l, spaced, 'NOT_CANONICAL');
    const tampered = Buffer.from(good.raw); tampered[tampered.length - 1]! ^= 0xff;
    expectReject(l, tampered, 'BAD_SIGNATURE', /does not verify/);
    expectReject(l, forge(l, node, { org: Buffer.alloc(32, 7) }), 'WRONG_ORG');
    expectReject(l, forge(l, node, { seq: 2, prev: good.parents[0]! }), 'BAD_CHAIN', /prev/);
    expectReject(l, forge(l, node, { parents: [] }), 'BAD_CHAIN', /only a genesis/);
    expectReject(l, forge(l, node, { hlc: { ms: NOW - 1000, c: 0 } }), 'BAD_CLOCK');
    expectReject(l, forge(l, node, { hlc: { ms: NOW + 3_600_000, c: 0 } }), 'FROM_FUTURE');
    expectReject(l, forge(l, node, { dapp: 'nosuch' }), 'UNKNOWN_TYPE', /nosuch\/set/);
    expectReject(l, forge(l, node, { body: { k: 'x', v: 'one' } }), 'INVALID_BODY', /body\.v: expected an integer/);
    expectReject(l, forge(l, node, { body: { k: 'x', v: 1, extra: true } }), 'INVALID_BODY', /body\.extra: unknown field/);
    expectReject(l, forge(l, stranger, { seq: 1, prev: ZERO_ID }), 'NOT_AUTHORIZED', /not a key of this organisation/);
    expectReject(l, forge(l, node, { dapp: 'note', type: 'lock', body: { k: 'x' } }), 'NOT_AUTHORIZED', /only admins/);
    expectReject(l, forge(l, node, { dapp: 'org', type: 'admin.add', body: { key: node.publicKey.toString('hex'), name: 'me' } }), 'NOT_AUTHORIZED', /only an admin/);
    expectReject(l, forge(l, node, { dapp: 'note', type: 'boom', body: {} }), 'DAPP_ERROR', /kaboom/);
    // INVALID_PARENT: a child of a rejected event in the same batch.
    const badParent = l.build(node, 'note', 'lock', { k: 'y' }, { now: NOW + 20 });
    const child = decodeEvent(forge(l, node, { seq: 2, prev: badParent.id, parents: [badParent.id], hlc: { ms: NOW + 30, c: 0 } }));
    const [r1, r2] = l.ingest([badParent.raw, child.raw]);
    assert.equal(r1!.code, 'NOT_AUTHORIZED');
    assert.equal(r2!.code, 'INVALID_PARENT');
    // EQUIVOCATION: two different events at the node's seq 1; both kept, neither applied.
    const a = l.build(node, 'note', 'set', { k: 'e', v: 1 }, { now: NOW + 40 });
    const b = l.build(node, 'note', 'set', { k: 'e', v: 2 }, { now: NOW + 41 });
    assert.equal(l.ingest([a.raw])[0]!.status, 'accepted');
    assert.equal(l.get('note/v/e'), 1);
    const [eq] = l.ingest([b.raw]);
    assert.equal(eq!.code, 'EQUIVOCATION');
    assert.equal(eq!.kept, true);
    assert.equal(l.get('note/v/e'), undefined, 'the equivocating author is no longer applied');
    assert.equal(l.equivocations().length, 1);
    assert.ok(l.hasEvent(a.id) && l.hasEvent(b.id), 'both kept as proof');
    // BAD_BUNDLE: truncated and tampered bundles import nothing.
    const bundle = writeBundle(l.orgId!, [...l.events()]);
    const other = t.open('other');
    await assert.rejects(importBundle(other, bundle.subarray(0, bundle.length - 10)), { code: 'BAD_BUNDLE', message: /digest|truncated/ });
    const flipped = Buffer.from(bundle); flipped[200]! ^= 1;
    await assert.rejects(importBundle(other, flipped), { code: 'BAD_BUNDLE' });
    assert.equal(other.count(), 0);
  } finally { t.cleanup(); }
});

test('a missing parent is "retry later": pending, then applied when the parent arrives', () => {
  const { t, l } = setup();
  try {
    const p = l.build(node, 'note', 'set', { k: 'p', v: 1 }, { now: NOW + 10 });
    const c = decodeEvent(forge(l, node, { seq: 2, prev: p.id, parents: [p.id], hlc: { ms: NOW + 20, c: 0 }, body: { k: 'p', v: 2 } }));
    const [r] = l.ingest([c.raw]);
    assert.equal(r!.status, 'pending');
    assert.deepEqual(r!.missing, [p.id.toString('hex')]);
    assert.deepEqual(l.missingIds().map((x) => x.toString('hex')), [p.id.toString('hex')]);
    assert.equal(l.ingest([p.raw])[0]!.status, 'accepted');
    assert.equal(l.pendingCount(), 0);
    assert.equal(l.get('note/v/p'), 2, 'the parked child was applied after its parent');
  } finally { t.cleanup(); }
});

test('a revoked key signs nothing that applies after its revocation; a bundle imports atomically', async () => {
  const { t, l } = setup();
  try {
    assert.equal(l.append(node, 'note', 'set', { k: 'r', v: 1 }, { now: NOW + 10 }).result.status, 'accepted');
    l.append(admin, 'org', 'key.revoke', { key: node.publicKey.toString('hex'), reason: 'lost' }, { now: NOW + 20 });
    const after = l.append(node, 'note', 'set', { k: 'r', v: 2 }, { now: NOW + 30 });
    assert.equal(after.result.code, 'NOT_AUTHORIZED');
    assert.match(after.result.message!, /revoked/);
    assert.equal(l.get('note/v/r'), 1);
    const other = t.open('o2');
    const rep = await importBundle(other, writeBundle(l.orgId!, [...l.events()]));
    assert.equal(rep.accepted, l.count());
    assert.equal(other.stateHash(), l.stateHash());
  } finally { t.cleanup(); }
});
