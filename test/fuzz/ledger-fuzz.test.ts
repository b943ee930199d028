// Fuzzes the decoder, ingest and bundle reader with random and mutated encodings: nothing may
// crash, nothing invalid may be accepted, the state may only change through valid events.
// Size: GDO_FUZZ_SCALE (default 1 = 100,000 inputs; `npm run fuzz` runs 10x).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent } from '../../agent/ledger/event.ts';
import { LedgerError } from '../../agent/ledger/errors.ts';
import { readBundle, writeBundle } from '../../agent/ledger/bundle.ts';
import { verifyNative } from '../../agent/ledger/crypto.ts';
import { signingBytes, unsignedPart } from '../../agent/ledger/event.ts';
import { foundOrg, prng, signerFor, tempLedgers } from '../ledger/helpers.ts';

const SCALE = Number(process.env.GDO_FUZZ_SCALE ?? 1);
const TOTAL = 100_000 * SCALE;

function mutate(src: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(src);
  const kind = Math.floor(rnd() * 6);
  const at = Math.floor(rnd() * Math.max(1, b.length));
  switch (kind) {
    case 0: b[at] = Math.floor(rnd() * 256); return b;                           // byte flip
    case 1: return b.subarray(0, at);                                              // truncation
    case 2: return Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rnd() * 256)]), b.subarray(at)]); // insertion
    case 3: return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(rnd() * 8))]);          // deletion
    case 4: { const n = Math.floor(rnd() * 64); const r = Buffer.alloc(n); for (let i = 0; i < n; i++) r[i] = Math.floor(rnd() * 256); return r; } // noise
    default: { b.writeUInt32BE(Math.floor(rnd() * 2 ** 32), Math.min(at, Math.max(0, b.length - 4))); return b; } // length field garbage
  }
}

test(`fuzz: ${TOTAL} mutated events and bundles through decode, ingest and bundle reading`, () => {
  const seed = Number(process.env.GDO_SEED ?? 0xfeed);
  const rnd = prng(seed);
  const t = tempLedgers();
  try {
    const l = t.open('fuzz');
    foundOrg(l);
    const node = signerFor('node');
    const valid: Buffer[] = [];
    for (let i = 0; i < 20; i++) valid.push(l.build(node, 'note', 'set', { k: `k${i}`, v: i }, { now: 1_700_000_000_100 + i }).raw);
    const bundle = writeBundle(l.orgId!, [...l.events()]);
    const validSet = new Set(valid.map((v) => v.toString('hex')));
    const validIds = new Set(valid.map((v) => decodeEvent(v).id.toString('hex')));
    const hashBefore = l.stateHash();
    let accepted = 0;
    const batch: Buffer[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const input = i % 10 === 9 ? mutate(bundle, rnd) : mutate(valid[Math.floor(rnd() * valid.length)]!, rnd);
      if (i % 10 === 9) {
        try { readBundle(input); assert.ok(input.equals(bundle), `seed ${seed}: a mutated bundle was read`); } catch (e) {
          if (!(e instanceof LedgerError)) throw new Error(`seed ${seed} input ${i}: bundle reader threw ${String(e)}`);
        }
        continue;
      }
      try {
        const ev = decodeEvent(input);
        // What decodes must be bit-exact canonical; if it also verifies it must be an original.
        if (verifyNative(ev.author, signingBytes(unsignedPart(ev)), ev.sig)) assert.ok(validSet.has(input.toString('hex')), `seed ${seed}: forged event verified`);
      } catch (e) {
        if (!(e instanceof LedgerError)) throw new Error(`seed ${seed} input ${i}: decoder threw ${String(e)}`);
      }
      if (i % 50 === 0) batch.push(input);
    }
    // A sample goes through the whole ingest pipeline: only originals may be accepted.
    for (let i = 0; i < batch.length; i += 100) {
      for (const r of l.ingest(batch.slice(i, i + 100))) {
        if (r.status === 'accepted' || r.status === 'pending') {
          assert.ok(r.id && validIds.has(r.id), `seed ${seed}: accepted an event that is not an original`);
          accepted++;
        }
      }
    }
    for (const raw of l.events()) {
      const ev = decodeEvent(raw);
      assert.ok(verifyNative(ev.author, signingBytes(unsignedPart(ev)), ev.sig), 'every stored event verifies');
    }
    assert.ok(l.count() <= 2 + valid.length, 'nothing but originals stored');
    console.log(`fuzz seed ${seed}: ${TOTAL} inputs, ${batch.length} through ingest, ${accepted} originals accepted, state ${hashBefore === l.stateHash() ? 'unchanged' : 'changed by originals only'}`);
  } finally { t.cleanup(); }
});
