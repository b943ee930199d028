// A machine node as real `gdo agent` processes (simulated PN532 and fake GPIO, driven through the status
// endpoint's /sim/ hands): out of service lives in the ledger, so a new process after a restart sees the
// tag-out, shows the ledger's state on /status (who and why), and the maintainer's next gesture puts the
// machine back in service instead of tagging it out twice; a change another replica made (here the office,
// writing the same database) shows as it lands. And a certification refused at the machine: the denied
// pattern's reason in the log line and on /status, nothing signed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { allDapps } from '../../agent/dapps.ts';
import { badgeHash } from '../../agent/access/badge-hash.ts';
import { act, Staff } from '../../agent/access/staff.ts';
import { ensureNodeKeys } from '../../agent/enrol/node-keys.ts';
import { sealSiteSecret, SITE_SECRET_BYTES } from '../../agent/enrol/seal.ts';
import { generateKeyPair, Signer } from '../../agent/ledger/crypto.ts';
import { decodeEvent } from '../../agent/ledger/event.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { machineKey, type Machine } from '../../dapps/machine/index.ts';
import { spawnAgent, tempDir, waitFor, writeJson, type AgentProcess, type LogLine } from './helpers.ts';

const CARDS = {
  max: Buffer.from('04dddddddddd01', 'hex'), // maintainer
  tina: Buffer.from('04c0ffee000001', 'hex'), // trainer
  erin: Buffer.from('04e1e1e1e1e1e1', 'hex'), // suspended
};
const BUTTON = 6;

const t = tempDir('gdo-machine-proc-');
after(() => t.dispose());

