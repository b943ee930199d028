// The `member` dapp: the people of the maker space. Admins add, update, suspend and reinstate
// members; a membership may end at a time (`until`, epoch ms) and puts a member in access groups.
// Suspension is a power event (ordered before concurrent ordinary events) and always applies;
// reinstatement is a guarded grant (dapps/shared/guards.ts): it cites the suspension it lifts.
import type { Dapp, StateReader } from '../../agent/ledger/dapp.ts';
import { reject } from '../../agent/ledger/errors.ts';
import { s } from '../../agent/ledger/schema.ts';
import { flagGrantsAfter } from '../access/anomaly.ts';
import { groupSchema, idSchema, knownSchema, nameSchema, need, requireFollowsRevocations, requireAdmin, requireCurrent, revokeHistory, stamp, verSchema, type History, type Versioned } from '../shared/guards.ts';

export interface Member extends Versioned, History {
  id: string;
  name: string;
  email: string | null;
  groups: string[];
  /** End of the membership, epoch ms; null = open-ended. */
  until: number | null;
  suspended: boolean;
  reason: string | null;
}

export const memberKey = (id: string): string => `member/m/${id}`;
const groups = s.list(groupSchema, 32);
const email = s.str(200, { pattern: /^[^\s@]+@[^\s@]+$/, describe: 'an e-mail address' });
const until = s.int(0, 2 ** 48);

/**
 * Member ids are unique regardless of case (`Alice` is refused while `alice` exists), for member
 * adds dated from this instant on (hlc ms, 2026-12-08T00:00Z). Earlier adds keep the state they
 * always had, so a ledger that already holds two such ids folds as before on every replica, in a
 * re-fold after a merge and in `gdo ledger verify` alike. Concurrent adds of `alice` and `Alice`
 * on two forks: the one first in fold order applies, the other is kept but not applied
 * (soft-failed, INVALID_BODY), as are later events of its fork that name it (docs/access-model.md,
 * "Member ids").
 */
export const CASE_UNIQUE_FROM_MS = Date.UTC(2026, 11, 8);

/** `member/ci/<id in lower case>` → the member's id: written by adds dated from CASE_UNIQUE_FROM_MS on. */
export const caseKey = (id: string): string => `member/ci/${id.toLowerCase()}`;
/**
 * The event that indexed the members added before the rule: the first add dated after it, in fold
 * order. Every event dated before the rule precedes it in the fold (its hlc is smaller, and an
 * event's ancestors are older than it: ledger-format.md, "Fold order"), so the index it builds is
 * complete, and the same on every replica.
 */
const CASE_INDEX_BUILT = 'member/ci-built';

/**
 * The ids of existing members equal to `id` but for the case of its ASCII letters (itself included
 * when it exists): one lookup in the case index, or before it is built a pass over the members.
 */
export function sameMemberId(state: Pick<StateReader, 'get' | 'scan'>, id: string): string[] {
  if (state.get(CASE_INDEX_BUILT) !== undefined) {
    const hit = state.get<string>(caseKey(id));
    if (hit === undefined) return [];
    // Ids that were twins before the rule share one index entry (the first in key order): the rest by their own key.
    return [...new Set([hit, ...(state.get(memberKey(id)) !== undefined ? [id] : [])])].sort();
  }
  const folded = id.toLowerCase();
  return state.scan<Member>('member/m/').map(([, m]) => m.id).filter((other) => other.toLowerCase() === folded).sort();
}

interface AddBody { id: string; name: string; email?: string; groups?: string[]; until?: number }
interface UpdateBody { id: string; name?: string; email?: string; groups?: string[]; until?: number; open_ended?: boolean }

