// Amplification bounds (docs/sync-protocol.md 7, issue 13 item 6): the EVENTS decoder refuses items
// shorter than the smallest event and messages with too many items, the ingest queue is bounded in
// events as well as bytes, and a responder's answer to one request, and to one peer over time, is
// cut at its byte budget with a Busy NACK instead of the whole ledger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_EVENTS_PER_MESSAGE, MAX_IDS_PER_MESSAGE, MIN_EVENT_BYTES, MsgType, NackCode, SyncMessageError, decodeMessage, encodeEvents,
  packEvents,
} from '../../agent/sync/messages.ts';
import { encodeVarint } from '../../agent/sync/rbsr/varint.ts';
import { IngestQueue } from '../../agent/sync/ingest-queue.ts';
import { serveRequest, type ResponderDeps } from '../../agent/sync/responder.ts';
import { LedgerItemSource } from '../../agent/sync/ledger-source.ts';
import { EventReader } from '../../agent/sync/event-reader.ts';
import { Reconciler } from '../../agent/sync/rbsr/reconciler.ts';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { DEFAULT_PEER_LIMITS, PeerGuard } from '../../agent/sync/rate-limit.ts';
import { resolveLimits } from '../../agent/sync/options.ts';
import { OrgFixture, ingestAll, tempDir } from './helpers.ts';

const fails = (buf: Buffer, re: RegExp): void => {
  assert.throws(() => decodeMessage(buf), (e: unknown) => e instanceof SyncMessageError && re.test(e.message), `should fail with ${re}`);
};

void test('a 1 MiB EVENTS message of zero-length events is refused at the decoder, not turned into a million items', () => {
  const n = 1_048_000;
  const zeros = Buffer.concat([Buffer.from([1, MsgType.Events, 0, 0, 0, 0, 0]), encodeVarint(n), Buffer.alloc(n)]);
  fails(zeros, /event count 1048000, at most 4096/);
  // Within the item cap, but each item shorter than the smallest event.
  const small = Buffer.concat([Buffer.from([1, MsgType.Events, 0, 0, 0, 0, 0]), encodeVarint(100), ...Array.from({ length: 100 }, () => Buffer.from([0]))]);
  fails(small, /event count 100 exceeds what the 100 bytes left can hold/);
  const padded = Buffer.concat([Buffer.from([1, MsgType.Events, 0, 0, 0, 0, 0, 2, 10]), Buffer.alloc(10), Buffer.alloc(2 * MIN_EVENT_BYTES)]);
  fails(padded, new RegExp(`event 0 of 10 bytes is shorter than the ${MIN_EVENT_BYTES} bytes of the smallest event`));
  fails(encodeEvents(0, Array.from({ length: MAX_EVENTS_PER_MESSAGE + 1 }, () => Buffer.alloc(MIN_EVENT_BYTES))), /event count 4097, at most 4096 per message/);
  const exact = decodeMessage(encodeEvents(0, Array.from({ length: MAX_EVENTS_PER_MESSAGE }, () => Buffer.alloc(MIN_EVENT_BYTES))));
  assert.equal(exact.type === 'events' && exact.events.length, MAX_EVENTS_PER_MESSAGE);
});

void test('the smallest real event is no shorter than MIN_EVENT_BYTES, and packEvents never puts more than the cap in a message', () => {
  const f = new OrgFixture([]);
  assert.ok(f.genesis[0]!.length >= MIN_EVENT_BYTES);
  const evs = Array.from({ length: MAX_EVENTS_PER_MESSAGE * 2 + 5 }, (_, i) => Buffer.alloc(MIN_EVENT_BYTES, i % 251));
  const packs = [...packEvents(0, evs, 16 * 1024 * 1024)];
  assert.deepEqual(packs.map((p) => (decodeMessage(p) as { events: Buffer[] }).events.length), [MAX_EVENTS_PER_MESSAGE, MAX_EVENTS_PER_MESSAGE, 5]);
});

void test('fetch ids per REQUEST and need indexes per RESPONSE are capped; limits cannot be set above the caps', () => {
  const n = MAX_IDS_PER_MESSAGE + 1;
  fails(Buffer.concat([Buffer.from([1, MsgType.Request, 0, 0, 0, 0, 0, 8]), encodeVarint(n), Buffer.alloc(n * 8)]), /fetch count 16385, at most 16384 per request/);
  fails(Buffer.concat([Buffer.from([1, MsgType.Response, 0, 0, 0, 0, 0]), encodeVarint(n), Buffer.alloc(n)]), /need index count 16385, at most 16384 per response/);
  assert.throws(() => resolveLimits({ maxFetch: n }), /maxFetch must not exceed 16384/);
  assert.throws(() => resolveLimits({ settleFrameMax: n }), /settleFrameMax must not exceed 16384/);
  assert.throws(() => resolveLimits({ maxQueuedEvents: 0 }), /maxQueuedEvents must be a positive integer/);
});

