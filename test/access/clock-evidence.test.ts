// What shows a door its clock is wrong (agent/access/clock-evidence.ts, docs/access-model.md): its own
// earlier events, or the own clocks of several keys, never one key's events, however far ahead they are
// dated and however often. The site: admin ada, nodes front (the deciding door) and laser, plus a hub.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorClocks, clockBehind } from '../../agent/access/clock-evidence.ts';
import { buildSite, SECRET, T0, uid, type Site } from './site.ts';
import { signerFor } from '../ledger/helpers.ts';

const MIN = 60_000;
const ada = signerFor('ada');
const hub = signerFor('hub');

function withSite(fn: (site: Site) => void, opts: Parameters<typeof buildSite>[0] = {}): () => void {
  return () => {
    const site = buildSite(opts);
    try {
      site.ledger.append(ada, 'org', 'node.add', { key: hub.publicKey.toString('hex'), name: 'hub', roles: ['machine'] }, { now: site.clock.now });
      site.staff.addMachine({ id: 'lathe', name: 'Lathe', node: 'hub', cert_days: 365 });
      fn(site);
    } finally {
      site.close();
    }
  };
}

/** front's decision for a member's badge at the front door, its clock reading `at`. */
function door(site: Site, who: string, at: number, policy = {}): { allow: boolean; reason: string; rule?: string } {
  const svc = site.service({ policy: { maxOfflineMs: null, ...policy } });
  return svc.decide({ credential: uid(who), resource: 'door:front', at: new Date(at) });
}

/** An ordinary event signed by `node`, dated by a clock reading `ms` (what a fast or lying node signs). */
function logAt(site: Site, node: 'laser' | 'hub' | 'front', ms: number): { status: string; code?: string } {
  const signer = node === 'hub' ? hub : site.nodes[node];
  const resource = { front: 'door:front', laser: 'machine:laser', hub: 'machine:lathe' }[node];
  const r = site.ledger.append(signer, 'access', 'note', { resource, kind: 'rex' }, { now: ms }).result;
  assert.equal(r.status, 'accepted', JSON.stringify(r));
  return r;
}

test('one node dating its events 280 s ahead, again every 140 s, never denies a member', withSite((site) => {
  // Weekday opening hours at T0; every round the liar signs a new event 280 s ahead of the true time.
  for (let round = 0; round < 10; round++) {
    const now = T0 + round * 140_000;
    site.clock.now = now;
    assert.equal(logAt(site, 'laser', now + 280_000).status, 'accepted', 'the ledger takes it: within max_skew_ms');
    assert.ok(site.ledger.latestHlc().ms >= now + 280_000, 'the ledger\'s newest time is the liar\'s');
    for (const at of [now + 1_000, now + 100_000]) {
      const d = door(site, 'alice', at);
      assert.equal(d.allow, true, `round ${round}: ${d.reason} ${d.rule ?? ''}`);
    }
    // The honest keys sign too, after the liar's events: their HLCs borrow its time (counter > 0),
    // which is not their clocks' word.
    site.clock.now = now + 2_000;
    logAt(site, 'hub', now + 2_000);
    site.staff.addMember({ id: `m${round}`, name: `M${round}`, groups: ['members'] });
    assert.equal(door(site, 'alice', now + 3_000).allow, true, `round ${round}, after borrowed times`);
  }
  // The rule this replaces (the newest time in the ledger, i.e. any single key) would have denied.
  assert.equal(door(site, 'alice', T0 + 9 * 140_000 + 1_000, { clockQuorum: 1 }).reason, 'clock_wrong');
}));

