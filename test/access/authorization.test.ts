// Malformed or unauthorised dapp events are refused with NOT_AUTHORIZED or INVALID_BODY, and
// leave the state as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Signer } from '../../agent/ledger/crypto.ts';
import type { Json } from '../../agent/ledger/canonical-json.ts';
import { signerFor } from '../ledger/helpers.ts';
import { buildSite, badgeOf, type Site } from './site.ts';

function refused(site: Site, signer: Signer, dapp: string, type: string, body: Json, code: string, message?: RegExp): void {
  const before = site.ledger.stateHash();
  const { result } = site.ledger.append(signer, dapp, type, body);
  assert.equal(result.status, 'rejected', `${dapp}/${type} should be refused`);
  assert.equal(result.code, code, result.message);
  if (message) assert.match(result.message!, message);
  assert.equal(site.ledger.stateHash(), before, 'a refused event changes nothing');
}

test('a trainer certifying at a machine they do not train is refused', () => {
  const site = buildSite();
  try {
    // alice is no trainer of the laser; the laser's node attests for her.
    refused(site, site.nodes.laser, 'machine', 'certify', { machine: 'laser', member: 'erin', by: 'alice' }, 'NOT_AUTHORIZED', /'alice' is not a trainer of machine 'laser'/);
    // carol trains the laser, but the front door's node is not the laser's node.
    refused(site, site.nodes.front, 'machine', 'certify', { machine: 'laser', member: 'erin', by: 'carol' }, 'NOT_AUTHORIZED', /not the node of machine 'laser'/);
    // A trainer may not certify themselves.
    refused(site, site.nodes.laser, 'machine', 'certify', { machine: 'laser', member: 'carol', by: 'carol' }, 'NOT_AUTHORIZED');
    // The real flow passes: carol trains the laser and its node attests.
    const ok = site.ledger.append(site.nodes.laser, 'machine', 'certify', { machine: 'laser', member: 'erin', by: 'carol' });
    assert.equal(ok.result.status, 'accepted', ok.result.message);
    // Once carol's trainer role is withdrawn, her attestations are refused.
    site.staff.setRole('laser', 'carol', 'trainer', false);
    refused(site, site.nodes.laser, 'machine', 'certify', { machine: 'laser', member: 'alice', by: 'carol' }, 'NOT_AUTHORIZED');
  } finally { site.close(); }
});

test('a node may not make itself or anyone admin, nor act as staff', () => {
  const site = buildSite();
  try {
    const node = site.nodes.front;
    refused(site, node, 'org', 'admin.add', { key: node.publicKey.toString('hex'), name: 'me' }, 'NOT_AUTHORIZED');
    refused(site, node, 'member', 'suspend', { id: 'alice' }, 'NOT_AUTHORIZED', /only an admin may suspend a member; node 'front'/);
    refused(site, node, 'badge', 'assign', { badge: badgeOf('x'), member: 'alice' }, 'NOT_AUTHORIZED');
    refused(site, node, 'door', 'lockdown', { door: '*' }, 'NOT_AUTHORIZED');
    refused(site, node, 'machine', 'role', { machine: 'laser', member: 'alice', role: 'trainer', on: true }, 'NOT_AUTHORIZED');
  } finally { site.close(); }
});

test('a key from outside the organisation is refused', () => {
  const site = buildSite();
  try {
    refused(site, signerFor('outsider'), 'member', 'suspend', { id: 'alice' }, 'NOT_AUTHORIZED', /not a key of this organisation/);
  } finally { site.close(); }
});

test('nodes report only for their own resources, and only nodes report', () => {
  const site = buildSite();
  try {
    refused(site, site.nodes.laser, 'access', 'decision', { resource: 'door:front', allow: false, reason: 'unknown_badge' }, 'NOT_AUTHORIZED', /belongs to node 'front'/);
    refused(site, signerFor('ada'), 'access', 'decision', { resource: 'door:front', allow: false, reason: 'unknown_badge' }, 'NOT_AUTHORIZED', /only an enrolled node/);
    refused(site, site.nodes.front, 'access', 'decision', { resource: 'door:front', allow: true, reason: 'allowed' }, 'INVALID_BODY', /names the member/);
  } finally { site.close(); }
});

test('malformed bodies are refused with the path of what was wrong', () => {
  const site = buildSite();
  const admin = signerFor('ada');
  try {
    refused(site, admin, 'member', 'add', { id: 'has space', name: 'X' }, 'INVALID_BODY', /body\.id/);
    refused(site, admin, 'member', 'add', { id: 'alice', name: 'Alice again' }, 'INVALID_BODY', /already exists/);
    refused(site, admin, 'badge', 'assign', { badge: 'not-hex', member: 'alice' }, 'INVALID_BODY', /body\.badge/);
    refused(site, admin, 'badge', 'assign', { badge: badgeOf('alice'), member: 'bob' }, 'INVALID_BODY', /already assigned/);
    refused(site, admin, 'door', 'schedule', { id: 'x', tz: 'Mars/Olympus', windows: [] }, 'INVALID_BODY', /unknown time zone/);
    refused(site, admin, 'door', 'schedule', { id: 'x', tz: 'UTC', windows: [{ days: ['mon'], from: '18:00', to: '09:00' }] }, 'INVALID_BODY', /not before/);
    refused(site, admin, 'door', 'add', { id: 'back', name: 'Back', rules: [{ group: 'members', schedule: 'nope' }] }, 'INVALID_BODY', /schedule 'nope' does not exist/);
    refused(site, admin, 'door', 'hold', { door: 'front', from: 10, to: 5 }, 'INVALID_BODY', /ends before it starts/);
    refused(site, site.nodes.front, 'access', 'decision', { resource: 'lift:3', allow: false, reason: 'x' }, 'INVALID_BODY', /body\.resource/);
    refused(site, admin, 'member', 'reinstate', { id: 'alice' }, 'INVALID_BODY', /not suspended/);
    // A re-grant that does not cite the revocation is stale.
    site.staff.revokeBadge(badgeOf('alice'));
    refused(site, admin, 'badge', 'assign', { badge: badgeOf('alice'), member: 'alice' }, 'INVALID_BODY', /body\.prev/);
  } finally { site.close(); }
});
