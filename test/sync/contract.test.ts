// The sync contract, run against both brokers (real Mosquitto and the embedded aedes):
// convergence with live events and presence; hostile payloads (garbage, forged, oversized,
// replayed, floods) rejected without harm; an outage of a broker with persistence off; a
// node restarted in the middle of a catch-up; a node 10,000 events behind, with decisions
// answered while it catches up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import type { Ledger } from '../../agent/ledger/ledger.ts';
import { encodeEvents, encodeRequest, encodeResponse, decodeMessage } from '../../agent/sync/messages.ts';
import { Topics } from '../../agent/sync/topics.ts';
import type { SyncNode } from '../../agent/sync/sync-node.ts';
import { signerFor } from '../ledger/helpers.ts';
import { BROKER_KINDS, OrgFixture, brokerTls, ingestAll, startBroker, syncNode, tempDir, waitFor, type TestBroker, type TempDir } from './helpers.ts';

async function withWorld(kind: (typeof BROKER_KINDS)[number], names: string[], body: (w: { broker: TestBroker; t: TempDir; f: OrgFixture; nodes: SyncNode[] }) => Promise<void>): Promise<void> {
  const broker = await startBroker(kind);
  const t = tempDir();
  const nodes: SyncNode[] = [];
  try {
    await body({ broker, t, f: new OrgFixture(names), nodes });
  } finally {
    for (const n of nodes) await n.stop();
    await broker.stop();
    t.cleanup();
  }
}

/** Timers and sockets alive in this process, by kind. */
function resources(): string {
  const kinds = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r.startsWith('TCP'));
  return kinds.sort().join(',');
}

const same = (a: Ledger, b: Ledger): boolean => a.count() === b.count() && a.stateHash() === b.stateHash();

