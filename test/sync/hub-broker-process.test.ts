// A hub agent process running the embedded broker (sync.broker "embedded"): its accounts come from its
// ledger and the broker secret (docs/sync-protocol.md 6), never an open broker. Wrong passwords, revoked
// nodes and writes on another node's topics are refused; an enrolled node is let in; a provisioned name
// that is not enrolled may only write its enrolment request; a revocation that reaches the hub by sync cuts
// the node off at once. Without a readable secret the broker does not start, with one line naming the key.
// The broker listens with TLS (a certificate from the site CA): plain TCP, another CA and another name are
// refused before any MQTT byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { act } from '../../agent/access/staff.ts';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { derivePassword } from '../../agent/sync/broker-auth.ts';
import { collectEnrolmentRequests, publishEnrolmentRequest } from '../../agent/sync/enrol-topic.ts';
import { SyncNode } from '../../agent/sync/sync-node.ts';
import { Topics } from '../../agent/sync/topics.ts';
import { spawnAgent, tempDir, writeJson, type AgentProcess } from '../daemon/helpers.ts';
import { signerFor } from '../ledger/helpers.ts';
import { closeClient as close, collectUntil } from './helpers.ts';
import { newCa, verifyAs, writeBrokerTls } from '../tls/helpers.ts';
import type { SiteCa } from '../../agent/enrol/site-ca.ts';
import { freePort } from '../helpers/free-port.ts';

const REFUSED = /Not authorized|Bad username|refused|password/i;
const keyOf = (name: string): string => signerFor(name).publicKey.toString('hex');

/** The office's ledger and a copy in the hub's state directory: hub, door-a, door-b enrolled, old-door revoked. */
function seed(officeDir: string, hubDir: string): { org: string; office: Ledger } {
  const admin = signerFor('admin');
  const office = Ledger.open({ path: join(officeDir, 'ledger.db'), dapps: allDapps });
  const g = act(office, admin, 'org', 'genesis', { name: 'Hub Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] });
  act(office, admin, 'org', 'node.add', { key: keyOf('hub'), name: 'hub', roles: ['hub'] });
  for (const n of ['door-a', 'door-b', 'old-door']) act(office, admin, 'org', 'node.add', { key: keyOf(n), name: n, roles: ['door'] });
  act(office, admin, 'org', 'key.revoke', { key: keyOf('old-door') });
  const hub = Ledger.open({ path: join(hubDir, 'ledger.db'), dapps: allDapps });
  hub.ingest([...office.events()]);
  hub.close();
  return { org: g.id.toString('hex'), office };
}

function hubConfig(dir: string, org: string, listen: string): string {
  return writeJson(`${dir}.json`, {
    node: { name: 'hub', roles: ['hub'] }, org, state_dir: dir,
    sync: { broker: 'embedded', embedded_listen: listen, broker_operators: ['office'], ca_file: 'ca.crt' }, http: { listen: '127.0.0.1:0' },
  });
}

let siteCa: SiteCa;

async function connect(url: string, username?: string, password?: string, tls: object = verifyAs(siteCa)): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...tls, ...(username ? { username } : {}), ...(password ? { password } : {}) }, false);
}

/** Resolves when the broker drops the client. */
function dropped(c: mqtt.MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the broker did not drop the client')), 10_000);
    c.once('close', () => { clearTimeout(t); resolve(); });
  });
}