/** An enrolled machine node 'laser' with machine 'laser' bound to it; the admin's signer for later changes. */
function enrolledMachineNode(stateDir: string): { org: string; admin: Signer } {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const admin = new Signer(generateKeyPair());
  const keys = ensureNodeKeys(stateDir);
  const secret = randomBytes(SITE_SECRET_BYTES);
  const l = Ledger.open({ path: join(stateDir, 'ledger.db'), dapps: allDapps });
  try {
    const genesis = act(l, admin, 'org', 'genesis', { name: 'Test Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] });
    const kx = keys.kx.publicKey.toString('hex');
    act(l, admin, 'org', 'node.add', { key: keys.sign.publicKey.toString('hex'), name: 'laser', roles: ['machine'], kx, box: sealSiteSecret(secret, kx) });
    const staff = new Staff(l, admin);
    staff.addMachine({ id: 'laser', name: 'Laser cutter', node: 'laser' });
    for (const [id, card] of [['m-max', CARDS.max], ['m-tina', CARDS.tina], ['m-erin', CARDS.erin]] as const) {
      staff.addMember({ id, name: id.slice(2), groups: ['members'] });
      staff.assignBadge(badgeHash(secret, card), id);
    }
    staff.setRole('laser', 'm-max', 'maintainer', true);
    staff.setRole('laser', 'm-tina', 'trainer', true);
    staff.suspend('m-erin', 'unpaid');
    return { org: genesis.id.toString('hex'), admin };
  } finally { l.close(); }
}

interface MachineView { out_of_service: boolean; out_of_service_detail?: { reason: string | null; by: string | null; since: string | null }; last_certification?: { certified: boolean; reason?: string; member_id: string } }
const machineOf = async (a: AgentProcess): Promise<MachineView> => ((await a.get('/status')).json() as { machines: MachineView[] }).machines[0]!;

async function sim(a: AgentProcess, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${await a.url()}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  assert.equal(res.status, 200, `${method} ${path}: ${await res.text()}`);
}
/** Polls an async condition (the status endpoint) until it holds. */
async function until(pred: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const count = (a: AgentProcess, pred: (l: LogLine) => boolean): number => a.logs.filter(pred).length;
const event = (kind: string) => (l: LogLine): boolean => l['event'] === kind && !('decision' in l);

/** The maintainer holds the button and badges; returns the event the node logged for it. */
async function gesture(a: AgentProcess): Promise<string> {
  const kinds = ['machine.out_of_service', 'machine.in_service'];
  const before = count(a, (l) => kinds.includes(String(l['event'])));
  await sim(a, 'POST', `/sim/gpio/${BUTTON}`, { level: 0 }); // active low: pressed
  await new Promise((r) => setTimeout(r, 100));
  await sim(a, 'POST', '/sim/readers/laser/card', { uid: CARDS.max.toString('hex') });
  await waitFor(() => count(a, (l) => kinds.includes(String(l['event']))) > before, 'the gesture', 10_000);
  await sim(a, 'DELETE', '/sim/readers/laser/card');
  await sim(a, 'POST', `/sim/gpio/${BUTTON}`, { level: 1 });
  await new Promise((r) => setTimeout(r, 300));
  return String(a.logs.filter((l) => kinds.includes(String(l['event']))).at(-1)!['event']);
}

function ledgerEvents(dir: string): Array<{ dapp: string; type: string; body: Record<string, unknown> }> {
  const l = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps });
  try {
    return [...l.events()].map(decodeEvent).map((e) => ({ dapp: e.dapp, type: e.type, body: e.body as Record<string, unknown> }));
  } finally { l.close(); }
}

it('out of service comes from the ledger: a new process sees the tag-out, and the gesture puts the machine back', async () => {
  const dir = join(t.dir, 'laser');
  const site = enrolledMachineNode(dir);
  const config = writeJson(`${dir}.json`, {
    node: { name: 'laser' }, org: site.org, state_dir: dir,
    readers: [{ id: 'laser', transport: 'simulated', poll_ms: 50 }],
    gpio: { backend: 'fake', fake_state_file: 'gpio.json' },
    machines: [{ id: 'laser', reader: 'laser', mode: 'card-present', pins: {
      relay: { line: 17 }, led: { line: 22 }, buzzer: { line: 23 }, button: { line: BUTTON, active_low: true, debounce_ms: 0 },
    } }],
    http: { listen: '127.0.0.1:0' },
  });
  let a: AgentProcess | undefined = spawnAgent(config);
  try {
    await a.waitForLog((l) => l.msg === 'ready for badges', 'the first process ready');
    await sim(a, 'POST', `/sim/gpio/${BUTTON}`, { level: 1 }); // released
    assert.equal((await machineOf(a)).out_of_service, false);
    assert.equal(await gesture(a), 'machine.out_of_service');
    await until(async () => (await machineOf(a!)).out_of_service, 'the tag-out on /status', 5000);
    const out = await machineOf(a);
    assert.equal(out.out_of_service_detail?.by, 'm-max', JSON.stringify(out));
    assert.equal(out.out_of_service_detail?.reason, 'tagged out at the machine');
    assert.equal((await a.stop('SIGTERM')).code, 0);

    // The restart: a new process on the same state directory.
    a = spawnAgent(config);
    await a.waitForLog((l) => l.msg === 'ready for badges', 'the second process ready');
    await sim(a, 'POST', `/sim/gpio/${BUTTON}`, { level: 1 });
    const after = await machineOf(a);
    assert.equal(after.out_of_service, true, `a new process reads the tag-out from the ledger: ${JSON.stringify(after)}`);
    assert.equal(after.out_of_service_detail?.by, 'm-max');
    assert.equal(await gesture(a), 'machine.in_service', 'the gesture toggles relative to the ledger');
    await until(async () => !(await machineOf(a!)).out_of_service, 'back in service on /status', 5000);

    // A certification the ledger would refuse: trainer Tina, then suspended Erin.
    await sim(a, 'POST', '/sim/readers/laser/card', { uid: CARDS.tina.toString('hex') });
    await a.waitForLog((l) => l['event'] === 'machine.access' && (l['decision'] as { member_id?: string } | undefined)?.member_id === 'm-tina', "the trainer's decision");
    await sim(a, 'DELETE', '/sim/readers/laser/card');
    await new Promise((r) => setTimeout(r, 300));
    await sim(a, 'POST', '/sim/readers/laser/card', { uid: CARDS.erin.toString('hex') });
    const refused = await a.waitForLog(event('machine.certification_refused'), 'the refusal in the log');
    assert.equal(refused['reason'], 'member_suspended');
    assert.equal(refused['member_id'], 'm-erin');
    await sim(a, 'DELETE', '/sim/readers/laser/card');
    const st = (await machineOf(a)).last_certification;
    assert.deepEqual([st?.certified, st?.reason, st?.member_id], [false, 'member_suspended', 'm-erin']);
    // The office tags it out (another replica's event, landing in this node's database as sync would put it).
    const l = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps });
    try { new Staff(l, site.admin).outOfService('laser', 'extraction fan dead'); } finally { l.close(); }
    await until(async () => (await machineOf(a!)).out_of_service, "the office's tag-out on /status", 10_000);
    assert.equal((await machineOf(a)).out_of_service_detail?.reason, 'extraction fan dead');
    assert.equal((await machineOf(a)).out_of_service_detail?.by, 'Ada');

    assert.equal((await a.stop('SIGTERM')).code, 0);
    a = undefined;

    const evs = ledgerEvents(dir);
    const kinds = evs.filter((e) => e.dapp === 'machine' && ['out', 'in', 'certify'].includes(e.type)).map((e) => `${e.type}:${String(e.body['by'] ?? 'admin')}`);
    assert.deepEqual(kinds, ['out:m-max', 'in:m-max', 'out:admin'], 'one tag-out, one return, the office tag-out, and no certificate');
    const l2 = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps });
    try { assert.equal(l2.get<Machine>(machineKey('laser'))?.out, true); } finally { l2.close(); }
    for (const line of [...evs.map((e) => JSON.stringify(e.body))]) {
      for (const card of Object.values(CARDS)) assert.ok(!line.includes(card.toString('hex')), 'no card UID in any event');
    }
  } finally {
    await a?.stop('SIGKILL');
  }
});
