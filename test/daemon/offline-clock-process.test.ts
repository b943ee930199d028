// The offline clock across a reboot, on the real path: a door's `gdo agent` process syncs with a peer over a
// real Mosquitto, is cut off (peer and broker gone), stops as systemd stops it (SIGTERM) and is started again
// as a new process while still cut off. The new process counts access.max_offline_ms from the last contact
// the first one had, saved in the state directory, not from its own start: it grants before that time is up
// and applies the offline policy once it is, while a count from the restart would still grant.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { OFFLINE_CLOCK_FILE } from '../../agent/daemon/offline-clock.ts';
import { SyncNode } from '../../agent/sync/sync-node.ts';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.ts';
import { enrolledDoorNode } from './fixtures/site.ts';
import { doorConfig, gdo, simReader, spawnAgent, tempDir, UID, uidForms, waitFor, writeJson, type AgentProcess, type SimReader } from './helpers.ts';

const MAX_OFFLINE_MS = 30_000;
/** The restart comes this long after the last contact: the window in which a count from the restart would still grant. */
const RESTART_AFTER_MS = 12_000;

let reader: SimReader;
let broker: MosquittoBroker;
const t = tempDir('gdo-offline-reboot-');
before(async () => { reader = await simReader(); broker = await startMosquitto(); });
after(async () => { await broker.stop(); await reader.dispose(); t.dispose(); });

interface OfflineView { since: string | null; kind: string; source: string; last_contact: string | null; max_offline_ms: number | null; policy: string }
const offlineOf = async (a: AgentProcess): Promise<OfflineView> => ((await a.get('/status')).json() as { offline: OfflineView }).offline;

/** Presents the badge, returns the door's decision for it (the n-th door.access line of this process), removes the badge. */
async function badge(a: AgentProcess, nth: number): Promise<{ allow: boolean; reason: string; at: number }> {
  const at = Date.now();
  reader.sim.present({ uid: UID });
  await waitFor(() => a.logs.filter((l) => l['event'] === 'door.access').length >= nth, `decision ${nth}`, 10_000);
  reader.sim.remove();
  const d = a.logs.filter((l) => l['event'] === 'door.access')[nth - 1]!['decision'] as { allow: boolean; reason: string };
  return { allow: d.allow, reason: d.reason, at };
}

it('a door rebooted while cut off counts max_offline_ms from its real last contact, not from the restart', async () => {
  const dir = join(t.dir, 'door');
  const site = enrolledDoorNode(dir, UID);
  const config = writeJson(`${dir}.json`, doorConfig(dir, reader.path, {
    org: site.org,
    doors: [{ id: 'front', unlock_ms: 500, pins: { strike: { line: 17 }, door_switch: { line: 24 }, rex: { line: 6, active_low: true, debounce_ms: 0 }, led: { line: 22 }, buzzer: { line: 23 } } }],
    sync: { broker: broker.url },
    access: { max_offline_ms: MAX_OFFLINE_MS, offline_policy: 'deny_all' },
  }));
  // The peer: an office replica of the same ledger on the same broker.
  const officeLedger = Ledger.open({ path: join(t.dir, 'office.db'), dapps: allDapps });
  const doorLedger = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps });
  officeLedger.ingest([...doorLedger.events()]);
  doorLedger.close();
  let office: SyncNode | undefined = new SyncNode({ ledger: officeLedger, url: broker.url, orgId: site.org, nodeName: 'office', reconnectPeriodMs: 200, liveSyncDelayMs: 100 });
  let first: AgentProcess | undefined = spawnAgent(config);
  let second: AgentProcess | undefined;
  try {
    await first.waitForLog((l) => l.msg === 'ready for badges', 'the first process ready');
    await office.start();
    let view = await offlineOf(first);
    for (let i = 0; i < 150 && view.kind !== 'peer'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      view = await offlineOf(first);
    }
    assert.equal(view.kind, 'peer', `the door had contact with the office: ${JSON.stringify(view)}`);
    assert.deepEqual([view.source, view.max_offline_ms, view.policy], ['sync', MAX_OFFLINE_MS, 'deny_all']);

    // Cut off: the peer and the broker are gone. The last contact is what the first process now holds.
    await office.stop();
    office = undefined;
    await broker.down();
    const lastContact = Date.parse((await offlineOf(first)).last_contact!);
    assert.equal((await badge(first, 1)).allow, true, 'cut off, within max_offline_ms: granted');
    assert.equal((await first.stop('SIGTERM')).code, 0);
    first = undefined;
    const saved = JSON.parse(readFileSync(join(dir, OFFLINE_CLOCK_FILE), 'utf8')) as { since_ms: number; kind: string };
    assert.deepEqual([saved.since_ms, saved.kind], [lastContact, 'peer'], 'the clean stop saved the last contact');

    // The reboot: a new process, still without broker or peer.
    await new Promise((r) => setTimeout(r, Math.max(0, lastContact + RESTART_AFTER_MS - Date.now())));
    const restartedAt = Date.now();
    second = spawnAgent(config);
    await second.waitForLog((l) => l.msg === 'ready for badges', 'the second process ready');
    const after = await offlineOf(second);
    assert.deepEqual([after.since, after.kind, after.source], [new Date(lastContact).toISOString(), 'peer', 'saved']);
    assert.ok(second.logs.some((l) => l['part'] === 'offline-clock' && l.msg === 'offline clock: last contact with a peer as saved'));

    const early = await badge(second, 1);
    assert.ok(early.at < lastContact + MAX_OFFLINE_MS - 2000, `the restart took too long to show the grant (${early.at - lastContact} ms after the last contact)`);
    assert.deepEqual([early.allow, early.reason], [true, 'allowed'], 'still within max_offline_ms of the last contact: granted');

    await new Promise((r) => setTimeout(r, Math.max(0, lastContact + MAX_OFFLINE_MS + 1000 - Date.now())));
    const late = await badge(second, 2);
    assert.ok(late.at < restartedAt + MAX_OFFLINE_MS - 2000, 'counted from the restart, max_offline_ms would not be up yet');
    assert.deepEqual([late.allow, late.reason], [false, 'offline_too_long'], 'max_offline_ms after the last contact, across the reboot: the offline policy');
    const said = gdo(['status', '--url', await second.url()]);
    const iso = new Date(lastContact).toISOString().replace(/[.]/g, '\\.');
    assert.match(said.stdout, new RegExp(`^offline +last contact with a peer ${iso} \\(before the last restart\\); deny_all after 30 s without one$`, 'm'), said.stdout + said.stderr);
    const status = (await second.get('/status')).text;
    for (const form of uidForms(UID)) assert.equal(status.includes(form) || second.stdout().includes(form), false, `badge id leaked as ${form}`);
    assert.equal((await second.stop('SIGTERM')).code, 0);
    second = undefined;
  } finally {
    await office?.stop();
    officeLedger.close();
    await first?.stop('SIGKILL');
    await second?.stop('SIGKILL');
  }
});
