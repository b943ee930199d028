// Merge semantics, scenario by scenario (docs/access-model.md, "Merge semantics"): two nodes of
// the same site are cut off, change things on both sides, and merge in both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listAnomalies } from '../../dapps/access/anomaly.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { lockdownKey, type Lockdown } from '../../dapps/door/index.ts';
import { certKey, machineKey, roleKey, type Cert, type Machine, type Role } from '../../dapps/machine/index.ts';
import { memberKey, type Member } from '../../dapps/member/index.ts';
import { PartitionSim } from './partition-sim.ts';
import { badgeOf, uid } from './site.ts';

function twoSides(fn: (sim: PartitionSim) => void): () => void {
  return () => {
    const sim = new PartitionSim(1);
    try { sim.groups = [[0], [1, 2, 3]]; fn(sim); } finally { sim.close(); }
  };
}

const later = (sim: PartitionSim, ms = 60_000): void => { sim.now += ms; };
const use = (sim: PartitionSim, node: number, member: string, resource = 'door:front') => {
  const n = sim.nodes[node]!;
  const d = n.svc.decide({ credential: uid(member), resource, at: new Date(sim.now) });
  n.log.record(resource.startsWith('door') ? 'door.access' : 'machine.access', { resource, allow: d.allow, reason: d.reason, ...(d.memberId && { member_id: d.memberId }), at: new Date(sim.now).toISOString() });
  return d;
};

test('a grant concurrent with a revocation does not count, whichever side merges first', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  later(sim);
  a.admin.revokeBadge(badgeOf('m2'), 'lost');
  // The other side, not knowing, re-grants (a concurrent grant: it cites the old version).
  later(sim);
  b.admin.updateMember({ id: 'm2', name: 'M2 renamed' });
  const before = b.ledger.get<Badge>(badgeKey(badgeOf('m2')))!;
  assert.equal(before.revoked, false);
  sim.healAll();
  for (const n of sim.nodes) {
    assert.equal(n.ledger.get<Badge>(badgeKey(badgeOf('m2')))!.revoked, true, `node ${n.i}`);
    assert.equal(use(sim, n.i, 'm2').reason, 'badge_revoked');
  }
  sim.healAll();
  sim.checkConverged();
}));

test('a re-grant counts only if it causally follows the revocation', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  later(sim);
  a.admin.revokeBadge(badgeOf('m3'));
  later(sim);
  // Concurrent revocation on the other side, then a re-grant there that knows only its own.
  b.admin.revokeBadge(badgeOf('m3'));
  later(sim);
  b.admin.assignBadge(badgeOf('m3'), 'm3');
  assert.equal(use(sim, 1, 'm3').allow, true, 'allowed locally: the node knows only its own revocation, which it re-granted');
  sim.healAll();
  for (const n of sim.nodes) assert.equal(n.ledger.get<Badge>(badgeKey(badgeOf('m3')))!.revoked, true, `node ${n.i}: the re-grant did not follow the other revocation`);
  assert.ok(sim.nodes[0]!.ledger.softFailed().some((f) => f.dapp === 'badge' && f.type === 'assign'));
  // A re-grant made after seeing both counts.
  later(sim);
  a.admin.assignBadge(badgeOf('m3'), 'm3');
  sim.healAll();
  for (const n of sim.nodes) assert.equal(use(sim, n.i, 'm3').allow, true, `node ${n.i}`);
  sim.healAll();
  sim.checkConverged();
}));

test('a trainer role withdrawn on both sides and granted again on one stays withdrawn until a grant follows both', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  const role = (n: { ledger: { get<T>(k: string): T | undefined } }): Role => n.ledger.get<Role>(roleKey('laser', 'trainer', 'm0'))!;
  // The withdrawal folded first is the one the re-grant follows; the other, concurrent with the
  // re-grant, takes away a role that is already off, and must still win over it.
  later(sim);
  a.admin.setRole('laser', 'm0', 'trainer', false);
  later(sim);
  b.admin.setRole('laser', 'm0', 'trainer', false);
  later(sim);
  a.admin.setRole('laser', 'm0', 'trainer', true); // follows only its own side's withdrawal
  assert.equal(role(a).on, true);
  sim.healAll();
  for (const n of sim.nodes) assert.equal(role(n).on, false, `node ${n.i}: the grant did not follow the other withdrawal`);
  assert.ok(sim.nodes[0]!.ledger.softFailed().some((f) => f.dapp === 'machine' && f.type === 'role'));
  later(sim);
  b.admin.setRole('laser', 'm0', 'trainer', true);
  sim.healAll();
  for (const n of sim.nodes) assert.equal(role(n).on, true, `node ${n.i}: a grant made after both counts`);
  sim.checkConverged();
}));

