// A peer flooding pending events over a real Mosquitto (issue 13 item 4): events signed by
// throw-away keys on made-up parents fill the pending pool only to its bound; each one that pushes
// older ones out is a strike, so the sender is muted and even its valid events are then ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { encodeEvents } from '../../agent/sync/messages.ts';
import { Topics } from '../../agent/sync/topics.ts';
import { signerFor } from '../ledger/helpers.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { OrgFixture, closeClient, ingestAll, syncNode, tempDir, waitFor } from './helpers.ts';

void test('throw-away keys with made-up parents over real Mosquitto: the pool stays bounded, the flooder is muted', { timeout: 60_000 }, async () => {
  const broker = await startMosquitto();
  const t = tempDir();
  const f = new OrgFixture(['victim', 'friend']);
  const v = t.ledger('victim', { pending: { maxCount: 40 } });
  const node = syncNode(v, broker.url, f.org, 'victim');
  let evil: mqtt.MqttClient | undefined;
  try {
    await ingestAll(v, f.genesis);
    await node.start();
    await node.waitConnected();
    evil = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const tp = new Topics(f.org);
    const before = node.status().counters.rejected;
    for (let i = 0; i < 120; i++) {
      const e = f.make(signerFor(`throwaway-${i}`), [randomBytes(32)], 'note', 'set', { k: 'x', v: i });
      await evil.publishAsync(tp.events('evil'), encodeEvents(0, [e.raw]), { qos: 1 });
    }
    await waitFor('the flood is counted', () => node.status().counters.rejected >= before + 60);
    await node.whenIdle();
    assert.ok(v.pendingCount() <= 40, `${v.pendingCount()} pending`);
    // Muted: a valid event it sends now is not listened to.
    const valid = f.notes('friend', 1)[0]!;
    await evil.publishAsync(tp.events('evil'), encodeEvents(0, [valid.raw]), { qos: 1 });
    await waitFor('the valid event is counted as dropped', () => node.status().counters.received >= 121);
    await node.whenIdle();
    assert.equal(v.hasEvent(valid.id), false, 'a muted peer is not listened to');
    assert.ok(v.pendingCount() <= 40);
  } finally {
    if (evil) await closeClient(evil);
    await node.stop();
    await broker.stop();
    t.cleanup();
  }
});
