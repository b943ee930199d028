// Approving enrolment requests (agent/enrol/approve.ts) against a real ledger and provisioning records: the
// token, org, name, roles and key checks, the sealed site secret in org/node.add, and one-time tokens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { approveEnrolment, checkRequest } from '../../agent/enrol/approve.ts';
import type { NodeRole } from '../../agent/enrol/fields.ts';
import { readProvisioned, writeProvisioned } from '../../agent/enrol/provisioned.ts';
import { makeEnrolmentRequest, type EnrolmentRequest } from '../../agent/enrol/request.ts';
import { ensureSiteSecret, readSiteSecret } from '../../agent/enrol/site-secret.ts';
import { enrolmentState, nodeSiteSecret } from '../../agent/enrol/status.ts';
import { newToken, tokenHash } from '../../agent/enrol/token.ts';
import { generateKxKeyPair, type KxKeyPair } from '../../agent/enrol/x25519.ts';
import type { Signer } from '../../agent/ledger/crypto.ts';
import { foundOrg, signerFor, tempDir, type Org, expectError } from './helpers.ts';

interface Device { signer: Signer; kx: KxKeyPair; token: string; name: string; roles: NodeRole[] }

function provision(org: Org, name: string, roles: NodeRole[] = ['door']): Device {
  const token = newToken();
  writeProvisioned(org.dataDir, { v: 1, name, roles, hostname: name, tokenSha256: tokenHash(token), provisionedAt: new Date().toISOString(), via: 'image', where: '/tmp/x.img' });
  return { signer: signerFor(`device ${name} ${token}`), kx: generateKxKeyPair(), token, name, roles };
}

function request(org: Org, d: Device, over: Partial<Parameters<typeof makeEnrolmentRequest>[0]> = {}): EnrolmentRequest {
  return makeEnrolmentRequest({ org: org.org, name: d.name, roles: d.roles, signer: d.signer, kx: d.kx.publicKey, token: d.token, ...over });
}

