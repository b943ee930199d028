// Sync wired into the daemon: a hub running the embedded broker and a door node connecting to it, as two
// agent processes on one organisation's ledger; each sees the other as a peer in /status and /metrics.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { allDapps } from '../../agent/dapps.ts';
import { generateKeyPair, Signer } from '../../agent/ledger/crypto.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { act } from '../../agent/access/staff.ts';
import { ensureNodeKeys } from '../../agent/enrol/node-keys.ts';
import { encodeEnrolmentRequest, makeEnrolmentRequest, parseEnrolmentRequest } from '../../agent/enrol/request.ts';
import { collectEnrolmentRequests } from '../../agent/sync/enrol-topic.ts';
import { doorConfig, simReader, spawnAgent, tempDir, writeJson, type AgentProcess, type SimReader } from './helpers.ts';

let reader: SimReader;
const t = tempDir();
before(async () => { reader = await simReader(); });
after(async () => { await reader.dispose(); t.dispose(); });

/** The same genesis in both nodes' ledgers (first boot seeds it from the bootstrap). */
function seed(dirs: string[]): string {
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
  return g.id.toString('hex');
}

function writeJsonRaw(path: string, bytes: Buffer): string {
  writeFileSync(path, bytes, { mode: 0o600 });
  return path;
}

interface SyncView { sync: { state: string; broker: string; peers: { name: string; connected?: boolean }[] } | null; parts: { name: string; state: string }[] }

async function syncOf(a: AgentProcess): Promise<SyncView> {
  return (await a.get('/status')).json() as SyncView;
}

it('a hub with the embedded broker and a door node see each other; the unapproved door publishes its enrolment request', async () => {
  const hubDir = join(t.dir, 'hub');
  const doorDir = join(t.dir, 'door');
  for (const d of [hubDir, doorDir]) mkdirSync(d, { recursive: true });
  const org = seed([hubDir, doorDir]);
  // What first boot leaves on the door node: its keys and its signed request.
  const keys = ensureNodeKeys(doorDir);
  const request = makeEnrolmentRequest({ org, name: 'front-door', roles: ['door'], signer: new Signer(keys.sign), kx: keys.kx.publicKey, token: 'cd'.repeat(32) });
  const requestFile = writeJsonRaw(join(doorDir, 'enrol-request.json'), encodeEnrolmentRequest(request));
  const hub = spawnAgent(writeJson(`${hubDir}.json`, {
    node: { name: 'hub', roles: ['hub'] }, org, state_dir: hubDir,
    sync: { broker: 'embedded', embedded_listen: '127.0.0.1:0' }, http: { listen: '127.0.0.1:0' },
  }));
  let door: AgentProcess | undefined;
  try {
    const listening = await hub.waitForLog((l) => /^embedded broker listening on /.test(l.msg), 'the embedded broker');
    const port = Number(/:(\d+)$/.exec(String(listening['listen']))![1]);
    door = spawnAgent(writeJson(`${doorDir}.json`, doorConfig(doorDir, reader.path, {
      org, sync: { broker: `mqtt://127.0.0.1:${port}` }, enrolment: { request_file: requestFile },
    })));
    await door.waitForLog((l) => l.msg === 'ready for badges', 'the door node ready');
    let hubView: SyncView | undefined;
    let doorView: SyncView | undefined;
    const sees = (v: SyncView | undefined, peer: string): boolean => v?.sync?.state === 'connected' && v.sync.peers.some((p) => p.name === peer && p.connected === true);
    for (let i = 0; i < 150 && !(sees(hubView, 'front-door') && sees(doorView, 'hub')); i++) {
      await new Promise((r) => setTimeout(r, 200));
      hubView = await syncOf(hub);
      doorView = await syncOf(door);
    }
    assert.ok(sees(hubView, 'front-door'), JSON.stringify(hubView?.sync));
    assert.ok(sees(doorView, 'hub'), JSON.stringify(doorView?.sync));
    assert.match(hubView!.sync!.broker, /^embedded \(mqtt:\/\/127\.0\.0\.1:\d+\)$/);
    assert.deepEqual(hubView!.parts.map((p) => [p.name, p.state]), [['ledger', 'ok'], ['access', 'ok'], ['broker', 'ok'], ['sync', 'ok'], ['http', 'ok']]);
    await door.waitForLog((l) => l['part'] === 'enrolment' && /^enrolment request published/.test(l.msg), 'the request published');
    const found = await collectEnrolmentRequests({ url: `mqtt://127.0.0.1:${port}`, orgId: org, waitMs: 500 });
    const mine = found.find((r) => r.name === 'front-door');
    assert.ok(mine, 'the retained request is on the broker');
    assert.deepEqual(parseEnrolmentRequest(mine.payload), request);
    const metrics = (await door.get('/metrics')).text;
    assert.match(metrics, /^gdo_sync_connected 1$/m);
    assert.match(metrics, /^gdo_sync_peers 1$/m);
    assert.match(metrics, /^gdo_sync_published_total [1-9]\d*$/m);
    assert.equal((await door.stop()).code, 0);
    assert.equal((await hub.stop()).code, 0);
  } finally {
    await door?.stop('SIGKILL');
    await hub.stop('SIGKILL');
  }
});
