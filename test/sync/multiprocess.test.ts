// Three nodes as three processes and a real Mosquitto (issue 5), running every gdo dapp plus the
// ledger tests' note dapp: one node's connection is cut; meanwhile an admin revokes a badge on one side
// (Staff.revokeBadge) while the cut-off door node keeps granting it (AccessService.decide, logged by
// AccessLog), and, the same way with notes, locks a note the cut-off node keeps setting. After healing,
// every node has the same state hash and every event made offline; the grants made after the
// revocation are flagged as anomalies on every node (listAnomalies), the grant made before it is not,
// and the sets after the lock are soft-failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { badgeHash } from '../../agent/access/badge-hash.ts';
import { OFFLINE_GRANT } from '../../dapps/access/anomaly.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { OrgFixture, tempDir, waitForAsync } from './helpers.ts';
import { Peer } from './peer-control.ts';
import { startTcpCut, type TcpCut } from './tcp-cut.ts';

const NAMES = ['node-a', 'node-b', 'node-c'];
const DOOR = 'door:front';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void test('3 processes, real Mosquitto: cut one off, a badge revoked on one side and granted on the other, heal: same state, offline grants flagged everywhere', { timeout: 120_000 }, async () => {
  const broker = await startMosquitto();
  const t = tempDir();
  const cuts: TcpCut[] = [];
  const peers: Peer[] = [];
  try {
    const f = new OrgFixture(NAMES);
    const org = f.org.toString('hex');
    for (const name of NAMES) {
      const cut = await startTcpCut(broker.port);
      cuts.push(cut);
      peers.push(new Peer(name, { db: join(t.dir, `${name}.db`), url: cut.url, org, name, dapps: ['agent/dapps.ts#allDapps', 'test:note'] }));
    }
    const [a, b, c] = peers as [Peer, Peer, Peer];
    // Only node-a starts with the genesis: the others get it by sync.
    await a.ingest(f.genesis);
    const all = async (p: (s: Awaited<ReturnType<Peer['state']>>[]) => boolean): Promise<boolean> => p(await Promise.all(peers.map((x) => x.state())));
    await waitForAsync('all three hold the genesis', () => all((s) => s.every((x) => x.count === f.genesis.length)));
    await waitForAsync('all see each other online', () => all((s) => s.every((x) => x.sync.connected && x.sync.peers.filter((p) => p.online).length === 2)));

    // The admin's setup, via node-a: Alice, her badge, the front door bound to node-c.
    const siteSecret = randomBytes(32);
    const uid = Buffer.from('04a2193c5d6e80', 'hex');
    const badge = badgeHash(siteSecret, uid);
    await a.staff('admin', 'addMember', { id: 'alice', name: 'Alice', groups: ['members'] });
    await a.staff('admin', 'assignBadge', badge, 'alice');
    await a.staff('admin', 'addDoor', { id: 'front', name: 'Front door', node: 'node-c', rules: [{ group: 'members' }] });
    const setup = f.genesis.length + 3;
    await waitForAsync('all three hold the setup', () => all((s) => s.every((x) => x.count === setup)));
    const online = await c.badge('node-c', siteSecret, uid, DOOR);
    assert.deepEqual([online.allow, online.reason], [true, 'allowed'], 'the door grants Alice while connected');
    await waitForAsync('the online grant reaches everyone', () => all((s) => s.every((x) => x.count === setup + 1)));

    // Cut node-c off. The broker publishes its last will: the others see it offline.
    cuts[2]!.cut();
    await waitForAsync('a and b see c offline (last will)', () => all((s) => s[0]!.sync.peers.find((p) => p.name === 'node-c')?.online === false
      && s[1]!.sync.peers.find((p) => p.name === 'node-c')?.online === false && !s[2]!.sync.connected));

    // Conflicting changes. Access: a grant before the revocation, the badge revoked by the admin via
    // node-a, then grants by the cut-off door, which cannot know (each a few ms apart, so their clocks
    // order them as the wall clock did).
    const before = await c.badge('node-c', siteSecret, uid, DOOR);
    assert.equal(before.allow, true);
    await sleep(5);
    const revocation = await a.staff('admin', 'revokeBadge', badge, 'lost');
    await sleep(5);
    const after: string[] = [];
    for (let i = 0; i < 2; i++) {
      const g = await c.badge('node-c', siteSecret, uid, DOOR);
      assert.deepEqual([g.allow, g.reason], [true, 'allowed'], 'node-c does not know about the revocation yet');
      after.push(g.id!);
    }
    const granted = [before.id!, ...after];
    assert.equal(new Set(granted).size, 3, 'each grant is an access/decision event of its own');
    await assert.rejects(a.badge('node-a', siteSecret, uid, DOOR), /refused: NOT_AUTHORIZED: .*door:front belongs to node 'node-c', not 'node-a'/, 'only the bound node reports for the door');
    // Notes: a lock (a power event, by the admin, via node-a) against offline sets on node-c.
    const lock = await a.append('admin', 'note', 'lock', { k: 'door' });
    assert.equal(lock.status, 'accepted');
    const offline: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await c.append('node-c', 'note', 'set', { k: 'door', v: i });
      assert.equal(r.status, 'accepted', 'node-c does not know about the lock yet');
      offline.push(r.id);
    }
    for (let i = 0; i < 5; i++) offline.push((await c.append('node-c', 'note', 'set', { k: `c${i}`, v: i })).id);
    const fromB: string[] = [];
    for (let i = 0; i < 7; i++) fromB.push((await b.append('node-b', 'note', 'set', { k: `b${i}`, v: i })).id);
    await waitForAsync('a and b converge while c is away', async () => {
      const [sa, sb] = [await a.state(), await b.state()];
      return sa.stateHash === sb.stateHash && sa.count === setup + 1 + 1 + 8;
    });
    assert.deepEqual(await b.anomalies(), [], 'nothing to flag before the merge');
    assert.equal(await c.call('get', { key: 'note/v/door' }), 4, 'offline, node-c applied its own sets');

    // Heal: every node reaches the same state, with every offline event present.
    cuts[2]!.heal();
    const total = setup + 1 + 3 + 1 + 1 + 10 + 7;
    await waitForAsync('all three converge after healing', () => all((s) => s.every((x) => x.count === total && x.stateHash === s[0]!.stateHash)), 60_000);
    for (const p of peers) {
      const every = [...granted, revocation, ...offline, ...fromB, lock.id];
      assert.deepEqual(await p.has(every), new Array(every.length).fill(true), `${p.name} holds every event`);
      // The grants the door made after the revocation are kept and flagged, the same on every node.
      const flags = await p.anomalies();
      assert.deepEqual(flags.map((x) => [x.grant, x.kind, x.node, x.member, x.resource, x.badge, x.revocation, x.revocation_kind]).sort(),
        after.map((id) => [id, OFFLINE_GRANT, 'node-c', 'alice', DOOR, badge, revocation, 'badge revoked']).sort(), `${p.name}: the offline grants after the revocation are flagged`);
      const s = await p.state();
      // The sets concurrent with the lock are kept but flagged; the unrelated offline ones apply.
      for (const id of offline.slice(0, 5)) assert.ok(s.softFailed.includes(id), `${p.name}: offline set ${id.slice(0, 12)} after the lock is flagged`);
      assert.equal(s.softFailed.length, 5);
      assert.equal(await p.call('get', { key: 'note/v/door' }), null, `${p.name}: the locked note did not change`);
      assert.equal(await p.call('get', { key: 'note/v/c4' }), 4);
      assert.equal(s.pending, 0);
    }
    // Healed, the door knows: Alice's badge is refused now.
    assert.equal((await c.badge('node-c', siteSecret, uid, DOOR)).reason, 'badge_revoked');
    for (const p of peers) assert.equal(await p.stop(), 0, `${p.name} exits cleanly`);
  } finally {
    for (const p of peers) p.kill();
    for (const c of cuts) await c.stop();
    await broker.stop();
    t.cleanup();
  }
});
