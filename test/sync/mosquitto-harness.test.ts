// Proves the Mosquitto harness: a real broker starts on a free port, carries an MQTT
// publish/subscribe round trip, restarts on the same port (keeping retained messages when
// persistence is on) and refuses anonymous clients when given a password file.
// Without mosquitto installed this FAILS on purpose: CI must run the real broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto } from '../helpers/mosquitto.ts';

async function nextMessage(client: mqtt.MqttClient, topic: string): Promise<{ payload: string; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 10 s`)), 10_000);
    client.on('message', (t, payload, packet) => {
      if (t !== topic) return;
      clearTimeout(timer);
      resolve({ payload: payload.toString(), retain: packet.retain });
    });
  });
}

void test('mosquitto harness: publish/subscribe round trip through a real broker', { timeout: 60_000 }, async () => {
  const broker = await startMosquitto();
  try {
    assert.equal(broker.url, `mqtt://127.0.0.1:${broker.port}`);
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'harness-sub', reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'harness-pub', reconnectPeriod: 0 });
    try {
      await sub.subscribeAsync('gdo/test/ping', { qos: 1 });
      const got = nextMessage(sub, 'gdo/test/ping');
      await pub.publishAsync('gdo/test/ping', 'hello', { qos: 1 });
      assert.deepEqual(await got, { payload: 'hello', retain: false });
    } finally {
      await sub.endAsync();
      await pub.endAsync();
    }
  } finally {
    await broker.stop();
  }
  assert.equal(existsSync(broker.dir), false, 'stop() removes the temp dir');
});

void test('mosquitto harness: restart() keeps the port, persistence keeps retained messages', { timeout: 60_000 }, async () => {
  const broker = await startMosquitto({ persistence: true });
  try {
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await pub.publishAsync('gdo/test/retained', 'kept', { qos: 1, retain: true });
    await pub.endAsync();
    const port = broker.port;
    await broker.restart();
    assert.equal(broker.port, port);
    const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    try {
      const got = nextMessage(sub, 'gdo/test/retained');
      await sub.subscribeAsync('gdo/test/retained', { qos: 1 });
      assert.deepEqual(await got, { payload: 'kept', retain: true });
    } finally {
      await sub.endAsync();
    }
  } finally {
    await broker.stop();
  }
});

void test('mosquitto harness: a password file turns anonymous access off', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-mosquitto-pw-'));
  const passwordFile = join(dir, 'passwd');
  execFileSync('mosquitto_passwd', ['-c', '-b', passwordFile, 'door', 's3cret'], { stdio: 'ignore' });
  const broker = await startMosquitto({ passwordFile });
  try {
    await assert.rejects(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5000 }), /Not authorized|Bad username|refused/i);
    const ok = await mqtt.connectAsync(broker.url, { username: 'door', password: 's3cret', reconnectPeriod: 0 });
    await ok.endAsync();
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
