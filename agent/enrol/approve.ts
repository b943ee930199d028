// Approving an enrolment request (`gdo node approve`): the admin's side of enrolment. The request must
// verify (request.ts), be for this organisation, carry the token provisioned for that name, and not clash
// with a node already enrolled; then the operator signs org/node.add with the roles the admin provisioned
// (never the roles the request claims) and the site secret sealed to the node's X25519 key.
import { hex } from '../ledger/event.ts';
import type { Signer } from '../ledger/crypto.ts';
import type { KeyRecord } from '../ledger/dapp.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { EnrolError } from './errors.ts';
import { readProvisioned, writeProvisioned, type ProvisionedRecord } from './provisioned.ts';
import type { EnrolmentRequest } from './request.ts';
import { sealSiteSecret } from './seal.ts';
import { ensureSiteSecret } from './site-secret.ts';
import { tokenMatches } from './token.ts';

export interface ApproveInput {
  ledger: Ledger;
  dataDir: string;
  name: string; // the name the admin approves; the request must be for it
  request: EnrolmentRequest; // parsed, signature checked
  signer: Signer; // the operator's key
  now?: number;
}

export interface ApproveResult {
  event: string;
  key: string;
  roles: string[];
  siteSecretCreated: boolean;
  record: ProvisionedRecord;
}

/** The checks alone, without signing anything: `gdo node requests` shows their outcome per request. */
export function checkRequest(ledger: Ledger, dataDir: string, name: string, req: EnrolmentRequest): ProvisionedRecord {
  const org = ledger.orgId ? hex(ledger.orgId) : undefined;
  if (!org) throw new EnrolError('ENROL_WRONG_ORG', 'the ledger has no genesis yet');
  if (req.org !== org) throw new EnrolError('ENROL_WRONG_ORG', `the request is for org ${req.org.slice(0, 12)}, this ledger is org ${org.slice(0, 12)}`);
  if (req.name !== name) throw new EnrolError('ENROL_BAD_REQUEST', `the request is from node '${req.name}', not '${name}'`);
  const rec = readProvisioned(dataDir, name);
  if (!rec) throw new EnrolError('ENROL_NOT_PROVISIONED', `no node '${name}' was provisioned from ${dataDir} (gdo provision --node ${name} ...)`);
  if (!tokenMatches(req.token, rec.tokenSha256)) {
    throw new EnrolError('ENROL_BAD_TOKEN', `the request's enrolment token is not the one provisioned for '${name}' on ${rec.provisionedAt}: it comes from another device or an older provisioning`);
  }
  if (rec.approved && rec.approved.key !== req.key) {
    throw new EnrolError('ENROL_TOKEN_USED', `the token provisioned for '${name}' was already spent on key ${rec.approved.key.slice(0, 12)}; provision the node again to enrol a new key`);
  }
  const roles = [...rec.roles].sort();
  if (roles.join(',') !== [...req.roles].sort().join(',')) {
    throw new EnrolError('ENROL_BAD_REQUEST', `the request asks for roles ${req.roles.join(',')} but '${name}' was provisioned as ${rec.roles.join(',')}`);
  }
  const existing = ledger.get<KeyRecord>(`org/key/${req.key}`);
  if (existing?.revoked) throw new EnrolError('ENROL_CONFLICT', `key ${req.key.slice(0, 12)} was revoked; a revoked key is never reinstated: provision the node again`);
  if (existing?.kind === 'admin') throw new EnrolError('ENROL_CONFLICT', `key ${req.key.slice(0, 12)} is an admin key, not a node key`);
  if (existing) throw new EnrolError('ENROL_CONFLICT', `node '${existing.name}' is already enrolled with key ${req.key.slice(0, 12)}`);
  const holder = ledger.get<string>(`org/node/${name}`);
  if (holder && holder !== req.key && !ledger.get<KeyRecord>(`org/key/${holder}`)?.revoked) {
    throw new EnrolError('ENROL_CONFLICT', `node name '${name}' is enrolled with another key (${holder.slice(0, 12)}); revoke it first (gdo node revoke ${name})`);
  }
  return rec;
}

export function approveEnrolment(input: ApproveInput): ApproveResult {
  const { ledger, dataDir, name, request: req } = input;
  const rec = checkRequest(ledger, dataDir, name, req);
  const { secret, created } = ensureSiteSecret(dataDir);
  const body = { key: req.key, name, roles: [...rec.roles], kx: req.kx, box: sealSiteSecret(secret, req.kx) };
  const { event, result } = ledger.append(input.signer, 'org', 'node.add', body, input.now === undefined ? {} : { now: input.now });
  if (result.status !== 'accepted') {
    throw new EnrolError('ENROL_CONFLICT', `the ledger refused org/node.add for '${name}': ${result.code ?? result.status} ${result.message ?? ''}`.trim());
  }
  const record: ProvisionedRecord = { ...rec, approved: { key: req.key, kx: req.kx, event: hex(event.id), at: new Date(input.now ?? Date.now()).toISOString() } };
  writeProvisioned(dataDir, record);
  return { event: hex(event.id), key: req.key, roles: body.roles, siteSecretCreated: created, record };
}
