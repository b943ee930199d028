// Offline grants after a decertification, a tag-out or a lockdown the node could not know
// (docs/access-model.md, "Anomalies"): two sides of a site cut off from each other, an admin on one
// side withdraws something, the node on the other side grants, and after the merge every replica
// flags that grant with the event it did not know (same state hash everywhere), and `gdo access
// anomalies` lists it. The grants the node would have made anyway (a trainer, a maintainer, an exempt
// group, a grant dated before the withdrawal) are not flagged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { listAnomalies, type Anomaly } from '../../dapps/access/anomaly.ts';
import { PartitionSim } from './partition-sim.ts';
import { uid } from './site.ts';

const main = new URL('../../agent/cli/main.ts', import.meta.url).pathname;

function twoSides(fn: (sim: PartitionSim) => void): () => void {
  return () => {
    const sim = new PartitionSim(7);
    try { sim.groups = [[0], [1, 2, 3]]; fn(sim); } finally { sim.close(); }
  };
}

const later = (sim: PartitionSim, ms = 60_000): void => { sim.now += ms; };
/** A badge at node `node`, decided and logged as the controllers do (the access log adds what the decision relied on). */
const use = (sim: PartitionSim, node: number, member: string, resource: string) => {
  const n = sim.nodes[node]!;
  const d = n.svc.decide({ credential: uid(member), resource, at: new Date(sim.now) });
  n.log.record(resource.startsWith('door') ? 'door.access' : 'machine.access', {
    resource, allow: d.allow, reason: d.reason, ...(d.rule && { rule: d.rule }), ...(d.memberId && { member_id: d.memberId }), at: new Date(sim.now).toISOString(),
  });
  return d;
};
const grantIds = (sim: PartitionSim, node: number): string[] => sim.nodes[node]!.ledger.scan<{ id: string }>('access/g/').map(([, g]) => g.id);

/** Every replica lists the same anomalies, and they are the ones expected. */
function sameEverywhere(sim: PartitionSim): Anomaly[] {
  const first = listAnomalies(sim.nodes[0]!.ledger);
  for (const n of sim.nodes) assert.deepEqual(listAnomalies(n.ledger), first, `node ${n.i} lists other anomalies`);
  return first;
}

test('a cut-off machine that lets a member run after a decertification it could not know is flagged', twoSides((sim) => {
  const [a] = [sim.nodes[0]!];
  later(sim);
  assert.equal(use(sim, 1, 'm1', 'machine:laser').allow, true, 'm1 is certified (base site)');
  const before = grantIds(sim, 1);
  later(sim, 5 * 60_000);
  const decert = a.admin.decertify('laser', 'm1', 'unsafe use');
  later(sim, 5 * 60_000);
  assert.equal(use(sim, 1, 'm1', 'machine:laser').allow, true, 'the cut-off laser cannot know');
  assert.equal(use(sim, 1, 'm0', 'machine:laser').allow, true, 'the trainer runs it without a certificate');
  sim.healAll();
  const flagged = sameEverywhere(sim);
  assert.equal(flagged.length, 1, JSON.stringify(flagged));
  assert.equal(flagged[0]!.member, 'm1');
  assert.equal(flagged[0]!.resource, 'machine:laser');
  assert.equal(flagged[0]!.revocation, decert.id.toString('hex'));
  assert.equal(flagged[0]!.revocation_kind, 'certificate withdrawn');
  assert.ok(!before.includes(flagged[0]!.grant), 'the grant dated before the decertification is not flagged');
  assert.equal(use(sim, 1, 'm1', 'machine:laser').reason, 'not_certified', 'after the merge the laser knows');
  sim.healAll();
  sim.checkConverged();
}));

test('a grant at a machine tagged out where the node did not know is flagged; a maintainer testing it is not', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  b.admin.setRole('laser', 'm2', 'maintainer', true);
  b.admin.certify('laser', 'm2');
  sim.healAll();
  sim.groups = [[0], [1, 2, 3]];
  later(sim);
  const out = a.admin.outOfService('laser', 'lens cracked');
  later(sim, 5 * 60_000);
  assert.equal(use(sim, 1, 'm1', 'machine:laser').allow, true);
  assert.equal(use(sim, 1, 'm2', 'machine:laser').allow, true);
  sim.healAll();
  const flagged = sameEverywhere(sim);
  assert.deepEqual(flagged.map((x) => [x.member, x.revocation, x.revocation_kind]), [['m1', out.id.toString('hex'), 'machine out of service']]);
  sim.checkConverged();
}));

