// A site running its own Mosquitto, as README and provisioning/README.md type it: `gdo broker mosquitto-config`
// writes the whole configuration (TLS listener from the site CA, passwd and acl from the ledger), the real
// mosquitto runs it, and the gdo agent beside it (sync.mosquitto_dir) keeps the accounts current: a node
// approved after the start gets in and syncs, a revoked one is refused; a client trusting another CA, one
// expecting another name, and plain TCP never get to log in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { act } from '../../agent/access/staff.ts';
import { allDapps } from '../../agent/dapps.ts';
import { ensureNodeKeys } from '../../agent/enrol/node-keys.ts';
import { createSiteCa, readSiteCa } from '../../agent/enrol/site-ca.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { derivePassword, newBrokerSecretText, parseBrokerSecret } from '../../agent/sync/broker-auth.ts';
import { SyncNode } from '../../agent/sync/sync-node.ts';
import { findMosquitto } from '../helpers/mosquitto.ts';
import { spawnAgent, writeJson, type AgentProcess } from '../daemon/helpers.ts';
import { foundOrg, gdoCli, signerFor, tempDir } from '../enrol/helpers.ts';
import { newCa, verifyAs } from './helpers.ts';
import { freePort } from '../helpers/free-port.ts';

const keyOf = (name: string): string => signerFor(name).publicKey.toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`mosquitto did not listen on ${port}: ${log()}`);
}

async function tryConnect(url: string, username: string, password: string, tls: object): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, username, password, ...tls }, false);
}

/** Resolves once `fn` succeeds (a SIGHUP'd Mosquitto takes a moment to read the files). */
async function eventually<T>(what: string, fn: () => Promise<T>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try { return await fn(); } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(200);
    }
  }
}

