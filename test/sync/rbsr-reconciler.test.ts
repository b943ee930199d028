// Reconciler API contract: roles, done flags, option checks and the frame limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { Reconciler } from '../../agent/sync/rbsr/reconciler.ts';
import { RbsrError, type RbsrErrorCode } from '../../agent/sync/rbsr/errors.ts';
import { makeItems } from '../../agent/sync/rbsr/testkit.ts';

const isCode = (code: RbsrErrorCode) => (e: unknown): boolean => e instanceof RbsrError && e.code === code;

void test('one exchange by hand: initiator frame, responder reply, initiator result', () => {
  const items = makeItems(500, { seed: 3 });
  const a = new Reconciler(new MemoryItemSource(items.slice(0, 490)));
  const b = new Reconciler(new MemoryItemSource(items.slice(10)));
  let frame: Buffer | undefined = a.initiate();
  const have: Buffer[] = [];
  const need: Buffer[] = [];
  while (frame) {
    const r = b.reconcile(frame);
    assert.ok(r.reply, 'a responder always replies');
    assert.deepEqual([r.have, r.need], [[], []], 'the responder learns nothing itself');
    const step = a.reconcile(r.reply);
    have.push(...step.have);
    need.push(...step.need);
    assert.equal(step.done, step.reply === undefined);
    frame = step.reply;
  }
  assert.equal(have.length, 10);
  assert.equal(need.length, 10);
  assert.ok(have.every((id) => items.slice(0, 10).some((it) => it.id.equals(id))));
});

void test('a responder reply with nothing left says done', () => {
  const items = makeItems(100, { seed: 4 });
  const a = new Reconciler(new MemoryItemSource(items));
  const r = new Reconciler(new MemoryItemSource(items)).reconcile(a.initiate());
  assert.equal(r.done, true);
  assert.equal(r.reply!.length, 1);
  assert.deepEqual(a.reconcile(r.reply!), { have: [], need: [], done: true });
});

void test('out-of-order calls are RBSR_STATE errors', () => {
  const src = new MemoryItemSource(makeItems(10, { seed: 5 }));
  const a = new Reconciler(src);
  const first = a.initiate();
  assert.throws(() => a.initiate(), isCode('RBSR_STATE'));
  const b = new Reconciler(src);
  const reply = b.reconcile(first).reply!;
  assert.throws(() => b.initiate(), isCode('RBSR_STATE'));
  assert.equal(a.reconcile(reply).done, true);
  assert.throws(() => a.reconcile(reply), isCode('RBSR_STATE'), 'an initiator takes no unsolicited frames');
});

void test('options out of range are RBSR_CONFIG errors naming the value', () => {
  const src = new MemoryItemSource();
  assert.throws(() => new Reconciler(src, { frameSizeLimit: 1000 }), (e: unknown) => isCode('RBSR_CONFIG')(e) && /got 1000/.test((e as Error).message));
  assert.throws(() => new Reconciler(src, { buckets: 1 }), isCode('RBSR_CONFIG'));
  assert.throws(() => new Reconciler(src, { idListThreshold: 0 }), isCode('RBSR_CONFIG'));
  assert.throws(() => new Reconciler(src, { frameSizeLimit: 4096, idListThreshold: 200 }), isCode('RBSR_CONFIG'));
  assert.throws(() => new Reconciler(src, { frameSizeLimit: 4096, buckets: 64 }), isCode('RBSR_CONFIG'));
  assert.doesNotThrow(() => new Reconciler(src, { frameSizeLimit: 16 << 20, idListThreshold: 1000 }));
});

void test('replies to a frame of many id lists stay within the frame limit', () => {
  const items = makeItems(20_000, { seed: 6 });
  const limit = 8192;
  // Initiator holds every other item: nearly every range differs and wants ids.
  const a = new Reconciler(new MemoryItemSource(items.filter((_, i) => i % 2 === 0)), { frameSizeLimit: limit });
  const b = new Reconciler(new MemoryItemSource(items), { frameSizeLimit: limit });
  let frame: Buffer | undefined = a.initiate();
  let rounds = 0;
  let need = 0;
  while (frame) {
    assert.ok(frame.length <= limit);
    const reply: Buffer = b.reconcile(frame).reply!;
    assert.ok(reply.length <= limit, `reply of ${reply.length} bytes`);
    const step = a.reconcile(reply);
    need += step.need.length;
    frame = step.reply;
    assert.ok(++rounds < 2000, 'must converge');
  }
  assert.equal(need, 10_000);
});

void test('a malformed reply leaves the initiator waiting for a good one', () => {
  const items = makeItems(300, { seed: 8 });
  const a = new Reconciler(new MemoryItemSource(items));
  const b = new Reconciler(new MemoryItemSource(items.slice(5)));
  const first = a.initiate();
  assert.throws(() => a.reconcile(Buffer.from([1, 0x80])), isCode('RBSR_BAD_FRAME'));
  const step = a.reconcile(b.reconcile(first).reply!);
  assert.ok(step.reply || step.have.length > 0);
});