void test('hub agent with the embedded broker: wrong password, revoked node and foreign topics refused; enrolled node in; a revocation by sync cuts it off', { timeout: 90_000 }, async () => {
  const t = tempDir('gdo-hub-broker-');
  const hubDir = join(t.dir, 'hub');
  for (const d of ['office', 'hub']) mkdirSync(join(t.dir, d));
  const { org, office } = seed(join(t.dir, 'office'), hubDir);
  const secret = randomBytes(32);
  // The default sync.broker_secret_file: broker.secret in state_dir, as first boot writes it.
  writeFileSync(join(hubDir, 'broker.secret'), `${secret.toString('hex')}\n`, { mode: 0o600 });
  siteCa = writeBrokerTls(hubDir);
  const hub: AgentProcess = spawnAgent(hubConfig(hubDir, org, '127.0.0.1:0'));
  const clients: mqtt.MqttClient[] = [];
  let sync: SyncNode | undefined;
  try {
    const listening = await hub.waitForLog((l) => /^embedded broker listening on /.test(l.msg), 'the embedded broker');
    assert.equal(listening['tls'], 'hub.local', 'TLS, as the name in its certificate');
    const port = Number(/:(\d+)$/.exec(String(listening['listen']))![1]);
    const url = `mqtts://127.0.0.1:${port}`;
    const pw = (n: string): string => derivePassword(secret, org, n);
    const tp = new Topics(org);
    const tls = verifyAs(siteCa);

    // TLS first: plain TCP, a client trusting another CA, and one expecting another name never get to log in.
    await assert.rejects(connect(`mqtt://127.0.0.1:${port}`, 'door-a', pw('door-a')), /Couldn't connect|closed|ECONNRESET/i, 'plain TCP');
    await assert.rejects(connect(url, 'door-a', pw('door-a'), verifyAs(newCa('Elsewhere'))), /self.signed|unable to verify|local issuer/i, 'another CA');
    await assert.rejects(connect(url, 'door-a', pw('door-a'), verifyAs(siteCa, 'evil.local')), /Hostname\/IP does not match/, 'another name');
    await assert.rejects(connect(url, 'door-a', pw('door-a'), { rejectUnauthorized: true }), /self.signed|unable to verify|local issuer/i, 'the system CAs do not know the site CA');

    await assert.rejects(connect(url, 'door-a', 'wrong'), REFUSED, 'a wrong password');
    await assert.rejects(connect(url, 'door-a', pw('door-b')), REFUSED, "another node's password");
    await assert.rejects(connect(url), REFUSED, 'anonymous');
    await assert.rejects(connect(url, 'old-door', pw('old-door')), REFUSED, 'a revoked node has no account');
    await assert.rejects(connect(url, 'door-new', derivePassword(randomBytes(32), org, 'door-new')), REFUSED, 'a password from another secret');

    // Enrolled nodes get in; one writing on another node's topic is dropped and nothing is delivered.
    const a = await connect(url, 'door-a', pw('door-a'));
    const b = await connect(url, 'door-b', pw('door-b'));
    clients.push(a, b);
    await b.subscribeAsync([`gdo/${org}/node/+/events`, `gdo/${org}/node/+/to/door-b`], { qos: 1 });
    const seen = collectUntil(b, 'marker');
    const aDropped = dropped(a);
    a.publish(tp.events('door-b'), 'forged-by-a', { qos: 1 });
    await aDropped;
    const a2 = await connect(url, 'door-a', pw('door-a'));
    clients.push(a2);
    await a2.publishAsync(tp.direct('door-a', 'door-b'), 'hello', { qos: 1 });
    await a2.publishAsync(tp.events('door-a'), 'marker', { qos: 1 });
    assert.deepEqual(await seen, [`${tp.direct('door-a', 'door-b')} hello`, `${tp.events('door-a')} marker`]);

    // A provisioned name (its password derives from the secret) that is not enrolled: its request only.
    await publishEnrolmentRequest({ url, tls, orgId: org, username: 'door-new', password: pw('door-new'), name: 'door-new', payload: Buffer.from('signed request') });
    const n = await connect(url, 'door-new', pw('door-new'));
    clients.push(n);
    const nDropped = dropped(n);
    n.publish(tp.events('door-new'), 'not yet', { qos: 1 });
    await nDropped;
    const login = { username: 'office', password: pw('office') };
    const reqs = await collectEnrolmentRequests({ url, tls, orgId: org, waitMs: 300, ...login });
    assert.deepEqual(reqs.map((r) => [r.name, r.payload.toString()]), [['door-new', 'signed request']], 'the operator collects it');

    // The office revokes door-b and syncs it to the hub: door-b's open connection is cut, and it stays out.
    const bDropped = dropped(b);
    sync = new SyncNode({ ledger: office, url, tls, orgId: org, nodeName: 'office', reconnectPeriodMs: 200, liveSyncDelayMs: 100, ...login });
    await sync.start();
    act(office, signerFor('admin'), 'org', 'key.revoke', { key: keyOf('door-b') });
    await bDropped;
    await assert.rejects(connect(url, 'door-b', pw('door-b')), REFUSED, 'revoked while the hub runs');
    const a3 = await connect(url, 'door-a', pw('door-a'));
    clients.push(a3);
    assert.ok(a3.connected, 'the others stay in');
    assert.ok(!hub.stdout().includes(secret.toString('hex')) && !hub.stdout().includes(pw('door-a')), 'no secret or password in the log');
    await sync.stop();
    sync = undefined;
    assert.equal((await hub.stop()).code, 0);
  } finally {
    for (const c of clients) await close(c);
    await sync?.stop();
    office.close();
    await hub.stop('SIGKILL');
    t.dispose();
  }
});

void test('hub agent without its broker secret: the broker does not start, one line names sync.broker_secret_file; it starts once the file is right', { timeout: 60_000 }, async () => {
  const t = tempDir('gdo-hub-broker-');
  const hubDir = join(t.dir, 'hub');
  for (const d of ['office', 'hub']) mkdirSync(join(t.dir, d));
  const { org, office } = seed(join(t.dir, 'office'), hubDir);
  office.close();
  const port = await freePort();
  siteCa = writeBrokerTls(hubDir);
  const hub = spawnAgent(hubConfig(hubDir, org, `127.0.0.1:${port}`));
  const secretFile = join(hubDir, 'broker.secret');
  const failed = (re: RegExp) => (l: { part?: unknown; msg: string }): boolean => l.part === 'broker' && re.test(l.msg);
  try {
    const missing = await hub.waitForLog(failed(/^broker failed: /), 'the broker part failing');
    assert.match(missing.msg, /^broker failed: sync\.broker_secret_file: no broker secret at \S+broker\.secret \(ENOENT\); the embedded broker does not run without one: make it with 'gdo broker secret --out \S+' \(mode 0600\)/);
    assert.ok(!missing.msg.includes('\n'), 'one line');
    await assert.rejects(connect(`mqtts://127.0.0.1:${port}`, 'hub', 'x'), /ECONNREFUSED/, 'nothing listens: no open broker');
    const st = (await hub.get('/status')).json() as { parts: { name: string; state: string; detail?: string }[] };
    const part = (name: string) => st.parts.find((p) => p.name === name);
    assert.equal(part('broker')?.state, 'failed');
    assert.match(part('broker')?.detail ?? '', /sync\.broker_secret_file/);
    assert.equal(part('sync')?.state, 'waiting');

    // Readable by others: refused too. Then the right mode: the retry starts the broker, no restart needed.
    const secret = randomBytes(32);
    writeFileSync(secretFile, `${secret.toString('hex')}\n`, { mode: 0o644 });
    chmodSync(secretFile, 0o644);
    const open = await hub.waitForLog(failed(/readable by others/), 'the world-readable secret refused');
    assert.match(open.msg, /^broker failed: sync\.broker_secret_file: \S+ is readable by others \(mode 0644\); run chmod 600 /);
    chmodSync(secretFile, 0o600);
    await hub.waitForLog((l) => l.msg === `embedded broker listening on 127.0.0.1:${port}`, 'the broker once the secret is right', 30_000);
    const c = await connect(`mqtts://127.0.0.1:${port}`, 'door-a', derivePassword(secret, org, 'door-a'));
    await close(c);
    assert.ok(!hub.stdout().includes(secret.toString('hex')), 'the secret is never logged');
    assert.equal((await hub.stop()).code, 0);
  } finally {
    await hub.stop('SIGKILL');
    t.dispose();
  }
});
