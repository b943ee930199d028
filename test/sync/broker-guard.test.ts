// The guard in front of the embedded broker (agent/sync/mqtt-guard.ts, docs/sync-protocol.md 6.7): the
// fixed-header scanner over chunks split anywhere, and the admission bounds of a real embedded broker with
// small limits: the oldest connection not logged in gives way to a new one, the total is capped, logged-in
// clients are not counted against the pre-login bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { FixedHeaderScanner } from '../../agent/sync/mqtt-guard.ts';
import { startEmbeddedBroker } from '../../agent/sync/embedded-broker.ts';
import { closeClient as close } from './helpers.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void test('fixed-header scanner: bounds by Remaining Length, first packet CONNECT, lengths over four bytes, any chunking', () => {
  const limit = (first: boolean): number => (first ? 16 : 200);
  // CONNECT of 2 + 10 bytes, then a PUBLISH of 2 + 150, then a PINGREQ (no body).
  const stream = Buffer.concat([Buffer.from([0x10, 10]), Buffer.alloc(10), Buffer.from([0x30, 0x96, 0x01]), Buffer.alloc(150), Buffer.from([0xc0, 0])]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const s = new FixedHeaderScanner(limit);
    assert.equal(s.feed(stream.subarray(0, cut)), null, `split at ${cut}`);
    assert.equal(s.feed(stream.subarray(cut)), null, `split at ${cut}`);
  }
  const byteByByte = new FixedHeaderScanner(limit);
  for (const b of stream) assert.equal(byteByByte.feed(Buffer.from([b])), null);
  assert.match(new FixedHeaderScanner(limit).feed(Buffer.from([0x10, 15]))!, /packet of 17 bytes, limit 16/);
  assert.equal(new FixedHeaderScanner(limit).feed(Buffer.from([0x10, 14])), null, 'exactly at the bound');
  assert.match(new FixedHeaderScanner(limit).feed(Buffer.from([0x30, 0]))!, /first packet is not CONNECT/);
  assert.match(new FixedHeaderScanner(limit).feed(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80]))!, /longer than four bytes/);
  // 256 MB announced: refused at the header, long before the body.
  assert.match(new FixedHeaderScanner(limit).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]))!, /limit 16/);
  const later = new FixedHeaderScanner(limit);
  assert.equal(later.feed(Buffer.from([0x10, 0])), null);
  assert.match(later.feed(Buffer.from([0x30, 0xc8, 0x01]))!, /packet of 203 bytes, limit 200/);
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}
const alive = (s: Socket): boolean => !s.destroyed && !s.closed;

void test('embedded broker admission: the oldest pre-login connection gives way, the total is capped, logged-in clients do not count as pending', async () => {
  const broker = await startEmbeddedBroker({ port: 0, limits: { maxPending: 3, maxPendingPerAddress: 10, maxConnections: 5, connectTimeoutMs: 60_000 } });
  const socks: Socket[] = [];
  const clients: mqtt.MqttClient[] = [];
  try {
    for (let i = 0; i < 3; i++) socks.push(await open(broker.port));
    await sleep(100);
    assert.deepEqual(broker.connections(), { open: 3, pending: 3 });
    socks.push(await open(broker.port));
    await sleep(200);
    assert.deepEqual(socks.map(alive), [false, true, true, true], 'the oldest idle connection was cut for the new one');
    // An honest client arriving at the bound cuts the oldest idle one too, then, logged in, is no longer pending.
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 }, false);
    clients.push(c);
    await sleep(100);
    assert.deepEqual(broker.connections(), { open: 3, pending: 2 });
    assert.deepEqual(socks.map(alive), [false, false, true, true]);
    socks.push(await open(broker.port));
    await sleep(200);
    assert.equal(c.connected, true, 'a logged-in client is never evicted');
    assert.deepEqual(broker.connections(), { open: 4, pending: 3 });
  } finally {
    for (const s of socks) s.destroy();
    for (const cl of clients) await close(cl);
    await broker.stop();
  }

  const capped = await startEmbeddedBroker({ port: 0, limits: { maxConnections: 3 } });
  const more: Socket[] = [];
  const logged: mqtt.MqttClient[] = [];
  try {
    for (let i = 0; i < 2; i++) logged.push(await mqtt.connectAsync(capped.url, { reconnectPeriod: 0 }, false));
    more.push(await open(capped.port));
    await sleep(100);
    assert.deepEqual(capped.connections(), { open: 3, pending: 1 });
    const refused = await open(capped.port);
    more.push(refused);
    await sleep(200);
    assert.equal(alive(refused), false, 'over maxConnections: closed at accept');
    assert.equal(alive(more[0]!), true, 'the earlier connection stays');
    assert.ok(logged.every((c) => c.connected));
    more[0]!.destroy();
    await sleep(200);
    const later = await mqtt.connectAsync(capped.url, { reconnectPeriod: 0 }, false);
    logged.push(later);
    assert.equal(later.connected, true, 'a place that frees up is taken again');
  } finally {
    for (const s of more) s.destroy();
    for (const cl of logged) await close(cl);
    await capped.stop();
  }
});
