// Three nodes as three processes and a real Mosquitto (issue 5): one node's connection is
// cut; meanwhile an admin locks a note on one side while the cut-off node keeps setting it
// (the stand-in for "a revocation on one side, badge uses on the other"); after healing,
// every node has the same state hash, every event made offline is everywhere, and the
// offline changes after the lock are flagged (soft-failed) on every node.
// The peers take a list of dapps, so the access dapps can run the same scenario.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { OrgFixture, tempDir, waitForAsync } from './helpers.ts';
import { Peer } from './peer-control.ts';
import { startTcpCut, type TcpCut } from './tcp-cut.ts';

const NAMES = ['node-a', 'node-b', 'node-c'];

void test('3 processes, real Mosquitto: cut one off, conflicting changes on both sides, heal, same state everywhere', { timeout: 120_000 }, async () => {
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
      peers.push(new Peer(name, { db: join(t.dir, `${name}.db`), url: cut.url, org, name, dapps: ['org', 'test:note'] }));
    }
    const [a, b, c] = peers as [Peer, Peer, Peer];
    // Only node-a starts with the genesis: the others get it by sync.
    await a.ingest(f.genesis);
    const all = async (p: (s: Awaited<ReturnType<Peer['state']>>[]) => boolean): Promise<boolean> => p(await Promise.all(peers.map((x) => x.state())));
    await waitForAsync('all three hold the genesis', () => all((s) => s.every((x) => x.count === f.genesis.length)));
    await waitForAsync('all see each other online', () => all((s) => s.every((x) => x.sync.connected && x.sync.peers.filter((p) => p.online).length === 2)));

    // Cut node-c off. The broker publishes its last will: the others see it offline.
    cuts[2]!.cut();
    await waitForAsync('a and b see c offline (last will)', () => all((s) => s[0]!.sync.peers.find((p) => p.name === 'node-c')?.online === false
      && s[1]!.sync.peers.find((p) => p.name === 'node-c')?.online === false && !s[2]!.sync.connected));

    // Conflicting changes: a lock (a power event, by the admin, via node-a) against offline sets on node-c.
    const lock = await a.append('admin', 'note', 'lock', { k: 'door' });
    assert.equal(lock.status, 'accepted');
    const offline: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await c.append('node-c', 'note', 'set', { k: 'door', v: i });
      assert.equal(r.status, 'accepted', 'node-c does not know about the lock yet');
      offline.push(r.id);
    }
    for (let i = 0; i < 5; i++) offline.push((await c.append('node-c', 'note', 'set', { k: `c${i}`, v: i })).id);
    const online: string[] = [];
    for (let i = 0; i < 7; i++) online.push((await b.append('node-b', 'note', 'set', { k: `b${i}`, v: i })).id);
    await waitForAsync('a and b converge while c is away', async () => {
      const [sa, sb] = [await a.state(), await b.state()];
      return sa.stateHash === sb.stateHash && sa.count === f.genesis.length + 8;
    });
    assert.equal(await c.call('get', { key: 'note/v/door' }), 4, 'offline, node-c applied its own sets');

    // Heal: every node reaches the same state, with every offline event present.
    cuts[2]!.heal();
    const total = f.genesis.length + 1 + 10 + 7;
    await waitForAsync('all three converge after healing', () => all((s) => s.every((x) => x.count === total && x.stateHash === s[0]!.stateHash)), 60_000);
    for (const p of peers) {
      assert.deepEqual(await p.has([...offline, ...online, lock.id]), new Array(18).fill(true), `${p.name} holds every event`);
      const s = await p.state();
      // The sets concurrent with the lock are kept but flagged; the unrelated offline ones apply.
      for (const id of offline.slice(0, 5)) assert.ok(s.softFailed.includes(id), `${p.name}: offline set ${id.slice(0, 12)} after the lock is flagged`);
      assert.equal(s.softFailed.length, 5);
      assert.equal(await p.call('get', { key: 'note/v/door' }), null, `${p.name}: the locked note did not change`);
      assert.equal(await p.call('get', { key: 'note/v/c4' }), 4);
      assert.equal(s.pending, 0);
    }
    for (const p of peers) assert.equal(await p.stop(), 0, `${p.name} exits cleanly`);
  } finally {
    for (const p of peers) p.kill();
    for (const c of cuts) await c.stop();
    await broker.stop();
    t.cleanup();
  }
});