test('a node whose clock runs 4 minutes fast: its events wait at the peers and lock nobody out', withSite((site) => {
  // The door's replica with the agent's default ledger.max_skew_ms (120 s, at most clock_tolerance_ms).
  const fast = (realMs: number): number => realMs + 4 * MIN;
  const peer = buildSite({ maxSkewMs: 120_000 });
  try {
    peer.clock.now = T0;
    const ev = peer.ledger.build(peer.nodes.laser, 'access', 'note', { resource: 'machine:laser', kind: 'rex' }, { now: fast(T0) });
    const [first] = peer.ledger.ingest([ev.raw]);
    assert.equal(first!.status, 'rejected');
    assert.equal(first!.status === 'rejected' && first!.code, 'FROM_FUTURE', 'the fast node\'s event waits');
    assert.equal(door(peer, 'alice', T0 + 1_000).allow, true);
    // Offered again once the peer's clock has caught up, it applies; nobody is judged behind.
    peer.clock.now = T0 + 2.5 * MIN;
    assert.equal(peer.ledger.ingest([ev.raw])[0]!.status, 'accepted');
    assert.equal(door(peer, 'alice', T0 + 2.5 * MIN).allow, true);
  } finally {
    peer.close();
  }
  // On a replica that did take its events (a wider max_skew_ms), one fast node is still one key.
  for (let i = 0; i < 5; i++) {
    site.clock.now = T0 + i * MIN;
    logAt(site, 'laser', fast(T0 + i * MIN));
  }
  assert.equal(door(site, 'alice', T0 + 5 * MIN).allow, true);
}));

test('a Pi booted with its clock at 1970, or hours behind, is behind given two keys\' own clocks', withSite((site) => {
  logAt(site, 'laser', T0 + 10_000);
  for (const at of [0, T0 - 4 * 3_600_000]) {
    const alice = door(site, 'alice', at);
    assert.equal(alice.reason, 'clock_wrong', `clock at ${new Date(at).toISOString()}`);
    assert.match(alice.rule ?? '', /behind the clocks of 2 other keys; policy staff_only/);
    assert.equal(door(site, 'bob', at).allow, true, 'staff_only lets staff in');
    assert.equal(door(site, 'bob', at, { clock: 'deny_all' }).reason, 'clock_wrong');
    assert.equal(door(site, 'alice', at, { clock: 'allow_known' }).reason, 'outside_schedule', 'allow_known decides as usual (1970 was a Thursday night)');
  }
  assert.equal(door(site, 'alice', T0 + 10_000 - 100_000).allow, true, 'within the tolerance');
}));

test('one other key\'s clock is not enough on a site with two others; a clock that went back behind its own events is', withSite((site) => {
  // Only ada (the admin who set the site up) has signed with her own clock: one key.
  assert.equal(door(site, 'alice', T0 - 4 * 3_600_000).allow, false, 'outside the schedule, but...');
  assert.equal(door(site, 'alice', T0 - 4 * 3_600_000).reason, 'outside_schedule', 'not clock_wrong on one key\'s word');
  // front's own access record, signed with its own clock before the reboot.
  logAt(site, 'front', T0 + 5_000);
  const d = door(site, 'alice', 0);
  assert.equal(d.reason, 'clock_wrong');
  assert.match(d.rule ?? '', /behind this node's own earlier events/);
}));

test('a revoked key no longer vouches; a site with one other key takes its word', withSite((site) => {
  logAt(site, 'laser', T0 + 10_000);
  assert.equal(door(site, 'alice', 0).reason, 'clock_wrong');
  const revoked = site.ledger.append(ada, 'org', 'key.revoke', { key: site.nodes.laser.publicKey.toString('hex') }, { now: T0 + 11_000 }).result;
  assert.equal(revoked.status, 'accepted', JSON.stringify(revoked));
  const clocks = authorClocks(site.ledger);
  assert.equal(clocks.get(site.nodes.laser.publicKey.toString('hex')), T0 + 10_000);
  const front = site.nodes.front.publicKey.toString('hex');
  assert.equal(clockBehind({ ledger: site.ledger, self: front, at: 0, toleranceMs: 120_000, quorum: 2 }), null, 'ada and hub: only ada has spoken');
  // The hub is revoked too: ada is the only other live key, so her word is all there is.
  site.ledger.append(ada, 'org', 'key.revoke', { key: hub.publicKey.toString('hex') }, { now: T0 + 12_000 });
  const v = clockBehind({ ledger: site.ledger, self: front, at: 0, toleranceMs: 120_000, quorum: 2 });
  assert.equal(v?.source, 'peers');
  assert.equal(v?.keys, 1);
  assert.ok(SECRET.length > 0);
}));
