// The embedded broker with a certificate: an mqtts:// URL, a verified client gets in, and stop() does not
// wait for a client that opened TCP and never finished (or began) its TLS handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import mqtt from 'mqtt';
import { issueServerCert } from '../../agent/enrol/site-ca.ts';
import { startEmbeddedBroker } from '../../agent/sync/embedded-broker.ts';
import { newCa, verifyAs } from './helpers.ts';

test('embedded broker over TLS: mqtts URL, verified client in, stop() cuts a stalled handshake', { timeout: 30_000 }, async () => {
  const ca = newCa();
  const leaf = issueServerCert(ca, { commonName: 'hub.local', dnsNames: ['hub.local'] });
  const broker = await startEmbeddedBroker({ port: 0, tls: { cert: leaf.certPem, key: leaf.keyPem } });
  assert.match(broker.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
  const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5000, ...verifyAs(ca) }, false);
  await c.endAsync();
  // A TCP connection that never says a word: TLS would wait for its ClientHello for two minutes.
  const stalled = connect({ host: '127.0.0.1', port: broker.port });
  await new Promise<void>((r) => stalled.once('connect', () => r()));
  const closed = new Promise<void>((r) => stalled.once('close', () => r()));
  await broker.stop();
  await closed;
});
