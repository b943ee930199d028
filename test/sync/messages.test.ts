// The sync payload codec and topic tree (docs/sync-protocol.md 2-5): exact round trips,
// and every truncation or mutation of a valid payload either decodes to something valid or
// fails with a SyncMessageError naming the problem, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NackCode, SyncMessageError, decodeMessage, decodePresence, encodeEvents, encodeNack, encodePresence, encodeRequest,
  encodeResponse, packEvents, MIN_EVENT_BYTES,
} from '../../agent/sync/messages.ts';
import { Topics, checkNodeName } from '../../agent/sync/topics.ts';
import { sortByClock } from '../../agent/sync/event-order.ts';
import { OrgFixture } from './helpers.ts';
import { prng } from '../helpers/prng.ts';

const ORG = 'ab'.repeat(32);

void test('each message type round-trips', () => {
  const ev = [Buffer.alloc(MIN_EVENT_BYTES, 1), Buffer.alloc(MIN_EVENT_BYTES + 1, 2), Buffer.alloc(300, 7)];
  assert.deepEqual(decodeMessage(encodeEvents(7, ev)), { type: 'events', session: 7, more: false, events: ev });
  assert.deepEqual(decodeMessage(encodeEvents(7, ev, true)), { type: 'events', session: 7, more: true, events: ev });
  const ids = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
  assert.deepEqual(decodeMessage(encodeRequest(0xffffffff, Buffer.from([1, 2, 3]), ids)),
    { type: 'request', session: 0xffffffff, frame: Buffer.from([1, 2, 3]), fetch: ids.map((i) => i.subarray(0, 8)) });
  assert.deepEqual(decodeMessage(encodeRequest(1, null, ids, 32)), { type: 'request', session: 1, frame: null, fetch: ids });
  assert.deepEqual(decodeMessage(encodeResponse(2, Buffer.from([1]), [0, 5, 6, 300])),
    { type: 'response', session: 2, frame: Buffer.from([1]), needIndexes: [0, 5, 6, 300] });
  assert.deepEqual(decodeMessage(encodeResponse(3, null, [])), { type: 'response', session: 3, frame: null, needIndexes: [] });
  assert.deepEqual(decodeMessage(encodeNack(4, NackCode.Busy, 'later')), { type: 'nack', session: 4, code: NackCode.Busy, reason: 'later' });
  assert.equal((decodeMessage(encodeNack(4, NackCode.BadRequest, 'x'.repeat(500))) as { reason: string }).reason.length, 200);
});

void test('bad payloads fail with SyncMessageError naming the problem', () => {
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.alloc(0), /shorter than its 6-byte header/],
    [Buffer.from([2, 1, 0, 0, 0, 0, 0]), /version 2 not supported/],
    [Buffer.from([1, 9, 0, 0, 0, 0, 0]), /unknown message type 9/],
    [Buffer.from([1, 1, 0, 0, 0, 0, 0, 5, 1]), /event count 5 exceeds/],
    [Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 1, 0xfa, 0x01]), Buffer.alloc(200)]), /event 0: needs 250 bytes/],
    [Buffer.from([1, 1, 0, 0, 0, 0, 2, 0]), /unknown events flags 0x2/],
    [Buffer.concat([encodeEvents(0, [Buffer.alloc(MIN_EVENT_BYTES)]), Buffer.from([0])]), /1 trailing bytes/],
    [Buffer.from([1, 2, 0, 0, 0, 0, 0, 4, 0]), /prefix length must be 8..32, got 4/],
    [Buffer.from([1, 2, 0, 0, 0, 0, 0, 8, 100]), /fetch count 100 x 8 bytes exceeds/],
    [Buffer.from([1, 3, 0, 0, 0, 0, 0, 0x80]), /truncated varint/],
    [Buffer.from([1, 4, 0, 0, 0, 0, 9, 0]), /unknown nack code 9/],
  ];
  for (const [buf, re] of cases) {
    assert.throws(() => decodeMessage(buf), (e: unknown) => e instanceof SyncMessageError && re.test(e.message), `${buf.toString('hex')} should fail with ${re}`);
  }
});

