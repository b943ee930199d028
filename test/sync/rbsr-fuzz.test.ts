// Decoder and reconciler fuzz: random and mutated frames must either be processed or
// rejected with a typed RbsrError (RBSR_BAD_FRAME / RBSR_VERSION); never another
// exception, never a reply above the frame limit, never a hang (the test has a timeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { Reconciler } from '../../agent/sync/rbsr/reconciler.ts';
import { PROTOCOL_VERSION, decodeFrame } from '../../agent/sync/rbsr/frame.ts';
import { RbsrError } from '../../agent/sync/rbsr/errors.ts';
import { encodeVarint } from '../../agent/sync/rbsr/varint.ts';
import type { Item } from '../../agent/sync/rbsr/item.ts';
import { makeItems, seededRandom } from '../../agent/sync/rbsr/testkit.ts';

const SCALE = Number(process.env['GDO_FUZZ_SCALE'] ?? 1);
const LIMIT = 4096;

/** Frames from real sessions, both directions, as mutation seeds. */
function sampleFrames(a: Item[], b: Item[]): Buffer[] {
  const frames: Buffer[] = [];
  const ini = new Reconciler(new MemoryItemSource(a), { frameSizeLimit: LIMIT });
  const res = new Reconciler(new MemoryItemSource(b), { frameSizeLimit: LIMIT });
  let f: Buffer | undefined = ini.initiate();
  for (let i = 0; f && i < 50; i++) {
    frames.push(f);
    const reply: Buffer = res.reconcile(f).reply!;
    frames.push(reply);
    f = ini.reconcile(reply).reply;
  }
  return frames;
}

function mutate(src: Buffer, rnd: () => number): Buffer {
  const buf = Buffer.from(src);
  const pick = (n: number): number => Math.floor(rnd() * n);
  switch (pick(7)) {
    case 0: // flip bits
      for (let i = 0, n = 1 + pick(4); i < n && buf.length > 0; i++) buf[pick(buf.length)]! ^= 1 << pick(8);
      return buf;
    case 1: // random byte values
      for (let i = 0, n = 1 + pick(4); i < n && buf.length > 0; i++) buf[pick(buf.length)] = pick(256);
      return buf;
    case 2: // truncate
      return buf.subarray(0, pick(buf.length + 1));
    case 3: { // insert random bytes
      const at = pick(buf.length + 1);
      return Buffer.concat([buf.subarray(0, at), Buffer.from(Array.from({ length: 1 + pick(8) }, () => pick(256))), buf.subarray(at)]);
    }
    case 4: { // duplicate a slice
      const s = pick(buf.length + 1);
      const e = s + pick(buf.length - s + 1);
      return Buffer.concat([buf.subarray(0, e), buf.subarray(s, e), buf.subarray(e)]);
    }
    case 5: // huge varints where counts live
      return Buffer.concat([buf.subarray(0, Math.max(1, pick(buf.length))), encodeVarint(Math.floor(rnd() * Number.MAX_SAFE_INTEGER))]);
    default: // pure noise behind a valid version byte
      return Buffer.concat([Buffer.from([PROTOCOL_VERSION]), Buffer.from(Array.from({ length: pick(200) }, () => pick(256)))]);
  }
}

function expectTyped(fn: () => void, ctx: string): 'ok' | 'rejected' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof RbsrError && (e.code === 'RBSR_BAD_FRAME' || e.code === 'RBSR_VERSION')) return 'rejected';
    throw new Error(`untyped failure (${ctx}): ${String(e)}`, { cause: e });
  }
}

void test('mutated and random frames: processed or rejected with a typed error', { timeout: 180_000 }, () => {
  const seed = Number(process.env['GDO_SEED'] ?? 77);
  const rnd = seededRandom(seed);
  const all = makeItems(3000, { seed, maxGapMs: 2 });
  const a = all.filter(() => rnd() < 0.9);
  const b = all.filter(() => rnd() < 0.9);
  const seeds = sampleFrames(a, b);
  assert.ok(seeds.length >= 4, 'need sample frames to mutate');
  const srcA = new MemoryItemSource(a);
  const srcB = new MemoryItemSource(b);
  const counts = { ok: 0, rejected: 0 };
  const iterations = Math.round(20_000 * SCALE);
  for (let i = 0; i < iterations; i++) {
    const frame = mutate(seeds[Math.floor(rnd() * seeds.length)]!, rnd);
    const ctx = `seed=${seed} iteration=${i} frame=${frame.toString('hex').slice(0, 400)}`;
    counts[expectTyped(() => decodeFrame(frame), ctx)]++;
    if (i % 4 === 0) {
      expectTyped(() => {
        const out = new Reconciler(srcB, { frameSizeLimit: LIMIT }).reconcile(frame);
        assert.ok(out.reply && out.reply.length <= LIMIT, `reply of ${out.reply?.length} bytes`);
      }, `responder ${ctx}`);
      expectTyped(() => {
        const ini = new Reconciler(srcA, { frameSizeLimit: LIMIT });
        ini.initiate();
        const out = ini.reconcile(frame);
        assert.ok(!out.reply || out.reply.length <= LIMIT);
      }, `initiator ${ctx}`);
    }
  }
  console.log(`rbsr fuzz seed ${seed}: ${iterations} frames, ${counts.ok} decoded, ${counts.rejected} rejected with typed errors`);
  assert.ok(counts.rejected > 0 && counts.ok > 0, 'fuzz should exercise both outcomes');
});

void test('a frame claiming a huge id count is rejected before allocating', () => {
  const frame = Buffer.concat([Buffer.from([PROTOCOL_VERSION, 0, 2]), encodeVarint(2 ** 40), Buffer.alloc(64)]);
  assert.throws(() => decodeFrame(frame), (e: unknown) => e instanceof RbsrError && e.code === 'RBSR_BAD_FRAME' && /claims 1099511627776 ids/.test(e.message));
});

void test('a 1 MiB frame of Skip ranges decodes in linear time and answers with a tiny reply', () => {
  // Each range: ms delta 1 (+1), counter 0, no prefix, Skip = 4 bytes.
  const n = 250_000;
  const body = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) body.set([2, 0, 0, 0], i * 4);
  const frame = Buffer.concat([Buffer.from([PROTOCOL_VERSION]), body]);
  assert.equal(decodeFrame(frame).length, n);
  const out = new Reconciler(new MemoryItemSource(makeItems(100, { seed: 1 }))).reconcile(frame);
  assert.equal(out.reply!.length, 1);
  assert.equal(out.done, true);
});
