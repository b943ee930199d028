// Every decision reason, through the real dapps and store (issue: "every reason has a test").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signerFor } from '../ledger/helpers.ts';
import { buildSite, badgeOf, T0, uid, type Site } from './site.ts';
import type { AccessDecision } from '../../agent/access/decide.ts';

const H = 3_600_000;
const DAY = 24 * H;

function check(site: Site, who: string, resource: string, at = site.clock.now, svc = site.service()): AccessDecision {
  return svc.decide({ credential: uid(who), resource, at: new Date(at) });
}

function withSite(fn: (site: Site) => void): () => void {
  return () => { const site = buildSite(); try { fn(site); } finally { site.close(); } };
}

test('allowed: member on schedule, staff any time, with the rule that matched', withSite((site) => {
  const d = check(site, 'alice', 'door:front');
  assert.equal(d.allow, true);
  assert.equal(d.reason, 'allowed');
  assert.match(d.rule!, /door front rule 0: group members, schedule weekdays window 0/);
  assert.equal(d.memberId, 'alice');
  assert.equal(d.badge, badgeOf('alice'));
  const late = Date.UTC(2026, 10, 21, 23, 0); // Sunday night
  site.clock.now = late;
  assert.match(check(site, 'bob', 'door:front').rule!, /group staff, any time/);
}));

test('unknown badge', withSite((site) => {
  const d = check(site, 'mallory', 'door:front');
  assert.deepEqual([d.allow, d.reason, d.memberId], [false, 'unknown_badge', undefined]);
}));

test('badge revoked, and re-assigned after the revocation', withSite((site) => {
  site.staff.revokeBadge(badgeOf('alice'), 'lost');
  assert.equal(check(site, 'alice', 'door:front').reason, 'badge_revoked');
  site.staff.assignBadge(badgeOf('alice'), 'alice');
  assert.equal(check(site, 'alice', 'door:front').allow, true);
}));

test('member suspended, then reinstated', withSite((site) => {
  site.staff.suspend('alice', 'unpaid');
  const d = check(site, 'alice', 'door:front');
  assert.deepEqual([d.allow, d.reason, d.memberId], [false, 'member_suspended', 'alice']);
  site.staff.reinstate('alice');
  assert.equal(check(site, 'alice', 'door:front').allow, true);
}));

test('membership expired', withSite((site) => {
  site.staff.updateMember({ id: 'alice', until: T0 - 1 });
  assert.equal(check(site, 'alice', 'door:front').reason, 'membership_expired');
  site.staff.updateMember({ id: 'alice', open_ended: true });
  assert.equal(check(site, 'alice', 'door:front').allow, true);
}));

test('outside schedule: evening, weekend and holiday in the schedule\'s time zone', withSite((site) => {
  // 19:30 UTC is 20:30 in Berlin in November: after the window.
  const evening = Date.UTC(2026, 10, 16, 19, 30);
  site.clock.now = evening;
  assert.equal(check(site, 'alice', 'door:front').reason, 'outside_schedule');
  // 18:30 UTC is 19:30 in Berlin: inside.
  assert.equal(check(site, 'alice', 'door:front', Date.UTC(2026, 10, 16, 18, 30)).allow, true);
  site.clock.now = Date.UTC(2026, 10, 21, 10, 0); // Saturday
  assert.equal(check(site, 'alice', 'door:front').reason, 'outside_schedule');
  site.clock.now = Date.UTC(2026, 11, 25, 10, 0); // Friday, Christmas
  const d = check(site, 'alice', 'door:front');
  assert.equal(d.reason, 'outside_schedule');
  assert.match(d.rule!, /holiday 2026-12-25/);
}));

test('no access rule for a member without the group', withSite((site) => {
  site.staff.updateMember({ id: 'erin', groups: ['visitors'] });
  assert.equal(check(site, 'erin', 'door:front').reason, 'no_access');
}));

test('lockdown per door and site-wide overrides schedules; exempt groups pass', withSite((site) => {
  site.staff.lockdown('front');
  assert.equal(check(site, 'alice', 'door:front').reason, 'lockdown');
  assert.equal(check(site, 'bob', 'door:front').reason, 'lockdown');
  site.staff.liftLockdown('front');
  assert.equal(check(site, 'alice', 'door:front').allow, true);
  site.staff.lockdown('*', ['staff'], 'police request');
  assert.equal(check(site, 'alice', 'door:front').reason, 'lockdown');
  const bob = check(site, 'bob', 'door:front');
  assert.equal(bob.allow, true);
  assert.match(bob.rule!, /site-wide lockdown, exempt group/);
}));

