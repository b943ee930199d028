// Issue 13 item 1 on the real path: a door's `gdo agent` process syncs over a real Mosquitto with a
// replica holding the events of an enrolled machine node that dates them 280 s ahead of the true time,
// again and again (what a compromised node, or one with a fast clock, signs). The door keeps granting a
// member through every round: one node's events never move what the door takes as now
// (docs/access-model.md, "What shows a clock is wrong"). Each round ends with a marker the door must
// have applied first: an admin's new badge for a staff member, granted whatever the clock policy says.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { allDapps } from '../../agent/dapps.ts';
import { badgeHash } from '../../agent/access/badge-hash.ts';
import { act, Staff } from '../../agent/access/staff.ts';
import { ensureNodeKeys } from '../../agent/enrol/node-keys.ts';
import { sealSiteSecret, SITE_SECRET_BYTES } from '../../agent/enrol/seal.ts';
import { generateKeyPair, Signer } from '../../agent/ledger/crypto.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { SyncNode } from '../../agent/sync/sync-node.ts';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.ts';
import { doorConfig, simReader, spawnAgent, tempDir, UID, waitFor, writeJson, type AgentProcess, type SimReader } from './helpers.ts';

const AHEAD_MS = 280_000;
const ROUNDS = 3;
const uidOf = (n: number): Buffer => createHash('sha256').update(`clock marker ${n}`).digest().subarray(0, 7);

let reader: SimReader;
let broker: MosquittoBroker;
const t = tempDir('gdo-clock-process-');
before(async () => { reader = await simReader(); broker = await startMosquitto(); });
after(async () => { await broker.stop(); await reader.dispose(); t.dispose(); });

/** Presents a card, returns the door's decision for it (the n-th door.access line), removes the card. */
async function badge(a: AgentProcess, uid: Buffer): Promise<{ allow: boolean; reason: string; rule?: string }> {
  const nth = a.logs.filter((l) => l['event'] === 'door.access').length + 1;
  reader.sim.present({ uid });
  await waitFor(() => a.logs.filter((l) => l['event'] === 'door.access').length >= nth, `decision ${nth}`, 10_000);
  reader.sim.remove();
  await new Promise((r) => setTimeout(r, 300));
  return a.logs.filter((l) => l['event'] === 'door.access')[nth - 1]!['decision'] as { allow: boolean; reason: string; rule?: string };
}

it('a node dating its events 280 s ahead, round after round, locks no member out of a real door', async () => {
  const dir = join(t.dir, 'door');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The site: admin ada; the door under test; a laser node (the liar) and a hub, so the door has other keys.
  const admin = new Signer(generateKeyPair());
  const liar = new Signer(generateKeyPair());
  const hub = new Signer(generateKeyPair());
  const keys = ensureNodeKeys(dir);
  const secret = randomBytes(SITE_SECRET_BYTES);
  const base = Ledger.open({ path: join(t.dir, 'base.db'), dapps: allDapps });
  const genesis = act(base, admin, 'org', 'genesis', { name: 'Test Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] });
  const kx = keys.kx.publicKey.toString('hex');
  act(base, admin, 'org', 'node.add', { key: keys.sign.publicKey.toString('hex'), name: 'front-door', roles: ['door'], kx, box: sealSiteSecret(secret, kx) });
  act(base, admin, 'org', 'node.add', { key: liar.publicKey.toString('hex'), name: 'laser', roles: ['machine'] });
  act(base, admin, 'org', 'node.add', { key: hub.publicKey.toString('hex'), name: 'hub', roles: ['machine'] });
  const staff = new Staff(base, admin);
  staff.addDoor({ id: 'front', name: 'Front door', rules: [{ group: 'members' }] });
  staff.addMachine({ id: 'laser', name: 'Laser cutter', node: 'laser', cert_days: 365 });
  staff.addMember({ id: 'm-ada', name: 'Ada', groups: ['members'] });
  staff.addMember({ id: 'm-sam', name: 'Sam', groups: ['members', 'staff'] });
  staff.assignBadge(badgeHash(secret, UID), 'm-ada');
  const door = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps });
  door.ingest([...base.events()]);
  door.close();
  // The peer the door syncs with takes the liar's events (a replica with a wide max_skew_ms).
  const office = Ledger.open({ path: join(t.dir, 'office.db'), dapps: allDapps, maxSkewMs: 600_000 });
  office.ingest([...base.events()]);
  const liarLedger = Ledger.open({ path: join(t.dir, 'laser.db'), dapps: allDapps, maxSkewMs: 600_000 });
  liarLedger.ingest([...base.events()]);

  const config = writeJson(`${dir}.json`, doorConfig(dir, reader.path, {
    org: genesis.id.toString('hex'),
    doors: [{ id: 'front', unlock_ms: 500, pins: { strike: { line: 17 }, door_switch: { line: 24 }, rex: { line: 6, active_low: true, debounce_ms: 0 }, led: { line: 22 }, buzzer: { line: 23 } } }],
    sync: { broker: broker.url },
  }));
  let sync: SyncNode | undefined = new SyncNode({ ledger: office, url: broker.url, orgId: genesis.id.toString('hex'), nodeName: 'office', reconnectPeriodMs: 200, liveSyncDelayMs: 100 });
  let agent: AgentProcess | undefined = spawnAgent(config);
  try {
    await agent.waitForLog((l) => l.msg === 'ready for badges', 'the door ready');
    await sync.start();
    assert.equal((await badge(agent, UID)).allow, true, 'before the attack');
    for (let round = 1; round <= ROUNDS; round++) {
      // The liar's ordinary event, dated 280 s ahead of now; the office holds it for the door.
      const now = Date.now();
      const lie = liarLedger.append(liar, 'access', 'note', { resource: 'machine:laser', kind: 'rex' }, { now: now + AHEAD_MS });
      assert.equal(office.ingest([lie.event.raw])[0]!.status, 'accepted');
      assert.ok(office.latestHlc().ms >= now + AHEAD_MS);
      await new Promise((r) => setTimeout(r, 1500));
      // The marker, after the lie: a new badge for staff member Sam, signed on the admin's own replica.
      const marker = uidOf(round);
      const m = staff.assignBadge(badgeHash(secret, marker), 'm-sam');
      assert.equal(office.ingest([m.raw])[0]!.status, 'accepted');
      let seen = await badge(agent, marker);
      for (let i = 0; i < 40 && !seen.allow; i++) seen = await badge(agent, marker);
      assert.equal(seen.allow, true, `round ${round}: the marker reached the door (${seen.reason})`);
      const d = await badge(agent, UID);
      assert.deepEqual([d.allow, d.reason], [true, 'allowed'], `round ${round}: a member at the door: ${d.rule ?? ''}`);
    }
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    agent = undefined;
  } finally {
    await sync?.stop();
    sync = undefined;
    await agent?.stop('SIGKILL');
    office.close();
    liarLedger.close();
    base.close();
  }
});