void test('fuzz: truncated and mutated payloads never throw anything but SyncMessageError', () => {
  const rnd = prng(20251121);
  const valid = [
    encodeEvents(1, [Buffer.alloc(400, 3), Buffer.alloc(MIN_EVENT_BYTES)]),
    encodeRequest(2, Buffer.alloc(30, 1), [Buffer.alloc(32, 5)]),
    encodeResponse(3, Buffer.alloc(10, 1), [1, 2, 9]),
    encodeNack(4, NackCode.Version, 'v'),
  ];
  let ok = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = valid[i % valid.length]!;
    let buf: Buffer;
    if (i % 3 === 0) buf = base.subarray(0, Math.floor(rnd() * base.length));
    else {
      buf = Buffer.from(base);
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
    }
    try {
      decodeMessage(buf);
      ok++;
    } catch (e) {
      if (!(e instanceof SyncMessageError)) throw new Error(`case ${i} (${buf.toString('hex')}) threw ${String(e)}`);
    }
  }
  assert.ok(ok > 0 && ok < 20_000);
});

void test('packEvents cuts batches at the size limit and keeps order', () => {
  const evs = Array.from({ length: 50 }, (_, i) => Buffer.alloc(200, i));
  const packs = [...packEvents(9, evs, 1000)];
  assert.ok(packs.length > 1);
  for (const p of packs) assert.ok(p.length <= 1000, `${p.length}`);
  const back = packs.flatMap((p) => (decodeMessage(p) as { events: Buffer[] }).events);
  assert.deepEqual(back, evs);
  assert.deepEqual(packs.map((p) => (decodeMessage(p) as { more: boolean }).more), packs.map((_, i) => i < packs.length - 1), 'MORE on all but the last');
  assert.equal([...packEvents(0, [Buffer.alloc(5000)], 1000)].length, 1, 'an event above the limit travels alone');
  assert.deepEqual([...packEvents(0, [], 1000)], []);
});

void test('presence: online with counts, offline, cleared; bad ones rejected', () => {
  assert.deepEqual(decodePresence(encodePresence({ state: 'online', events: 5, at: 10 })), { state: 'online', events: 5, at: 10 });
  assert.deepEqual(decodePresence(encodePresence({ state: 'offline' })), { state: 'offline' });
  assert.deepEqual(decodePresence(Buffer.alloc(0)), { state: 'offline' });
  for (const bad of ['{', '[]', '{"v":2,"state":"online"}', '{"v":1,"state":"up"}', '{"v":1,"state":"online","events":-1}', 'x'.repeat(300)]) {
    assert.throws(() => decodePresence(Buffer.from(bad)), SyncMessageError, bad);
  }
});

void test('topics: each node writes under its own subtree; parse refuses anything else', () => {
  const t = new Topics(ORG);
  assert.equal(t.status('door-1'), `gdo/${ORG}/node/door-1/status`);
  assert.equal(t.direct('a', 'b'), `gdo/${ORG}/node/a/to/b`);
  assert.deepEqual(t.subscriptions('a'), [`gdo/${ORG}/node/+/status`, `gdo/${ORG}/node/+/events`, `gdo/${ORG}/node/+/to/a`]);
  assert.deepEqual(t.parse(t.events('x')), { kind: 'events', from: 'x' });
  assert.deepEqual(t.parse(t.direct('x', 'y')), { kind: 'direct', from: 'x', to: 'y' });
  assert.deepEqual(t.parse(t.enrol('n1')), { kind: 'enrol', from: 'n1' });
  for (const bad of [`gdo/${'cd'.repeat(32)}/node/x/events`, `gdo/${ORG}/node/X/events`, `gdo/${ORG}/node/x/events/more`, `gdo/${ORG}/node/x/to/`, `gdo/${ORG}/other/x`, 'gdo']) {
    assert.equal(t.parse(bad), null, bad);
  }
  assert.throws(() => new Topics('abc'), /64 hex digits/);
  assert.throws(() => checkNodeName('Bad_Name'), /a-z, 0-9/);
});

void test('sortByClock orders real events parents first, garbage last', () => {
  const f = new OrgFixture(['n1']);
  const chain = f.notes('n1', 20).map((e) => e.raw);
  const shuffled = [Buffer.from('junk'), ...chain.slice().reverse()];
  const sorted = sortByClock(shuffled);
  assert.deepEqual(sorted.slice(0, 20), chain);
  assert.equal(sorted[20]!.toString(), 'junk');
});