test('held-unlocked period admits known members outside the schedule', withSite((site) => {
  const sat = Date.UTC(2026, 10, 21, 10, 0);
  site.staff.hold('front', sat - H, sat + H);
  site.clock.now = sat;
  const d = check(site, 'alice', 'door:front');
  assert.equal(d.allow, true);
  assert.match(d.rule!, /held unlocked/);
  assert.equal(check(site, 'alice', 'door:front', sat + 2 * H).reason, 'outside_schedule');
}));

test('machines: not certified, certified, certification expired, trainer, out of service, maintainer', withSite((site) => {
  assert.equal(check(site, 'alice', 'machine:laser').reason, 'not_certified');
  site.staff.certify('laser', 'alice');
  const ok = check(site, 'alice', 'machine:laser');
  assert.equal(ok.allow, true);
  // cert_days 365 from the certification's own clock
  site.clock.now = T0 + 366 * DAY;
  assert.equal(check(site, 'alice', 'machine:laser').reason, 'certification_expired');
  site.clock.now = T0 + 1000;
  site.staff.decertify('laser', 'alice', 'unsafe use');
  assert.equal(check(site, 'alice', 'machine:laser').reason, 'not_certified');
  const carol = check(site, 'carol', 'machine:laser');
  assert.deepEqual([carol.allow, carol.roles], [true, ['trainer']]);
  site.staff.outOfService('laser', 'mirror cracked');
  const out = check(site, 'carol', 'machine:laser');
  assert.deepEqual([out.allow, out.reason, out.rule], [false, 'out_of_service', 'mirror cracked']);
  const dan = check(site, 'dan', 'machine:laser');
  assert.deepEqual([dan.allow, dan.roles], [true, ['maintainer']]);
  site.staff.backInService('laser');
  assert.equal(check(site, 'carol', 'machine:laser').allow, true);
}));

test('certification with an explicit expiry', withSite((site) => {
  site.staff.certify('laser', 'erin', T0 + DAY);
  assert.equal(check(site, 'erin', 'machine:laser').allow, true);
  site.clock.now = T0 + 2 * DAY;
  assert.equal(check(site, 'erin', 'machine:laser').reason, 'certification_expired');
}));

test('node not enrolled: unknown key, revoked key, no site secret', withSite((site) => {
  const stranger = signerFor('stranger').publicKey.toString('hex');
  assert.equal(check(site, 'alice', 'door:front', site.clock.now, site.service({ nodeKey: stranger })).reason, 'node_not_enrolled');
  assert.equal(check(site, 'alice', 'door:front', site.clock.now, site.service({ siteSecret: null })).reason, 'node_not_enrolled');
  site.ledger.append(signerFor('ada'), 'org', 'key.revoke', { key: site.nodes.front.publicKey.toString('hex') }, { now: site.clock.now });
  assert.equal(check(site, 'alice', 'door:front').reason, 'node_not_enrolled');
}));

test('offline too long: staff only by default, deny_all and allow_known on request', withSite((site) => {
  const lastContact = (): number => T0 - 8 * DAY;
  assert.equal(check(site, 'alice', 'door:front', T0, site.service({ lastContact })).reason, 'offline_too_long');
  assert.equal(check(site, 'bob', 'door:front', T0, site.service({ lastContact })).allow, true);
  assert.equal(check(site, 'bob', 'door:front', T0, site.service({ lastContact, policy: { offline: 'deny_all' } })).reason, 'offline_too_long');
  assert.equal(check(site, 'alice', 'door:front', T0, site.service({ lastContact, policy: { offline: 'allow_known' } })).allow, true);
  assert.equal(check(site, 'alice', 'door:front', T0, site.service({ lastContact, policy: { maxOfflineMs: null } })).allow, true);
}));

test('a clock behind the own clocks of two other keys is wrong: non-staff denied', withSite((site) => {
  // ada's clock set the site up at T0; the laser's says the same (agent/access/clock-evidence.ts).
  site.ledger.append(site.nodes.laser, 'access', 'note', { resource: 'machine:laser', kind: 'rex' }, { now: T0 + 1_000 });
  const behind = T0 - H;
  assert.equal(check(site, 'alice', 'door:front', behind).reason, 'clock_wrong');
  assert.equal(check(site, 'bob', 'door:front', behind).allow, true);
  assert.equal(check(site, 'alice', 'door:front', T0 - 60_000).allow, true, 'within the tolerance');
}));

test('unknown door or machine', withSite((site) => {
  assert.equal(check(site, 'alice', 'door:back').reason, 'unknown_resource');
  assert.equal(check(site, 'alice', 'machine:lathe').reason, 'unknown_resource');
}));
