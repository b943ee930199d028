// Sync wired into the daemon: a hub running the embedded broker and a door node connecting to it, as two
// agent processes on one organisation's ledger. The hub's broker has accounts (docs/sync-protocol.md 6):
// the unapproved door may only publish its enrolment request; once the office's approval reaches the hub,
// the door gets in without a restart, and each sees the other as a peer in /status and /metrics. Over TLS:
// the hub's broker has a certificate from the site CA, which the door and the office verify it with.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { allDapps } from '../../agent/dapps.ts';
import { generateKeyPair, Signer } from '../../agent/ledger/crypto.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { act } from '../../agent/access/staff.ts';
import { ensureNodeKeys } from '../../agent/enrol/node-keys.ts';
import { encodeEnrolmentRequest, makeEnrolmentRequest, parseEnrolmentRequest } from '../../agent/enrol/request.ts';
import { derivePassword } from '../../agent/sync/broker-auth.ts';
import { collectEnrolmentRequests } from '../../agent/sync/enrol-topic.ts';
import { SyncNode } from '../../agent/sync/sync-node.ts';
import { doorConfig, simReader, spawnAgent, tempDir, writeJson, type AgentProcess, type SimReader } from './helpers.ts';
import { verifyAs, writeBrokerTls } from '../tls/helpers.ts';

let reader: SimReader;
const t = tempDir();
before(async () => { reader = await simReader(); });
after(async () => { await reader.dispose(); t.dispose(); });