test('a certificate withdrawn on both sides and given again on one stays withdrawn', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  later(sim);
  a.admin.decertify('laser', 'm1', 'unsafe use');
  later(sim);
  b.admin.decertify('laser', 'm1');
  later(sim);
  a.admin.certify('laser', 'm1');
  assert.equal(use(sim, 0, 'm1', 'machine:laser').reason, 'allowed');
  sim.healAll();
  for (const n of sim.nodes) {
    assert.equal(n.ledger.get<Cert>(certKey('laser', 'm1'))!.on, false, `node ${n.i}`);
    assert.equal(use(sim, n.i, 'm1', 'machine:laser').reason, 'not_certified', `node ${n.i}`);
  }
  sim.checkConverged();
}));

test('two concurrent lockdowns: a lift that follows only one of them does not end the other', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  later(sim);
  a.admin.lockdown('front', [], 'drill');
  later(sim);
  b.admin.lockdown('front', [], 'intruder seen');
  later(sim);
  a.admin.liftLockdown('front'); // the drill is over; a has not heard of the intruder
  sim.healAll();
  for (const n of sim.nodes) {
    assert.equal(n.ledger.get<Lockdown>(lockdownKey('front'))!.on, true, `node ${n.i}`);
    assert.equal(use(sim, n.i, 'm2').reason, 'lockdown', `node ${n.i}`);
  }
  later(sim);
  b.admin.liftLockdown('front');
  sim.healAll();
  for (const n of sim.nodes) assert.equal(n.ledger.get<Lockdown>(lockdownKey('front'))!.on, false, `node ${n.i}: a lift after both ends it`);
  sim.checkConverged();
}));

test('a machine tagged out on both sides stays out when only one tag-out is cleared', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  later(sim);
  a.admin.outOfService('laser', 'lens cracked');
  later(sim);
  b.admin.outOfService('laser', 'extraction fan dead');
  later(sim);
  a.admin.backInService('laser'); // the lens was replaced; the fan still is dead
  sim.healAll();
  for (const n of sim.nodes) {
    assert.equal(n.ledger.get<Machine>(machineKey('laser'))!.out, true, `node ${n.i}`);
    assert.equal(use(sim, n.i, 'm1', 'machine:laser').reason, 'out_of_service', `node ${n.i}`);
  }
  sim.checkConverged();
}));

test('a suspension concurrent with a reinstatement wins', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  later(sim);
  b.admin.suspend('m4', 'unpaid');
  later(sim);
  b.admin.reinstate('m4');
  later(sim);
  a.admin.suspend('m4', 'safety incident');
  sim.healAll();
  for (const n of sim.nodes) assert.equal(n.ledger.get<Member>(memberKey('m4'))!.suspended, true, `node ${n.i}`);
  sim.checkConverged();
}));

test('a door that granted while cut off, after a revocation it could not know, is kept and flagged', twoSides((sim) => {
  const [a, b] = [sim.nodes[0]!, sim.nodes[1]!];
  later(sim);
  const rev = a.admin.revokeBadge(badgeOf('m5'), 'stolen');
  later(sim, 5 * 60_000);
  const d = use(sim, 1, 'm5');
  assert.equal(d.allow, true, 'the cut-off door still grants: it cannot know');
  // A grant before the revocation's time is not an anomaly, even if concurrent.
  sim.healAll();
  const anomalies = listAnomalies(b.ledger);
  assert.equal(anomalies.length, 1);
  assert.equal(anomalies[0]!.member, 'm5');
  assert.equal(anomalies[0]!.revocation, rev.id.toString('hex'));
  assert.equal(anomalies[0]!.kind, 'granted offline after revocation');
  assert.equal(anomalies[0]!.node, 'node-1');
  assert.deepEqual(listAnomalies(a.ledger), anomalies);
  // The access event itself is in every ledger.
  for (const n of sim.nodes) assert.ok(n.ledger.hasEvent(Buffer.from(anomalies[0]!.grant, 'hex')));
  assert.equal(use(sim, 1, 'm5').reason, 'badge_revoked', 'after the merge the door knows');
  sim.healAll();
  sim.checkConverged();
}));

test('a concurrent grant dated before the revocation is not flagged', twoSides((sim) => {
  later(sim);
  assert.equal(use(sim, 1, 'm1').allow, true);
  later(sim);
  sim.nodes[0]!.admin.suspend('m1');
  sim.healAll();
  assert.deepEqual(listAnomalies(sim.nodes[0]!.ledger), []);
  sim.checkConverged();
}));
