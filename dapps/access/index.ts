// The `access` dapp: what nodes saw and did. Every decision (granted or denied, with its reason
// and the rule that matched), every alarm and fault, every machine session is an event signed by
// the node that made it. Only enrolled nodes sign them; a node bound to a door or machine is the
// only one that may report for it.
//
// Granted decisions are also indexed per member, so that a revocation that folds after a grant
// it was concurrent with can flag it (dapps/access/anomaly.ts).
import type { Dapp, EventContext, StateReader } from '../../agent/ledger/dapp.ts';
import { reject } from '../../agent/ledger/errors.ts';
import { s } from '../../agent/ledger/schema.ts';
import { badgeKey, type Badge } from '../badge/index.ts';
import { doorKey, lockdownKey, type Door, type Lockdown } from '../door/index.ts';
import { certKey, machineKey, ROLES, type Cert, type Machine } from '../machine/index.ts';
import { memberKey, type Member } from '../member/index.ts';
import { badgeSchema, idSchema, MAX_REVS, requireNode, verSchema, type History } from '../shared/guards.ts';
import { flagUnknownRevocations, indexGrant, type GrantIndexEntry } from './anomaly.ts';

export const resourceSchema = s.str(80, { pattern: /^(?:door|machine):[A-Za-z0-9][A-Za-z0-9._@-]*$/, describe: "'door:<id>' or 'machine:<id>'" });
export const ALARM_KINDS = ['forced_open', 'held_open', 'alarm_cleared', 'fault', 'fault_cleared', 'tamper'] as const;
export const NOTE_KINDS = ['mode', 'rex', 'reader_online', 'reader_offline', 'started', 'stopping'] as const;
const when = s.int(0, 2 ** 48);

export interface DecisionBody {
  resource: string;
  allow: boolean;
  reason: string;
  rule?: string;
  member?: string;
  badge?: string;
  /** Versions of the badge and member records the decision relied on. */
  ver?: string;
  mver?: string;
  /**
   * The revocations this node knew when it decided, of every record the decision relied on: badge,
   * member, the door's and the site's lockdowns, the machine's tag-outs and certificate (anomaly checks).
   */
  known?: string[];
  /** A machine grant that relied on a certificate: the certificate's version. */
  cver?: string;
  /** The member's roles at the machine that the grant may have relied on (a maintainer runs it out of service). */
  roles?: string[];
  /**
   * 2: `known`, `cver` and `roles` cover every record the decision relied on, the door's lockdowns and
   * the machine's tag-outs and certificate included. Absent on decisions logged before they did, which
   * are checked against their badge and member only, as they always were (their derived state stays).
   */
  v?: number;
}

/** The node that may report for a resource: the one the door or machine names, else any enrolled node. */
export function boundNode(state: StateReader, resource: string): string | null {
  const [kind, id] = resource.split(':') as [string, string];
  if (kind === 'door') return state.get<Door>(doorKey(id))?.node ?? null;
  return state.get<Machine>(machineKey(id))?.node ?? null;
}

function requireReporter(ctx: EventContext, state: StateReader, resource: string, what: string): void {
  const k = requireNode(ctx, what);
  const bound = boundNode(state, resource);
  if (bound !== null && bound !== k.name) reject('NOT_AUTHORIZED', `${resource} belongs to node '${bound}', not '${k.name}'`);
}

/**
 * The records a granted decision relied on, each with the words for its revocations, in the order
 * the anomaly check reads them (the first unknown one is the one a flag names). A grant the node
 * would have made even knowing a withdrawal does not rely on that record: a maintainer at a machine
 * out of service, a trainer or a machine without certificates (no `cver`), a member of a group the
 * lockdown exempts (its exemptions and the member's groups at this point of the fold).
 */
