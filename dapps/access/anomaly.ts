// "Granted offline after revocation" (docs/access-model.md, "Anomalies"). A node cut off from the
// others keeps deciding from what it knows; when the branches merge, a grant it made after a
// revocation it could not yet see is kept (it happened) and flagged for staff.
//
// The fold meets the two events in either order, so both sides check:
// - the grant folds after the revocation: the record it used is revoked at a time before the grant;
// - the revocation folds after the grant: it scans the member's indexed grants dated after it.
// Either way the flag lands in derived state, so every node computes the same flags (state hash).
// Tag-outs and lockdowns concern every member, and are checked by the grant only: the fold places a
// revocation dated before a grant ahead of it (Kahn's order by hlc, docs/ledger-format.md "Fold
// order": every ancestor of the revocation is older still), so that check is the one that runs; the
// per-member scan below stays for badges, suspensions and certificates, which have an index at hand.
import type { StateReader, StateWriter } from '../../agent/ledger/dapp.ts';
import type { Hlc } from '../../agent/ledger/hlc.ts';
import { hlcBefore, type History, type Versioned } from '../shared/guards.ts';

export const ANOMALY_PREFIX = 'access/anomaly/';
export const OFFLINE_GRANT = 'granted offline after revocation';

/** `cert`: a machine grant that relied on the member's certificate (a decertification can flag it). */
export interface GrantIndexEntry { id: string; hlc: Hlc; node: string; resource: string; badge: string | null; cert?: true }

export interface Anomaly {
  kind: typeof OFFLINE_GRANT;
  grant: string;
  node: string;
  member: string;
  resource: string;
  badge: string | null;
  granted_at: Hlc;
  /**
   * The revocation the grant did not know: badge revoked, member suspended, certificate withdrawn,
   * machine out of service, door lockdown, site lockdown.
   */
  revocation: string;
  revocation_kind: string;
  revoked_at: Hlc;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const hlcPart = (h: Hlc): string => `${pad(h.ms, 15)}.${pad(h.c, 5)}`;
const grantPrefix = (member: string): string => `access/g/${member}/`;

export function indexGrant(state: StateWriter, member: string, g: GrantIndexEntry): void {
  state.put(`${grantPrefix(member)}${hlcPart(g.hlc)}/${g.id}`, g);
}

/** Called by a revocation as it applies: flags the member's folded grants dated after it. */
export function flagGrantsAfter(
  state: StateWriter, member: string, rev: Versioned, kind: string, matches: (g: GrantIndexEntry) => boolean,
): number {
  let n = 0;
  for (const [, g] of state.scan<GrantIndexEntry>(grantPrefix(member), hlcPart(rev.at))) {
    if (!hlcBefore(rev.at, g.hlc) || !matches(g)) continue;
    if (flag(state, { member, grant: g, rev, kind })) n++;
  }
  return n;
}

/**
 * Called by a granted decision as it applies, for a record it relied on: every revocation of the
 * record folded before the decision, that the decision does not list as known, and dated before
 * it, is one the node could not know (a node that knew it would have denied: revocations always
 * apply, and a re-grant after one is itself a version that follows it).
 */
export function flagUnknownRevocations(state: StateWriter, member: string, g: GrantIndexEntry, rec: History | undefined, known: readonly string[], kind: string): void {
  for (const r of rec?.revs ?? []) {
    if (!known.includes(r.ver) && hlcBefore(r.at, g.hlc)) { flag(state, { member, grant: g, rev: r, kind }); return; }
  }
}

function flag(state: StateWriter, f: { member: string; grant: GrantIndexEntry; rev: Versioned; kind: string }): boolean {
  const key = ANOMALY_PREFIX + f.grant.id;
  if (state.has(key)) return false;
  const a: Anomaly = {
    kind: OFFLINE_GRANT, grant: f.grant.id, node: f.grant.node, member: f.member, resource: f.grant.resource,
    badge: f.grant.badge, granted_at: f.grant.hlc, revocation: f.rev.ver, revocation_kind: f.kind, revoked_at: f.rev.at,
  };
  state.put(key, a);
  return true;
}

export function listAnomalies(state: Pick<StateReader, 'scan'>): Anomaly[] {
  return state.scan<Anomaly>(ANOMALY_PREFIX).map(([, v]) => v);
}