for (const kind of BROKER_KINDS) {
  void test(`${kind}: two nodes converge, then live events flow; presence and status follow`, { timeout: 60_000 }, async () => {
    await withWorld(kind, ['node-a', 'node-b'], async ({ broker, t, f, nodes }) => {
      const a = t.ledger('a');
      const b = t.ledger('b');
      await ingestAll(a, [...f.genesis, ...f.notes('node-a', 120).map((e) => e.raw)]);
      await ingestAll(b, [...f.genesis, ...f.notes('node-b', 80).map((e) => e.raw)]);
      const baseline = resources();
      let daemonSaw = 0;
      b.onAppend = (evs) => { daemonSaw += evs.length; }; // a handler already there is kept, not replaced
      const na = syncNode(a, broker.url, f.org, 'node-a');
      const nb = syncNode(b, broker.url, f.org, 'node-b');
      nodes.push(na, nb);
      assert.equal(na.status().connected, false);
      assert.equal(na.status().lastContactMs, null);
      await na.start();
      await na.waitConnected();
      await nb.start();
      await waitFor('a and b converge', () => same(a, b));
      assert.equal(a.count(), f.genesis.length + 200);
      assert.equal(daemonSaw, 120, 'the existing onAppend handler still sees every append');
      a.append(signerFor('node-a'), 'note', 'set', { k: 'live', v: 42 });
      await waitFor('the live event reaches b', () => b.get('note/v/live') === 42);
      await nb.whenIdle();
      const sa = na.status();
      const sb = nb.status();
      assert.equal(sa.connected, true);
      assert.deepEqual(sb.peers.map((p) => [p.name, p.online]), [['node-a', true]]);
      assert.ok(sb.lastContactMs !== null && sa.lastContactMs !== null);
      assert.equal(sb.counters.rounds + sa.counters.rounds > 0, true);
      assert.equal(sa.counters.rejected + sb.counters.rejected, 0);
      assert.ok(sa.counters.eventsSent >= 121 && sb.counters.eventsAccepted >= 121, JSON.stringify(sb.counters));
      // A clean stop says offline (retained) and leaves the ledger hook as it found it.
      await nb.stop();
      assert.equal(typeof b.onAppend, 'function');
      b.append(signerFor('node-b'), 'note', 'set', { k: 'after', v: 1 });
      assert.equal(daemonSaw, 122);
      await waitFor('a sees b offline', () => na.status().peers.find((p) => p.name === 'node-b')?.online === false);
      await na.stop();
      assert.equal(a.onAppend, null, 'no handler was there before a started');
      // Nothing left behind: no timer, no socket (the broker's own are in the baseline).
      await waitFor('stopped nodes leave no handles', () => resources() === baseline, 5000).catch(() => {
        assert.equal(resources(), baseline);
      });
    });
  });

  void test(`${kind}: garbage, forged, oversized and replayed payloads are rejected, floods muted, nothing breaks`, { timeout: 60_000 }, async () => {
    await withWorld(kind, ['victim', 'friend'], async ({ broker, t, f, nodes }) => {
      const v = t.ledger('victim');
      const fr = t.ledger('friend');
      await ingestAll(v, f.genesis);
      await ingestAll(fr, f.genesis);
      const nv = syncNode(v, broker.url, f.org, 'victim');
      nodes.push(nv);
      await nv.start();
      await nv.waitConnected();
      const tp = new Topics(f.org);
      const real: Array<{ id: Buffer; raw: Buffer }> = [];
      const evil = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, ...brokerTls(broker.url) });
      try {
        const nacks: Buffer[] = [];
        await evil.subscribeAsync(tp.direct('victim', 'evil'), { qos: 1 });
        evil.on('message', (_t, p) => nacks.push(p));
        const pub = (topic: string, payload: Buffer): Promise<unknown> => evil.publishAsync(topic, payload, { qos: 1 });
        const good = f.notes('evil-author', 1)[0]!; // a valid signature by a key the org never enrolled
        real.push(...f.notes('friend', 2));
        const forged = Buffer.from(real[0]!.raw);
        forged[forged.length - 1]! ^= 0xff; // break the signature
        await pub(tp.events('evil'), Buffer.from('not a sync message'));
        await pub(tp.direct('evil', 'victim'), Buffer.from([1, 2, 0, 0, 0, 1, 50, 1, 2]));
        await pub(tp.events('evil'), encodeEvents(0, [forged, Buffer.alloc(200, 'garbage event'), good.raw]));
        // Oversized: the embedded broker refuses it (and drops the sender), Mosquitto without
        // max_packet_size passes it on and the node rejects it unread. Sent from a throwaway client.
        const big = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, ...brokerTls(broker.url) });
        await Promise.race([big.publishAsync(tp.events('evil'), Buffer.alloc(1_500_000), { qos: 1 }).catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
        await Promise.race([big.endAsync(true), new Promise((r) => setTimeout(r, 1000))]);
        await pub(tp.direct('evil', 'victim'), encodeResponse(12345, Buffer.from([1]), []));
        await pub(tp.direct('evil', 'victim'), encodeRequest(7, Buffer.from([1, 9, 9, 9]), []));
        await pub(tp.direct('evil', 'victim'), encodeRequest(8, null, [Buffer.alloc(32)]));
        // A replay of a valid message: the event is taken once, the copy dropped unread.
        const valid = encodeEvents(0, [real[0]!.raw]);
        await pub(tp.events('evil'), valid);
        await pub(tp.events('evil'), valid);
        await waitFor('victim stored the one valid event', () => v.hasEvent(real[0]!.id));
        await waitFor('victim answered both requests', () => nacks.length >= 2);
        const answers = nacks.map((p) => decodeMessage(p));
        assert.deepEqual(answers.map((m) => m.type).sort(), ['nack', 'response'], 'a bad frame is NACKed; a fetch of an unknown id gets an empty answer');
        assert.equal(v.hasEvent(good.id), false, 'an event signed by an unknown key never lands');
        assert.equal(v.count(), f.genesis.length + 1);
        await nv.whenIdle();
        const before = nv.status().counters.rejected;
        assert.ok(before >= (kind === 'mosquitto' ? 8 : 7), `rejected ${before}`);
        // A flood of garbage mutes the sender: then even its valid events are ignored for a while.
        for (let i = 0; i < 40; i++) evil.publish(tp.events('evil'), Buffer.from(`junk ${i}`), { qos: 0 });
        await pub(tp.events('evil'), encodeEvents(0, [real[1]!.raw]));
        await waitFor('the flood is counted', () => nv.status().counters.rejected >= before + 41);
        await nv.whenIdle();
        assert.equal(v.hasEvent(real[1]!.id), false, 'a muted peer is not listened to');
      } finally {
        await evil.endAsync(true);
      }
      // The victim is unharmed: it still converges with an honest peer.
      await ingestAll(fr, [...real.map((e) => e.raw), ...f.notes('friend', 30, real[1]!.id, 'fr').map((e) => e.raw)]);
      const nf = syncNode(fr, broker.url, f.org, 'friend');
      nodes.push(nf);
      await nf.start();
      await waitFor('victim and friend converge', () => v.hasEvent(fr.heads().map((h) => Buffer.from(h, 'hex'))[0]!) && fr.count() === v.count());
      assert.equal(v.stateHash(), fr.stateHash());
    });
  });

  void test(`${kind}: an outage of a broker with persistence off: events made meanwhile converge by reconciliation`, { timeout: 60_000 }, async () => {
    await withWorld(kind, ['node-a', 'node-b'], async ({ broker, t, f, nodes }) => {
      const a = t.ledger('a');
      const b = t.ledger('b');
      await ingestAll(a, f.genesis);
      await ingestAll(b, f.genesis);
      const na = syncNode(a, broker.url, f.org, 'node-a');
      const nb = syncNode(b, broker.url, f.org, 'node-b');
      nodes.push(na, nb);
      await na.start();
      await nb.start();
      await na.waitConnected();
      await nb.waitConnected();
      await broker.down();
      await waitFor('both notice the outage', () => !na.status().connected && !nb.status().connected);
      for (let i = 0; i < 25; i++) a.append(signerFor('node-a'), 'note', 'set', { k: `a${i}`, v: i });
      for (let i = 0; i < 35; i++) b.append(signerFor('node-b'), 'note', 'set', { k: `b${i}`, v: i });
      assert.notEqual(a.stateHash(), b.stateHash());
      await broker.up(); // empty: no retained status, no queued message survived
      await waitFor('both reconnect', () => na.status().connected && nb.status().connected);
      await waitFor('a and b converge after the outage', () => same(a, b));
      assert.equal(a.count(), f.genesis.length + 60);
    });
  });

  void test(`${kind}: a node restarted in the middle of a catch-up converges`, { timeout: 90_000 }, async () => {
    await withWorld(kind, ['node-a', 'node-b'], async ({ broker, t, f, nodes }) => {
      const a = t.ledger('a');
      await ingestAll(a, [...f.genesis, ...f.notes('node-a', 4000).map((e) => e.raw)]);
      let b = t.ledger('b');
      await ingestAll(b, f.genesis);
      const na = syncNode(a, broker.url, f.org, 'node-a');
      nodes.push(na);
      await na.start();
      await na.waitConnected();
      const nb = syncNode(b, broker.url, f.org, 'node-b', { limits: { ingestChunk: 16 } });
      await nb.start();
      const base = f.genesis.length;
      await waitFor('b is part way through', () => b.count() > base + 100, 30_000);
      await nb.stop();
      const partial = b.count();
      assert.ok(partial < a.count(), `b already had everything (${partial}): the restart would prove nothing`);
      b.close();
      b = t.ledger('b'); // the same file, reopened as after a reboot
      assert.equal(b.count(), partial, 'what was ingested before the stop is kept');
      const nb2 = syncNode(b, broker.url, f.org, 'node-b');
      nodes.push(nb2);
      await nb2.start();
      await waitFor('b catches up after its restart', () => same(a, b), 60_000);
    });
  });

  void test(`${kind}: a node 10,000 events behind catches up while decisions keep being answered`, { timeout: 120_000 }, async () => {
    await withWorld(kind, ['node-a', 'node-b'], async ({ broker, t, f, nodes }) => {
      const a = t.ledger('a');
      const b = t.ledger('b');
      await ingestAll(a, [...f.genesis, ...f.notes('node-a', 10_000).map((e) => e.raw)]);
      await ingestAll(b, f.genesis);
      const na = syncNode(a, broker.url, f.org, 'node-a');
      const nb = syncNode(b, broker.url, f.org, 'node-b');
      nodes.push(na, nb);
      await na.start();
      await na.waitConnected();
      // A stand-in for the door: an indexed state read every 2 ms, noting how far the catch-up was.
      const base = b.count();
      const answeredDuring: number[] = [];
      const door = setInterval(() => {
        const n = b.count();
        b.get('note/v/node-a0');
        if (n > base && n < a.count()) answeredDuring.push(n);
      }, 2);
      try {
        await nb.start();
        await waitFor('b holds all 10,000 events', () => same(a, b), 90_000);
      } finally {
        clearInterval(door);
      }
      await nb.whenIdle();
      const distinct = new Set(answeredDuring).size;
      assert.ok(distinct >= 5, `decisions were answered at only ${distinct} distinct points of the catch-up`);
      const s = nb.status().counters;
      assert.ok(s.rounds <= 4, `catch-up took ${s.rounds} round trips`);
      assert.equal(s.rejected, 0);
    });
  });
}