function reliedOn(state: StateReader, body: DecisionBody, member: string): Array<[History | undefined, string]> {
  const out: Array<[History | undefined, string]> = [[state.get<Member>(memberKey(member)), 'member suspended']];
  if (body.badge !== undefined) out.push([state.get<Badge>(badgeKey(body.badge)), 'badge revoked']);
  if (body.v !== 2) return out;
  const [kind, id] = body.resource.split(':') as [string, string];
  if (kind === 'machine') {
    if (!(body.roles ?? []).includes('maintainer')) out.push([state.get<Machine>(machineKey(id)), 'machine out of service']);
    if (body.cver !== undefined) out.push([state.get<Cert>(certKey(id, member)), 'certificate withdrawn']);
    return out;
  }
  const groups = state.get<Member>(memberKey(member))?.groups ?? [];
  for (const scope of [id, '*']) {
    const lock = state.get<Lockdown>(lockdownKey(scope));
    if (lock && !lock.exempt.some((x) => groups.includes(x))) out.push([lock, scope === '*' ? 'site lockdown' : 'door lockdown']);
  }
  return out;
}

export const accessDapp: Dapp = {
  name: 'access',
  types: {
    decision: {
      schema: s.obj({
        resource: resourceSchema, allow: s.bool(), reason: s.str(64), rule: s.opt(s.str(200)),
        member: s.opt(idSchema), badge: s.opt(badgeSchema), ver: verSchema, mver: verSchema,
        // Badge, member, and two more records (door and site lockdowns, or tag-outs and certificate).
        known: s.opt(s.list(s.hex(32), 4 * MAX_REVS)), cver: verSchema, roles: s.opt(s.list(s.oneOf(ROLES), ROLES.length)), v: s.opt(s.int(2, 2)),
      }),
      validate(ctx, body: DecisionBody, state) {
        requireReporter(ctx, state, body.resource, 'log an access decision');
        if (body.allow && body.member === undefined) reject('INVALID_BODY', 'body.member: a granted decision names the member');
      },
      apply(ctx, body: DecisionBody, state) {
        if (!body.allow || body.member === undefined) return;
        const g: GrantIndexEntry = {
          id: ctx.id, hlc: ctx.hlc, node: ctx.authorKey!.name, resource: body.resource, badge: body.badge ?? null,
          ...(body.cver !== undefined && { cert: true }),
        };
        indexGrant(state, body.member, g);
        const known = body.known ?? [];
        for (const [rec, kind] of reliedOn(state, body, body.member)) flagUnknownRevocations(state, body.member, g, rec, known, kind);
      },
    },
    alarm: {
      schema: s.obj({ resource: resourceSchema, kind: s.oneOf(ALARM_KINDS), detail: s.opt(s.str(200)), at: s.opt(when) }),
      validate(ctx, body: { resource: string }, state) { requireReporter(ctx, state, body.resource, 'report an alarm'); },
      apply() { /* the event itself is the record; staff read it with `gdo access log --alarms` */ },
    },
    note: {
      schema: s.obj({ resource: resourceSchema, kind: s.oneOf(NOTE_KINDS), detail: s.opt(s.str(200)), at: s.opt(when) }),
      validate(ctx, body: { resource: string }, state) { requireReporter(ctx, state, body.resource, 'report on a resource'); },
      apply() { /* log only */ },
    },
    session: {
      // One machine session, for billing later: who ran which machine, from when to when.
      schema: s.obj({
        resource: resourceSchema, member: s.opt(idSchema), start: when, end: when, duration_ms: s.int(0, 2 ** 40),
        end_reason: s.str(40), extensions: s.opt(s.int(0, 100_000)),
      }),
      validate(ctx, body: { resource: string; start: number; end: number; duration_ms: number }, state) {
        requireReporter(ctx, state, body.resource, 'log a machine session');
        if (!body.resource.startsWith('machine:')) reject('INVALID_BODY', 'body.resource: sessions are for machines');
        if (body.end < body.start) reject('INVALID_BODY', 'body.end: the session ends before it starts');
      },
      apply() { /* log only */ },
    },
  },
};