export const memberDapp: Dapp = {
  name: 'member',
  types: {
    add: {
      schema: s.obj({ id: idSchema, name: nameSchema, email: s.opt(email), groups: s.opt(groups), until: s.opt(until) }),
      validate(ctx, body: AddBody, state) {
        requireAdmin(ctx, 'add a member');
        if (state.has(memberKey(body.id))) reject('INVALID_BODY', `body.id: member '${body.id}' already exists`);
        if (ctx.hlc.ms >= CASE_UNIQUE_FROM_MS) {
          const twin = sameMemberId(state, body.id)[0];
          if (twin !== undefined) reject('INVALID_BODY', `body.id: member '${twin}' already exists; member ids are unique regardless of case`);
        }
      },
      apply(ctx, body: AddBody, state) {
        if (ctx.hlc.ms >= CASE_UNIQUE_FROM_MS) {
          if (!state.has(CASE_INDEX_BUILT)) {
            for (const [, m] of state.scan<Member>('member/m/')) if (!state.has(caseKey(m.id))) state.put(caseKey(m.id), m.id);
            state.put(CASE_INDEX_BUILT, ctx.id);
          }
          state.put(caseKey(body.id), body.id);
        }
        state.put(memberKey(body.id), {
          id: body.id, name: body.name, email: body.email ?? null, groups: [...new Set(body.groups ?? [])].sort(),
          until: body.until ?? null, suspended: false, reason: null, revs: [], ...stamp(ctx),
        } satisfies Member);
      },
    },
    update: {
      // Details, groups and expiry. Not guarded: it cannot lift a suspension, which lives apart.
      schema: s.obj({ id: idSchema, name: s.opt(nameSchema), email: s.opt(email), groups: s.opt(groups), until: s.opt(until), open_ended: s.opt(s.bool()) }),
      validate(ctx, body: UpdateBody, state) {
        requireAdmin(ctx, 'update a member');
        need(state, memberKey(body.id), `member '${body.id}'`);
        if (body.open_ended && body.until !== undefined) reject('INVALID_BODY', 'body: until and open_ended together');
      },
      apply(_ctx, body: UpdateBody, state) {
        const m = state.get<Member>(memberKey(body.id))!;
        state.put(memberKey(body.id), {
          ...m,
          ...(body.name !== undefined && { name: body.name }),
          ...(body.email !== undefined && { email: body.email }),
          ...(body.groups !== undefined && { groups: [...new Set(body.groups)].sort() }),
          ...(body.until !== undefined && { until: body.until }),
          ...(body.open_ended && { until: null }),
        });
      },
    },
    suspend: {
      power: true,
      schema: s.obj({ id: idSchema, reason: s.opt(s.str(200)) }),
      validate(ctx, body: { id: string }, state) {
        requireAdmin(ctx, 'suspend a member');
        // Suspending a suspended member is allowed: two staff may do it concurrently, and each
        // suspension must count for the anomaly checks whichever folds first.
        need<Member>(state, memberKey(body.id), `member '${body.id}'`);
      },
      apply(ctx, body: { id: string; reason?: string }, state) {
        const m = state.get<Member>(memberKey(body.id))!;
        const next: Member = { ...m, suspended: true, reason: body.reason ?? null, ...stamp(ctx), ...revokeHistory(ctx, m) };
        state.put(memberKey(body.id), next);
        flagGrantsAfter(state, body.id, next, 'member suspended', () => true);
      },
    },
    reinstate: {
      schema: s.obj({ id: idSchema, prev: verSchema, known: knownSchema }),
      validate(ctx, body: { id: string; prev?: string; known?: string[] }, state) {
        requireAdmin(ctx, 'reinstate a member');
        const m = need<Member>(state, memberKey(body.id), `member '${body.id}'`);
        if (!m.suspended) reject('INVALID_BODY', `member '${body.id}' is not suspended`);
        requireCurrent(m, body.prev, `member '${body.id}'`);
        requireFollowsRevocations(m, body.known, `member '${body.id}'`);
      },
      apply(ctx, body: { id: string }, state) {
        const m = state.get<Member>(memberKey(body.id))!;
        state.put(memberKey(body.id), { ...m, suspended: false, reason: null, ...stamp(ctx) });
      },
    },
  },
};