void test('the ingest queue is bounded in events as well as in bytes', async () => {
  const t = tempDir();
  try {
    const l = t.ledger('q');
    let results = 0;
    const q = new IngestQueue(l, { maxQueuedEvents: 10, onResult: (_p, raws) => { results += raws.length; }, onError: (e) => { throw e; } });
    const junk = (k: number): Buffer[] => Array.from({ length: k }, () => Buffer.alloc(MIN_EVENT_BYTES));
    assert.equal(q.push('p', junk(8)), true);
    assert.equal(q.queuedEvents, 8);
    assert.equal(q.push('p', junk(3)), false, 'eleven events do not fit a queue of ten, however few bytes they are');
    assert.equal(q.push('p', junk(2)), true);
    assert.equal(q.queuedEvents, 10);
    await q.idle();
    assert.equal(results, 10);
    assert.equal(q.queuedEvents, 0);
    assert.equal(q.push('p', junk(10)), true, 'room again once ingested');
    await q.idle();
  } finally {
    t.cleanup();
  }
});

interface Served { events: number; bytes: number; last: ReturnType<typeof decodeMessage>; messages: number }

async function serve(d: Omit<ResponderDeps, 'send' | 'stopped' | 'source' | 'reader'> & { source: LedgerItemSource; reader: EventReader }): Promise<Served> {
  const sent: Buffer[] = [];
  // The attacker's request: an empty id list over the whole range (what a node with nothing sends).
  const frame = new Reconciler(new MemoryItemSource(), d.reconciler).initiate();
  await serveRequest({ ...d, send: (p) => { sent.push(p); return true; }, stopped: () => false }, { type: 'request', session: 5, frame, fetch: [] });
  let events = 0;
  let bytes = 0;
  for (const p of sent.slice(0, -1)) {
    const m = decodeMessage(p);
    assert.equal(m.type, 'events');
    if (m.type === 'events') {
      events += m.events.length;
      bytes += m.events.reduce((n, e) => n + e.length, 0);
    }
  }
  return { events, bytes, last: decodeMessage(sent.at(-1)!), messages: sent.length };
}

void test('one small request is answered with at most maxAnswerBytes, then a Busy NACK; a peer has a bucket across requests', async () => {
  const t = tempDir();
  try {
    const f = new OrgFixture(['n1']);
    const l = t.ledger('resp');
    await ingestAll(l, [...f.genesis, ...f.notes('n1', 400).map((e) => e.raw)]);
    const total = l.count();
    const source = new LedgerItemSource(l.db);
    await source.load();
    const reader = new EventReader(l);
    const reconciler = { frameSizeLimit: 64 * 1024, settleMax: 2048, settleFrameMax: 16_384 };
    const base = { source, reader, reconciler, maxFetch: 4096, maxEventsMessageBytes: 8 * 1024 };

    const full = await serve({ ...base, maxAnswerBytes: 8 * 1024 * 1024, takeAnswer: () => true });
    assert.equal(full.events, total, 'within its budget a peer with nothing gets everything');
    assert.equal(full.last.type, 'response');

    const cut = await serve({ ...base, maxAnswerBytes: 20_000, takeAnswer: () => true });
    assert.ok(cut.events > 0 && cut.events < total, `${cut.events} of ${total}`);
    assert.ok(cut.bytes <= 20_000, `answered ${cut.bytes} bytes for a budget of 20000`);
    assert.equal(cut.last.type, 'nack');
    assert.equal(cut.last.type === 'nack' && cut.last.code, NackCode.Busy);
    assert.match(cut.last.type === 'nack' ? cut.last.reason : '', /answer cut after \d+ events/);

    // The peer's bucket: 30 kB at once, refilled at 1 kB/s on a clock that does not move.
    const clock = { t: 1_000_000 };
    const g = new PeerGuard({ ...DEFAULT_PEER_LIMITS, answerByteBurst: 30_000, answerBytesPerSec: 1000 }, () => clock.t);
    const takeAnswer = (n: number): boolean => g.takeAnswer('evil', n);
    let answered = 0;
    for (let i = 0; i < 5; i++) {
      const r = await serve({ ...base, maxAnswerBytes: 8 * 1024 * 1024, takeAnswer });
      assert.equal(r.last.type, 'nack', `request ${i}`);
      answered += r.bytes;
    }
    assert.ok(answered <= 30_000, `five requests answered ${answered} bytes, the bucket holds 30000`);
    clock.t += 10_000;
    const after = await serve({ ...base, maxAnswerBytes: 8 * 1024 * 1024, takeAnswer });
    assert.ok(after.bytes > 0 && after.bytes <= 10_000, `after 10 s at 1000 B/s: ${after.bytes}`);
    assert.equal(g.takeAnswer('other', 25_000), true, 'another peer has its own bucket');
  } finally {
    t.cleanup();
  }
});
