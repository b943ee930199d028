// Before a machine's node signs a certification made at the machine (trainer's badge, then the
// trainee's within the window), it asks the machine dapp's own rules (dapps/machine certifyRefusal)
// about the very body it would sign, on the state it would sign it on. So a trainee the ledger refuses
// (suspended, membership ended, a revoked card, a card of no member, a trainer who lost the role) is
// refused at the machine, with the reason, and nothing is signed.
import type { Json } from '../ledger/canonical-json.ts';
import type { EventContext, KeyRecord, StateReader } from '../ledger/dapp.ts';
import { check } from '../ledger/schema.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { isLedgerError } from '../ledger/errors.ts';
import { certifyRefusal, certKey, machineDapp, type Cert, type CertifyBody } from '../../dapps/machine/index.ts';
import { follows } from '../../dapps/shared/guards.ts';
import { badgeHash } from './badge-hash.ts';

export interface CertificationRequest { resource: string; trainerId: string; memberId: string; credential: Buffer; at: Date }
export type CertificationVerdict = { ok: true } | { ok: false; reason: string; detail: string };

/** The machine/certify body a node signs for `trainer` certifying `member`, citing the certificate it supersedes. */
export function certificationBody(state: Pick<StateReader, 'get'>, machine: string, member: string, trainer: string, badge: string | undefined): CertifyBody {
  return { machine, member, by: trainer, ...(badge !== undefined && { badge }), ...follows(state.get<Cert>(certKey(machine, member))) };
}

export interface CertificationCheckOptions { ledger: Ledger; nodeKey: string; siteSecret: Buffer | null }

export function checkCertification(o: CertificationCheckOptions, req: CertificationRequest): CertificationVerdict {
  const refuse = (reason: string, detail: string): CertificationVerdict => ({ ok: false, reason, detail });
  if (!o.siteSecret) return refuse('node_not_enrolled', 'this node has not received the site secret');
  if (!req.resource.startsWith('machine:')) return refuse('unknown_resource', `${req.resource} is not a machine`);
  const machine = req.resource.slice('machine:'.length);
  const badge = badgeHash(o.siteSecret, req.credential);
  const l = o.ledger;
  return l.snapshot(() => {
    const authorKey = l.get<KeyRecord>(`org/key/${o.nodeKey}`);
    if (!authorKey || authorKey.kind !== 'node' || authorKey.revoked) return refuse('node_not_enrolled', 'this node has no live node key in the ledger');
    const state: StateReader = { get: (k) => l.get(k), has: (k) => l.get(k) !== undefined, scan: (p) => l.scan(p) };
    const body = certificationBody(state, machine, req.memberId, req.trainerId, badge);
    try {
      check(machineDapp.types['certify']!.schema, body as unknown as Json);
    } catch (e) {
      if (isLedgerError(e)) return refuse('invalid_certification', e.message);
      throw e;
    }
    // The event would be dated at least now (its hlc follows this node's clock and the ledger's).
    const ms = Math.max(req.at.getTime(), l.latestHlc().ms);
    const ctx: EventContext = { id: '00'.repeat(32), author: o.nodeKey, seq: 0, hlc: { ms, c: 0 }, dapp: 'machine', type: 'certify', authorKey };
    const r = certifyRefusal(ctx, body, state);
    return r ? refuse(r.reason, r.message) : { ok: true };
  });
}