describe('approving an enrolment request', () => {
  const t = tempDir('approve');
  let org: Org;
  before(() => { org = foundOrg(t.dir); });
  after(() => { org.ledger.close(); t.cleanup(); });

  it('appends org/node.add with the provisioned roles and the site secret sealed to the node', () => {
    const d = provision(org, 'laser', ['machine']);
    const r = approveEnrolment({ ledger: org.ledger, dataDir: org.dataDir, name: 'laser', request: request(org, d), signer: org.admin });
    assert.equal(r.siteSecretCreated, true, 'a data directory without a site secret gets one');
    const secret = readSiteSecret(org.dataDir)!;
    assert.equal(statSync(join(org.dataDir, 'site-secret')).mode & 0o777, 0o600);
    const key = d.signer.publicKey.toString('hex');
    assert.deepEqual(enrolmentState(org.ledger, key), { state: 'enrolled', name: 'laser', roles: ['machine'], added: r.event });
    assert.deepEqual(nodeSiteSecret(org.ledger, key, d.kx.privateKey), secret);
    expectError('ENROL_SEAL', /does not open/, () => nodeSiteSecret(org.ledger, key, generateKxKeyPair().privateKey));
    assert.equal(org.ledger.get(`org/node/laser`), key);
    const rec = readProvisioned(org.dataDir, 'laser')!;
    assert.deepEqual(rec.approved, { key, kx: d.kx.publicKey.toString('hex'), event: r.event, at: rec.approved?.at });
    // The token itself is never stored by the admin, only its hash.
    assert.doesNotMatch(readFileSync(join(org.dataDir, 'provisioned/laser.json'), 'utf8'), new RegExp(d.token));
  });

  it('keeps an existing site secret', () => {
    const before = ensureSiteSecret(org.dataDir).secret;
    const d = provision(org, 'front-door');
    const r = approveEnrolment({ ledger: org.ledger, dataDir: org.dataDir, name: 'front-door', request: request(org, d), signer: org.admin });
    assert.equal(r.siteSecretCreated, false);
    assert.deepEqual(nodeSiteSecret(org.ledger, d.signer.publicKey.toString('hex'), d.kx.privateKey), before);
  });

  it('refuses requests that do not match what was provisioned', () => {
    const d = provision(org, 'back-door');
    const ok = request(org, d);
    expectError('ENROL_BAD_TOKEN', /not the one provisioned for 'back-door'/, () => checkRequest(org.ledger, org.dataDir, 'back-door', request(org, d, { token: newToken() })));
    expectError('ENROL_NOT_PROVISIONED', /no node 'side-door' was provisioned/, () => checkRequest(org.ledger, org.dataDir, 'side-door', { ...ok, name: 'side-door' }));
    expectError('ENROL_BAD_REQUEST', /the request is from node 'back-door', not 'laser'/, () => checkRequest(org.ledger, org.dataDir, 'laser', ok));
    expectError('ENROL_WRONG_ORG', /the request is for org 0e0e0e0e0e0e, this ledger is org/, () => checkRequest(org.ledger, org.dataDir, 'back-door', request(org, d, { org: '0e'.repeat(32) })));
    expectError('ENROL_BAD_REQUEST', /asks for roles door,hub but 'back-door' was provisioned as door/, () => checkRequest(org.ledger, org.dataDir, 'back-door', request(org, d, { roles: ['door', 'hub'] })));
    expectError('ENROL_CONFLICT', /is an admin key, not a node key/, () => checkRequest(org.ledger, org.dataDir, 'back-door', request(org, d, { signer: org.admin })));
    assert.equal(enrolmentState(org.ledger, d.signer.publicKey.toString('hex')).state, 'not-enrolled', 'nothing was appended');
  });

  it('spends a token once, and a name needs its old key revoked before a new device takes it', () => {
    const d = provision(org, 'drill', ['machine']);
    approveEnrolment({ ledger: org.ledger, dataDir: org.dataDir, name: 'drill', request: request(org, d), signer: org.admin });
    expectError('ENROL_CONFLICT', /node 'drill' is already enrolled with key/, () => checkRequest(org.ledger, org.dataDir, 'drill', request(org, d)));
    // Someone who copied the token from the card before first boot, with a key of their own:
    const thief = { ...d, signer: signerFor('thief'), kx: generateKxKeyPair() };
    expectError('ENROL_TOKEN_USED', /already spent on key/, () => checkRequest(org.ledger, org.dataDir, 'drill', request(org, thief)));

    // The SD card dies: the admin provisions a new card under the same name.
    const fresh = provision(org, 'drill', ['machine']);
    expectError('ENROL_CONFLICT', /node name 'drill' is enrolled with another key .*; revoke it first \(gdo node revoke drill\)/,
      () => checkRequest(org.ledger, org.dataDir, 'drill', request(org, fresh)));
    const old = d.signer.publicKey.toString('hex');
    assert.equal(org.ledger.append(org.admin, 'org', 'key.revoke', { key: old, reason: 'card died' }).result.status, 'accepted');
    approveEnrolment({ ledger: org.ledger, dataDir: org.dataDir, name: 'drill', request: request(org, fresh), signer: org.admin });
    assert.equal(enrolmentState(org.ledger, old).state, 'revoked');
    assert.equal(enrolmentState(org.ledger, fresh.signer.publicKey.toString('hex')).state, 'enrolled');
    // The revoked key never comes back, even with a freshly provisioned token.
    const again = provision(org, 'drill', ['machine']);
    expectError('ENROL_CONFLICT', /was revoked; a revoked key is never reinstated/, () => checkRequest(org.ledger, org.dataDir, 'drill', request(org, { ...again, signer: d.signer })));
  });

  it('refuses an unusable site secret file', () => {
    const d2 = tempDir('approve-secret');
    try {
      const o2 = foundOrg(d2.dir, 'admin3');
      const dev = provision(o2, 'gate');
      writeFileSync(join(d2.dir, 'site-secret'), Buffer.alloc(16), { mode: 0o600 });
      expectError('ENROL_SITE_SECRET', /holds 16 bytes, expected 32/, () => approveEnrolment({ ledger: o2.ledger, dataDir: o2.dataDir, name: 'gate', request: request(o2, dev), signer: o2.admin }));
      o2.ledger.close();
    } finally { d2.cleanup(); }
  });
});
