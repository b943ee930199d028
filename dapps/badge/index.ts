// The `badge` dapp: which card belongs to which member. The ledger never holds a card's UID,
// only its keyed hash (agent/access/badge-hash.ts): a UID is a bearer secret on cheap cards
// (docs/design-notes.md, "Credentials"), and the ledger travels to every node and USB bundle.
// Revocation is a power event and always applies; assigning a badge again after a revocation
// is a guarded grant that cites the revocation (dapps/shared/guards.ts).
import type { Dapp, EventContext, StateReader, StateWriter } from '../../agent/ledger/dapp.ts';
import { reject } from '../../agent/ledger/errors.ts';
import { s } from '../../agent/ledger/schema.ts';
import { flagGrantsAfter } from '../access/anomaly.ts';
import { memberKey } from '../member/index.ts';
import { badgeSchema, idSchema, knownSchema, need, requireFollowsRevocations, requireAdmin, requireCurrent, revokeHistory, stamp, verSchema, type History, type Versioned } from '../shared/guards.ts';

export interface Badge extends Versioned, History {
  badge: string;
  member: string;
  revoked: boolean;
  reason: string | null;
}

export const badgeKey = (hash: string): string => `badge/b/${hash}`;
export const memberBadgeKey = (member: string, hash: string): string => `badge/by/${member}/${hash}`;

interface AssignBody { badge: string; member: string; prev?: string; known?: string[] }

function checkAssign(ctx: EventContext, body: AssignBody, state: StateReader): void {
  need(state, memberKey(body.member), `member '${body.member}'`);
  const b = state.get<Badge>(badgeKey(body.badge));
  if (b && !b.revoked) reject('INVALID_BODY', `body.badge: badge ${body.badge.slice(0, 8)} is already assigned to member '${b.member}'`);
  requireCurrent(b, body.prev, `badge ${body.badge.slice(0, 8)}`);
  requireFollowsRevocations(b, body.known, `badge ${body.badge.slice(0, 8)}`);
  void ctx;
}

function assign(ctx: EventContext, body: AssignBody, state: StateWriter): void {
  const old = state.get<Badge>(badgeKey(body.badge));
  if (old) state.del(memberBadgeKey(old.member, body.badge));
  state.put(badgeKey(body.badge), { badge: body.badge, member: body.member, revoked: false, reason: null, revs: old?.revs ?? [], ...stamp(ctx) } satisfies Badge);
  state.put(memberBadgeKey(body.member, body.badge), 1);
}

// Revoking a revoked badge is allowed (idempotent): concurrent revocations must each count, in
// whichever order they fold, or a grant could escape its anomaly flag.
function checkRevoke(body: { badge: string }, state: StateReader): Badge {
  return need<Badge>(state, badgeKey(body.badge), `badge ${body.badge.slice(0, 8)}`);
}

function revoke(ctx: EventContext, hash: string, reason: string | null, state: StateWriter): void {
  const b = state.get<Badge>(badgeKey(hash))!;
  const next: Badge = { ...b, revoked: true, reason, ...stamp(ctx), ...revokeHistory(ctx, b) };
  state.put(badgeKey(hash), next);
  flagGrantsAfter(state, b.member, next, 'badge revoked', (g) => g.badge === hash);
}

export const badgeDapp: Dapp = {
  name: 'badge',
  types: {
    assign: {
      schema: s.obj({ badge: badgeSchema, member: idSchema, prev: verSchema, known: knownSchema }),
      validate(ctx, body: AssignBody, state) {
        requireAdmin(ctx, 'assign a badge');
        checkAssign(ctx, body, state);
      },
      apply: assign,
    },
    revoke: {
      power: true,
      schema: s.obj({ badge: badgeSchema, reason: s.opt(s.str(200)) }),
      validate(ctx, body: { badge: string }, state) {
        requireAdmin(ctx, 'revoke a badge');
        checkRevoke(body, state);
      },
      apply(ctx, body: { badge: string; reason?: string }, state) { revoke(ctx, body.badge, body.reason ?? null, state); },
    },
    // A lost or broken card: the old one is revoked and the new one assigned in one event.
    replace: {
      power: true,
      schema: s.obj({ old: badgeSchema, badge: badgeSchema, prev: verSchema, known: knownSchema }),
      validate(ctx, body: { old: string; badge: string; prev?: string; known?: string[] }, state) {
        requireAdmin(ctx, 'replace a badge');
        if (body.old === body.badge) reject('INVALID_BODY', 'body.badge: the new badge is the old one');
        const old = checkRevoke({ badge: body.old }, state);
        checkAssign(ctx, { badge: body.badge, member: old.member, prev: body.prev, known: body.known }, state);
      },
      apply(ctx, body: { old: string; badge: string }, state) {
        const member = state.get<Badge>(badgeKey(body.old))!.member;
        revoke(ctx, body.old, 'replaced', state);
        assign(ctx, { badge: body.badge, member }, state);
      },
    },
  },
};