/** The same genesis in every ledger (first boot seeds it from the bootstrap); the admin signs in the first. */
function seed(dirs: string[]): { org: string; admin: Signer } {
  const admin = new Signer(generateKeyPair());
  const first = Ledger.open({ path: join(dirs[0]!, 'ledger.db'), dapps: allDapps });
  const g = act(first, admin, 'org', 'genesis', { name: 'Test Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] });
  const raw = [...first.events()];
  first.close();
  for (const d of dirs.slice(1)) {
    const l = Ledger.open({ path: join(d, 'ledger.db'), dapps: allDapps });
    l.ingest(raw);
    l.close();
  }
  return { org: g.id.toString('hex'), admin };
}

function writeJsonRaw(path: string, bytes: Buffer): string {
  writeFileSync(path, bytes, { mode: 0o600 });
  return path;
}

interface SyncView {
  sync: { state: string; broker: string; peers: { name: string; connected?: boolean }[] } | null;
  parts: { name: string; state: string }[];
  enrolment: { enrolled: boolean };
}

async function syncOf(a: AgentProcess): Promise<SyncView> {
  return (await a.get('/status')).json() as SyncView;
}

it('a hub with the embedded broker lets the door in once the office approves it; the unapproved door publishes its enrolment request', async () => {
  const hubDir = join(t.dir, 'hub');
  const doorDir = join(t.dir, 'door');
  const officeDir = join(t.dir, 'office');
  for (const d of [officeDir, hubDir, doorDir]) mkdirSync(d, { recursive: true });
  const { org, admin } = seed([officeDir, hubDir, doorDir]);
  // What provisioning and first boot leave: the hub's broker secret, the door's derived password, keys, request.
  const secret = randomBytes(32);
  writeFileSync(join(hubDir, 'broker.secret'), `${secret.toString('hex')}\n`, { mode: 0o600 });
  // The hub's certificate names 127.0.0.1 too: the door reaches it on loopback here (gdo provision --broker-name).
  const ca = writeBrokerTls(hubDir, ['hub.local', 'hub', '127.0.0.1']);
  writeFileSync(join(doorDir, 'ca.crt'), ca.certPem);
  writeFileSync(join(doorDir, 'broker.pass'), derivePassword(secret, org, 'front-door'), { mode: 0o600 });
  const keys = ensureNodeKeys(doorDir);
  const request = makeEnrolmentRequest({ org, name: 'front-door', roles: ['door'], signer: new Signer(keys.sign), kx: keys.kx.publicKey, token: 'cd'.repeat(32) });
  const requestFile = writeJsonRaw(join(doorDir, 'enrol-request.json'), encodeEnrolmentRequest(request));
  const hub = spawnAgent(writeJson(`${hubDir}.json`, {
    node: { name: 'hub', roles: ['hub'] }, org, state_dir: hubDir,
    sync: { broker: 'embedded', embedded_listen: '127.0.0.1:0', broker_operators: ['office'], ca_file: 'ca.crt' }, http: { listen: '127.0.0.1:0' },
  }));
  let door: AgentProcess | undefined;
  const officeLedger = Ledger.open({ path: join(officeDir, 'ledger.db'), dapps: allDapps });
  let office: SyncNode | undefined;
  try {
    const listening = await hub.waitForLog((l) => /^embedded broker listening on /.test(l.msg), 'the embedded broker');
    const url = `mqtts://127.0.0.1:${Number(/:(\d+)$/.exec(String(listening['listen']))![1])}`;
    const tls = verifyAs(ca, '127.0.0.1');
    door = spawnAgent(writeJson(`${doorDir}.json`, doorConfig(doorDir, reader.path, {
      org, sync: { broker: url, username: 'front-door', password_file: 'broker.pass', ca_file: 'ca.crt' }, enrolment: { request_file: requestFile },
    })));
    await door.waitForLog((l) => l.msg === 'ready for badges', 'the door node ready');
    // Not approved: its account may write its enrolment request, nothing else (its sync is refused).
    await door.waitForLog((l) => l['part'] === 'enrolment' && /^enrolment request published/.test(l.msg), 'the request published');
    const login = { username: 'office', password: derivePassword(secret, org, 'office') };
    const found = await collectEnrolmentRequests({ url, tls, orgId: org, waitMs: 500, ...login });
    const mine = found.find((r) => r.name === 'front-door');
    assert.ok(mine, 'the retained request is on the broker');
    assert.deepEqual(parseEnrolmentRequest(mine.payload), request);
    const early = await syncOf(hub);
    assert.ok(!early.sync!.peers.some((p) => p.name === 'front-door' && p.connected === true), JSON.stringify(early.sync));

    // The office approves (org/node.add) and syncs it to the hub, whose broker then lets the door in.
    office = new SyncNode({ ledger: officeLedger, url, tls, orgId: org, nodeName: 'office', reconnectPeriodMs: 200, liveSyncDelayMs: 100, ...login });
    await office.start();
    act(officeLedger, admin, 'org', 'node.add', { key: request.key, name: 'front-door', roles: ['door'], kx: request.kx });
    await hub.waitForLog((l) => l['part'] === 'broker' && l.msg === 'embedded broker: accounts updated from the ledger'
      && (l['accounts'] as { nodes: number }).nodes === 2, 'the hub lets the approved door in');
    let hubView: SyncView | undefined;
    let doorView: SyncView | undefined;
    const sees = (v: SyncView | undefined, peer: string): boolean => v?.sync?.state === 'connected' && v.sync.peers.some((p) => p.name === peer && p.connected === true);
    for (let i = 0; i < 150 && !(sees(hubView, 'front-door') && sees(doorView, 'hub') && doorView?.enrolment.enrolled === true); i++) {
      await new Promise((r) => setTimeout(r, 200));
      hubView = await syncOf(hub);
      doorView = await syncOf(door);
    }
    assert.ok(sees(hubView, 'front-door'), JSON.stringify(hubView?.sync));
    assert.ok(sees(doorView, 'hub'), JSON.stringify(doorView?.sync));
    assert.equal(doorView!.enrolment.enrolled, true, 'the approval reached the door through the hub');
    assert.match(hubView!.sync!.broker, /^embedded \(mqtts:\/\/127\.0\.0\.1:\d+\)$/);
    assert.deepEqual(hubView!.parts.map((p) => [p.name, p.state]), [['ledger', 'ok'], ['access', 'ok'], ['broker', 'ok'], ['sync', 'ok'], ['http', 'ok']]);
    const metrics = (await door.get('/metrics')).text;
    assert.match(metrics, /^gdo_sync_connected 1$/m);
    assert.match(metrics, /^gdo_sync_published_total [1-9]\d*$/m);
    // What the door took from its peers went through the ledger's writer thread, which never failed.
    assert.match(metrics, /^gdo_ledger_writer_batches_total [1-9]\d*$/m);
    assert.match(metrics, /^gdo_ledger_writer_failures_total 0$/m);
    assert.ok(!hub.stdout().includes(secret.toString('hex')) && !hub.stdout().includes(login.password), 'no secret in the hub\'s log');
    await office.stop();
    office = undefined;
    assert.equal((await door.stop()).code, 0);
    assert.equal((await hub.stop()).code, 0);
  } finally {
    await office?.stop();
    officeLedger.close();
    await door?.stop('SIGKILL');
    await hub.stop('SIGKILL');
  }
});