void test('a site\'s own Mosquitto from gdo broker mosquitto-config: TLS only; approvals and revocations reach it through the agent beside it', { timeout: 120_000 }, async (t) => {
  const tmp = tempDir('mosquitto-site');
  t.after(tmp.cleanup);
  const desk = join(tmp.dir, 'space');
  const mq = join(tmp.dir, 'mosquitto');
  const hostDir = join(tmp.dir, 'broker-host');
  for (const d of [desk, mq, hostDir]) mkdirSync(d, { recursive: true });
  // The admin's data directory as gdo init leaves it: the ledger, the site CA, the broker secret.
  const org = foundOrg(desk);
  t.after(() => org.ledger.close());
  createSiteCa(desk, 'Test Space');
  writeFileSync(join(desk, 'broker.secret'), newBrokerSecretText(), { mode: 0o600 });
  const secret = parseBrokerSecret(readFileSync(join(desk, 'broker.secret'), 'utf8'));
  const pw = (n: string): string => derivePassword(secret, org.org, n);
  act(org.ledger, org.admin, 'org', 'node.add', { key: keyOf('door-a'), name: 'door-a', roles: ['door'] });

  const port = await freePort();
  const pidFile = join(mq, 'mosquitto.pid');
  const gen = gdoCli(['broker', 'mosquitto-config', '--out', mq, '--name', 'broker.local,127.0.0.1', '--port', String(port), '--pid-file', pidFile,
    '--operators', 'desk', ...(process.getuid?.() === 0 ? ['--user', 'root'] : []), '--data', desk]);
  assert.equal(gen.code, 0, gen.stderr);
  assert.match(gen.stdout, /TLS on port \d+ as broker\.local, 127\.0\.0\.1/);
  const conf = readFileSync(join(mq, 'mosquitto.conf'), 'utf8');
  assert.match(conf, /^allow_anonymous false$/m);
  assert.match(conf, new RegExp(`^listener ${port}$`, 'm'));
  assert.match(conf, /^certfile .*broker\.crt$/m);
  assert.doesNotMatch(conf, /^listener 1883/m, 'no plain listener');
  assert.equal(statSync(join(mq, 'broker.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(mq, 'passwd')).mode & 0o777, 0o640);
  const acl = readFileSync(join(mq, 'acl'), 'utf8');
  assert.match(acl, /^user door-a$/m);
  assert.match(acl, /^user desk$/m);

  const bin = findMosquitto();
  let mlog = '';
  const broker = spawn(bin, ['-c', join(mq, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  broker.stderr.on('data', (d: Buffer) => { if (mlog.length < 16_384) mlog += d.toString(); });
  t.after(() => { broker.kill('SIGKILL'); });
  await listening(port, broker, () => mlog);
  const url = `mqtts://127.0.0.1:${port}`;
  const site = readSiteCa(desk)!;
  const tls = verifyAs(site, '127.0.0.1');

  // The agent on the broker's machine: a node like any other, syncing through this Mosquitto, and the
  // keeper of its passwd and acl (sync.mosquitto_dir), with the broker secret the files derive from.
  const hostLedger = Ledger.open({ path: join(hostDir, 'ledger.db'), dapps: allDapps });
  hostLedger.ingest([...org.ledger.events()]);
  hostLedger.close();
  writeFileSync(join(hostDir, 'broker.pass'), pw('broker-host'), { mode: 0o600 });
  copyFileSync(join(desk, 'broker.secret'), join(hostDir, 'broker.secret'));
  copyFileSync(join(desk, 'ca.crt'), join(hostDir, 'ca.crt'));
  const hostKey = ensureNodeKeys(hostDir).sign.publicKey.toString('hex'); // as first boot makes it
  const agent: AgentProcess = spawnAgent(writeJson(join(tmp.dir, 'broker-host.json'), {
    node: { name: 'broker-host', roles: ['hub'] }, org: org.org, state_dir: hostDir, http: { listen: '127.0.0.1:0' },
    sync: {
      broker: url, username: 'broker-host', password_file: 'broker.pass', ca_file: 'ca.crt',
      // No sync.mosquitto_pid_file: the pid_file mosquitto-config wrote into mq/mosquitto.conf. No
      // sync.broker_operators either: the operator mosquitto-config --operators listed stays.
      mosquitto_dir: mq, broker_secret_file: 'broker.secret',
    },
  }));
  t.after(async () => { await agent.stop('SIGKILL'); });
  const syncs: SyncNode[] = [];
  const clients: mqtt.MqttClient[] = [];
  t.after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    for (const s of syncs) await s.stop();
  });
  const started = await agent.waitForLog((l) => l['part'] === 'mosquitto-files' && /^mosquitto: password and ACL files rewritten/.test(l.msg), 'the files at start');
  assert.equal(started['pid'], broker.pid, 'SIGHUP to the Mosquitto that mosquitto.conf\'s pid_file names');
  await eventually('the agent syncing through Mosquitto over TLS', async () => {
    const st = (await agent.get('/status')).json() as { sync: { state: string } | null };
    if (st.sync?.state !== 'connected') throw new Error(`sync ${st.sync?.state ?? 'absent'}`);
  });

  // TLS first: plain TCP, another CA, another name are refused before any password is checked.
  await assert.rejects(tryConnect(`mqtt://127.0.0.1:${port}`, 'door-a', pw('door-a'), {}), /Couldn't connect|closed|ECONNRESET|timeout/i, 'plain TCP');
  await assert.rejects(tryConnect(url, 'door-a', pw('door-a'), verifyAs(newCa('Elsewhere'), '127.0.0.1')), /self.signed|unable to verify|local issuer/i, 'another CA');
  await assert.rejects(tryConnect(`mqtts://localhost:${port}`, 'door-a', pw('door-a'), verifyAs(site, 'evil.local')), /Hostname\/IP does not match/, 'another name');
  clients.push(await tryConnect(url, 'door-a', pw('door-a'), tls));
  await assert.rejects(tryConnect(url, 'door-a', 'wrong', tls), /Not authorized|Bad user/i, 'a wrong password');

  // The desk syncs with the site through the same broker, as an operator account.
  const deskSync = new SyncNode({ ledger: org.ledger, url, tls, orgId: org.org, nodeName: 'desk', username: 'desk', password: pw('desk'), reconnectPeriodMs: 300, liveSyncDelayMs: 100 });
  syncs.push(deskSync);
  await deskSync.start();

  // The broker's own node is not approved yet; its agent put itself into the files as a node, so its
  // approval reaches it through this very broker.
  assert.equal(((await agent.get('/status')).json() as { enrolment: { enrolled: boolean } }).enrolment.enrolled, false);
  act(org.ledger, org.admin, 'org', 'node.add', { key: hostKey, name: 'broker-host', roles: ['hub'] });
  await eventually('the broker\'s node enrolled through its own broker', async () => {
    if (!((await agent.get('/status')).json() as { enrolment: { enrolled: boolean } }).enrolment.enrolled) throw new Error('not yet');
  }, 30_000);

  // door-b is not approved yet: no account. Approved at the desk, the approval reaches the agent by sync,
  // the agent rewrites passwd and acl and sends SIGHUP: door-b logs in and syncs the whole ledger.
  await assert.rejects(tryConnect(url, 'door-b', pw('door-b'), tls), /Not authorized|Bad user/i, 'not approved yet');
  act(org.ledger, org.admin, 'org', 'node.add', { key: keyOf('door-b'), name: 'door-b', roles: ['door'] });
  await agent.waitForLog((l) => l['part'] === 'mosquitto-files' && /rewritten/.test(l.msg) && (l['accounts'] as { nodes: number }).nodes === 3, 'door-b in the files', 30_000);
  assert.match(readFileSync(join(mq, 'acl'), 'utf8'), /^user door-b$/m);
  assert.match(readFileSync(join(mq, 'acl'), 'utf8'), /^# operator\nuser desk$/m, 'the desk\'s operator account kept');
  const probe = await eventually('door-b let in after SIGHUP', () => tryConnect(url, 'door-b', pw('door-b'), tls));
  await probe.endAsync(true);
  const doorB = Ledger.open({ path: join(tmp.dir, 'door-b.db'), dapps: allDapps });
  t.after(() => doorB.close());
  doorB.ingest([org.genesis]);
  const bSync = new SyncNode({ ledger: doorB, url, tls, orgId: org.org, nodeName: 'door-b', username: 'door-b', password: pw('door-b'), reconnectPeriodMs: 300, liveSyncDelayMs: 100 });
  syncs.push(bSync);
  await bSync.start();
  await eventually('door-b holds the ledger', async () => {
    if (doorB.count() < org.ledger.count()) { await bSync.syncWith('desk').catch(() => {}); throw new Error(`${doorB.count()} of ${org.ledger.count()} events`); }
  }, 30_000);

  // door-a revoked at the desk: the agent takes it out of the files, and Mosquitto refuses it from then on.
  act(org.ledger, org.admin, 'org', 'key.revoke', { key: keyOf('door-a') });
  await eventually('door-a out of the files', async () => {
    if (/^user door-a$/m.test(readFileSync(join(mq, 'acl'), 'utf8')) || /^door-a:/m.test(readFileSync(join(mq, 'passwd'), 'utf8'))) throw new Error('still listed');
  }, 30_000);
  await eventually('door-a refused after SIGHUP', async () => {
    let c: mqtt.MqttClient | undefined;
    try { c = await tryConnect(url, 'door-a', pw('door-a'), tls); } catch (err) {
      assert.match((err as Error).message, /Not authorized|Bad user/i);
      return;
    }
    await c.endAsync(true);
    throw new Error('still let in');
  });
  assert.ok(!agent.stdout().includes(secret.toString('hex')) && !agent.stdout().includes(pw('door-b')), 'no secret or password in the agent\'s log');
  assert.equal((await agent.stop()).code, 0);
});