test('a door that grants during a door or site lockdown it did not know is flagged, unless the group is exempt', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  b.admin.updateMember({ id: 'm4', groups: ['members', 'firstaid'] });
  sim.healAll();
  sim.groups = [[0], [1, 2, 3]];
  later(sim);
  const site = a.admin.lockdown('*', ['firstaid'], 'fire alarm');
  later(sim);
  assert.equal(use(sim, 2, 'm4', 'door:front').allow, true, 'first aid is exempt');
  assert.equal(use(sim, 2, 'm5', 'door:front').allow, true);
  later(sim);
  a.admin.liftLockdown('*');
  later(sim);
  const lock = a.admin.lockdown('front', [], 'intruder seen');
  later(sim);
  assert.equal(use(sim, 1, 'm3', 'door:front').allow, true, 'a door lockdown exempts nobody; the door does not know it');
  sim.healAll();
  const flagged = sameEverywhere(sim);
  const seen = flagged.map((x) => [x.member, x.revocation, x.revocation_kind]).sort();
  assert.deepEqual(seen, [
    ['m3', lock.id.toString('hex'), 'door lockdown'],
    ['m5', site.id.toString('hex'), 'site lockdown'],
  ]);
  assert.equal(use(sim, 1, 'm4', 'door:front').reason, 'lockdown', 'after the merge the door knows');
  sim.healAll();
  sim.checkConverged();
}));

test('a node that knew the withdrawal and granted anyway for a reason of its own is not flagged', twoSides((sim) => {
  const [a] = [sim.nodes[0]!];
  later(sim);
  a.admin.outOfService('laser', 'belt worn');
  later(sim);
  a.admin.backInService('laser');
  later(sim);
  assert.equal(use(sim, 0, 'm1', 'machine:laser').allow, true, 'back in service, and node 0 knew both');
  sim.healAll();
  assert.deepEqual(sameEverywhere(sim), []);
  sim.checkConverged();
}));

test('a decision logged before decisions listed what else they relied on (no v) keeps the flags it always had', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  later(sim);
  a.admin.outOfService('laser', 'lens cracked');
  later(sim, 5 * 60_000);
  // As an older agent logged it: member, badge and the badge's and member's revocations only.
  const { result } = b.ledger.append(b.key, 'access', 'decision', { resource: 'machine:laser', allow: true, reason: 'allowed', member: 'm1' });
  assert.equal(result.status, 'accepted');
  sim.healAll();
  assert.deepEqual(sameEverywhere(sim), [], 'its derived state is what it was: replicas that folded it before agree');
  sim.checkConverged();
}));

test('gdo access anomalies lists the decertification a merged replica found, with the event it follows', twoSides((sim) => {
  const [a] = [sim.nodes[0]!];
  later(sim);
  const decert = a.admin.decertify('laser', 'm1');
  later(sim, 60_000);
  assert.equal(use(sim, 1, 'm1', 'machine:laser').allow, true);
  sim.healAll();
  const flagged = sameEverywhere(sim);
  assert.equal(flagged.length, 1);
  const dir = mkdtempSync(join(tmpdir(), 'gdo-anomalies-'));
  try {
    const l = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps, now: () => sim.now + 60_000 });
    try {
      const res = l.ingest([...sim.nodes[0]!.ledger.events()]);
      assert.ok(res.every((r) => r.status === 'accepted'), JSON.stringify(res.find((r) => r.status !== 'accepted')));
      assert.equal(l.stateHash(), sim.nodes[0]!.ledger.stateHash(), 'a replica built from the events alone derives the same flags');
    } finally { l.close(); }
    const text = spawnSync(process.execPath, ['--import', 'tsx', main, 'access', 'anomalies', '--data', dir], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^1 grant\(s\) made offline after a revocation the node could not know\b/);
    assert.match(text.stdout, new RegExp(`node-1 granted m1 at machine:laser; certificate withdrawn at [^(]+ \\(${decert.id.toString('hex').slice(0, 12)}\\); event ${flagged[0]!.grant.slice(0, 12)}`));
    const json = spawnSync(process.execPath, ['--import', 'tsx', main, 'access', 'anomalies', '--data', dir, '--json'], { encoding: 'utf8' });
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { offline_grants: Anomaly[] }).offline_grants, flagged);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}));
