// The `machine` dapp: machines behind lockout relays, who trains and maintains each, who is
// certified to run it, and whether it is out of service.
// - Roles (trainer, maintainer) per machine and certificates per member are guarded records
//   (dapps/shared/guards.ts): withdrawing is a power event and always applies; granting cites
//   the version it supersedes.
// - Certification at the machine: the machine's own node signs `certify` with the trainer's
//   member id after both badges were presented there; the validator checks that the trainer holds
//   the trainer role for this machine at the event's causal position and in the merged fold, and that
//   the trainee is in good standing: not suspended, and, when a node names the card it read (`badge`),
//   a live badge of theirs and a membership not ended. The node asks the same rules before it signs
//   (certifyRefusal).
// - Out of service (tag-out): an admin, or the machine's node on behalf of a maintainer.
import type { Dapp, EventContext, StateReader } from '../../agent/ledger/dapp.ts';
import { isLedgerError, reject } from '../../agent/ledger/errors.ts';
import { s } from '../../agent/ledger/schema.ts';
import { flagGrantsAfter } from '../access/anomaly.ts';
import { badgeKey, type Badge } from '../badge/index.ts';
import { memberKey, type Member } from '../member/index.ts';
import { badgeSchema, idSchema, isAdmin, knownSchema, nameSchema, need, requireCurrent, requireFollowsRevocations, revokeHistory, stamp, verSchema, who, type History, type Versioned } from '../shared/guards.ts';

export const ROLES = ['trainer', 'maintainer'] as const;
export type MachineRole = (typeof ROLES)[number];

/** `revs`: the times it was taken out of service; putting it back must follow every one (guards.ts). */
export interface Machine extends Versioned, History {
  id: string;
  name: string;
  node: string | null;
  /** Whether running it needs a certificate (a drill press may not). */
  cert_required: boolean;
  /** Default validity of a new certificate, days; null = no expiry. */
  cert_days: number | null;
  out: boolean;
  out_reason: string | null;
}
/** `revs`: the withdrawals so far; a grant must follow every one of them (guards.ts). */
export interface Role extends Versioned, History { on: boolean }
export interface Cert extends Versioned, History { on: boolean; until: number | null; trainer: string | null; by: string }

export const machineKey = (id: string): string => `machine/m/${id}`;
export const roleKey = (machine: string, role: MachineRole, member: string): string => `machine/role/${machine}/${role}/${member}`;
export const certKey = (machine: string, member: string): string => `machine/cert/${machine}/${member}`;

const nodeName = s.str(63, { pattern: /^[a-z0-9][a-z0-9-]*$/, describe: 'a node name' });
const days = s.int(1, 36_600);

export function holdsRole(state: StateReader, machine: string, role: MachineRole, member: string): boolean {
  return state.get<Role>(roleKey(machine, role, member))?.on === true;
}

/** Why an event may not apply: the rejection code, a stable reason for people and scripts, the message. */
export interface Refusal { code: 'INVALID_BODY' | 'NOT_AUTHORIZED'; reason: string; message: string }
const refusal = (code: Refusal['code'], reason: string, message: string): Refusal => ({ code, reason, message });

/** An admin, or the machine's node (any machine node when none is named) acting for a member who holds `role` there. */
function adminOrMachineNodeRefusal(ctx: EventContext, state: StateReader, machine: Machine, role: MachineRole, actor: string | undefined, what: string): Refusal | null {
  if (isAdmin(ctx.authorKey)) return null;
  const k = ctx.authorKey;
  if (!k || k.kind !== 'node') return refusal('NOT_AUTHORIZED', 'not_authorized', `only an admin or the machine's node may ${what}; ${who(ctx)} is neither`);
  if (!k.roles.includes('machine') || (machine.node !== null && machine.node !== k.name)) return refusal('NOT_AUTHORIZED', 'not_authorized', `node '${k.name}' is not the node of machine '${machine.id}', so it may not ${what}`);
  if (actor === undefined) return refusal('INVALID_BODY', `no_${role}`, `body.by: a node must name the ${role} who asked it to ${what}`);
  if (!holdsRole(state, machine.id, role, actor)) return refusal('NOT_AUTHORIZED', `not_${role}`, `member '${actor}' is not a ${role} of machine '${machine.id}'`);
  return null;
}

function requireAdminOrMachineNode(ctx: EventContext, state: StateReader, machine: Machine, role: MachineRole, actor: string | undefined, what: string): void {
  const r = adminOrMachineNodeRefusal(ctx, state, machine, role, actor, what);
  if (r) reject(r.code, r.message);
}

/**
 * `badge`: the trainee's card (keyed hash) as the machine's node read it. A node names it, and it must
 * be a live badge of the member; an admin certifies without a card.
 */
export interface CertifyBody { machine: string; member: string; by?: string; until?: number; badge?: string; prev?: string; known?: string[] }

/**
 * Every rule of `certify`, in the order the validator applies them; null when the event may apply.
 * The validator rejects with it, and the machine's node asks it before it signs a certification it
 * made at the machine (agent/access/certify-check.ts), so the trainer is told there and then, with the
 * same reason, and nothing the ledger would refuse is signed. At the machine the trainee is also
 * checked as a door checks a member: a live badge of theirs, membership not ended at the event's time.
 */
export function certifyRefusal(ctx: EventContext, body: CertifyBody, state: StateReader): Refusal | null {
  const m = state.get<Machine>(machineKey(body.machine));
  if (!m) return refusal('INVALID_BODY', 'unknown_resource', `machine '${body.machine}' does not exist`);
  const signer = adminOrMachineNodeRefusal(ctx, state, m, 'trainer', body.by, 'certify a member');
  if (signer) return signer;
  if (body.by !== undefined && body.by === body.member) return refusal('NOT_AUTHORIZED', 'self_certification', `trainer '${body.by}' may not certify themselves`);
  const member = state.get<Member>(memberKey(body.member));
  if (!member) return refusal('INVALID_BODY', 'unknown_badge', `member '${body.member}' does not exist`);
  if (member.suspended) return refusal('INVALID_BODY', 'member_suspended', `member '${body.member}' is suspended`);
  // A node names the card it read (certifications signed before nodes did keep the rules they had).
  if (ctx.authorKey?.kind === 'node' && body.badge !== undefined) {
    const b = state.get<Badge>(badgeKey(body.badge));
    if (!b || b.member !== body.member) return refusal('INVALID_BODY', 'unknown_badge', `body.badge: badge ${body.badge.slice(0, 8)} is not a badge of member '${body.member}'`);
    if (b.revoked) return refusal('INVALID_BODY', 'badge_revoked', `body.badge: badge ${body.badge.slice(0, 8)} was revoked by ${b.ver.slice(0, 12)}`);
    if (member.until !== null && ctx.hlc.ms > member.until) return refusal('INVALID_BODY', 'membership_expired', `member '${body.member}': membership ended ${new Date(member.until).toISOString()}`);
  }
  const c = state.get<Cert>(certKey(body.machine, body.member));
  const what = `the certificate of '${body.member}' on '${body.machine}'`;
  try {
    requireCurrent(c, body.prev, what);
    requireFollowsRevocations(c, body.known, what);
  } catch (e) {
    if (isLedgerError(e) && (e.code === 'INVALID_BODY' || e.code === 'NOT_AUTHORIZED')) return refusal(e.code, 'certificate_changed', e.message);
    throw e;
  }
  return null;
}

export const machineDapp: Dapp = {
  name: 'machine',
  types: {
    add: {
      schema: s.obj({ id: idSchema, name: nameSchema, node: s.opt(nodeName), cert_required: s.opt(s.bool()), cert_days: s.opt(days) }),
      validate(ctx, body: { id: string }, state) {
        if (!isAdmin(ctx.authorKey)) reject('NOT_AUTHORIZED', `only an admin may add a machine; ${who(ctx)} is not one`);
        if (state.has(machineKey(body.id))) reject('INVALID_BODY', `body.id: machine '${body.id}' already exists`);
      },
      apply(ctx, body: { id: string; name: string; node?: string; cert_required?: boolean; cert_days?: number }, state) {
        state.put(machineKey(body.id), {
          id: body.id, name: body.name, node: body.node ?? null, cert_required: body.cert_required ?? true,
          cert_days: body.cert_days ?? null, out: false, out_reason: null, revs: [], ...stamp(ctx),
        } satisfies Machine);
      },
    },
    update: {
      schema: s.obj({ id: idSchema, name: s.opt(nameSchema), node: s.opt(nodeName), cert_required: s.opt(s.bool()), cert_days: s.opt(days) }),
      validate(ctx, body: { id: string }, state) {
        if (!isAdmin(ctx.authorKey)) reject('NOT_AUTHORIZED', `only an admin may change a machine; ${who(ctx)} is not one`);
        need(state, machineKey(body.id), `machine '${body.id}'`);
      },
      apply(_ctx, body: { id: string; name?: string; node?: string; cert_required?: boolean; cert_days?: number }, state) {
        const m = state.get<Machine>(machineKey(body.id))!;
        state.put(machineKey(body.id), { ...m, ...Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'id')) });
      },
    },
    role: {
      // Grants and withdrawals of a role share one power type: role changes resolve before
      // ordinary events (docs/design-notes.md lesson 2). A withdrawal always applies, even to a role another
      // concurrent withdrawal already took away, and is remembered; a grant cites what it
      // supersedes and lists the withdrawals it follows, all of them (as badges do: guards.ts).
      power: true,
      schema: s.obj({ machine: idSchema, member: idSchema, role: s.oneOf(ROLES), on: s.bool(), prev: verSchema, known: knownSchema }),
      validate(ctx, body: { machine: string; member: string; role: MachineRole; on: boolean; prev?: string; known?: string[] }, state) {
        if (!isAdmin(ctx.authorKey)) reject('NOT_AUTHORIZED', `only an admin may change who ${body.role === 'trainer' ? 'trains' : 'maintains'} a machine; ${who(ctx)} is not one`);
        need(state, machineKey(body.machine), `machine '${body.machine}'`);
        need(state, memberKey(body.member), `member '${body.member}'`);
        const r = state.get<Role>(roleKey(body.machine, body.role, body.member));
        const what = `the ${body.role} role of '${body.member}' on '${body.machine}'`;
        if (body.on) {
          if (r?.on) reject('INVALID_BODY', `member '${body.member}' is already a ${body.role} of '${body.machine}'`);
          requireCurrent(r, body.prev, what);
          requireFollowsRevocations(r, body.known, what);
        } else if (!r) {
          reject('INVALID_BODY', `member '${body.member}' is not a ${body.role} of '${body.machine}'`);
        }
      },
      apply(ctx, body: { machine: string; member: string; role: MachineRole; on: boolean }, state) {
        const key = roleKey(body.machine, body.role, body.member);
        const r = state.get<Role>(key);
        const revs = body.on ? (r?.revs ?? []) : revokeHistory(ctx, r).revs;
        state.put(key, { on: body.on, revs, ...stamp(ctx) } satisfies Role);
      },
    },
    certify: {
      schema: s.obj({ machine: idSchema, member: idSchema, by: s.opt(idSchema), until: s.opt(s.int(0, 2 ** 48)), badge: s.opt(badgeSchema), prev: verSchema, known: knownSchema }),
      validate(ctx, body: CertifyBody, state) {
        const r = certifyRefusal(ctx, body, state);
        if (r) reject(r.code, r.message);
      },
      apply(ctx, body: CertifyBody, state) {
        const m = state.get<Machine>(machineKey(body.machine))!;
        // Default expiry from the machine's policy, counted from the event's own clock.
        const until = body.until ?? (m.cert_days === null ? null : ctx.hlc.ms + m.cert_days * 86_400_000);
        const revs = state.get<Cert>(certKey(body.machine, body.member))?.revs ?? [];
        state.put(certKey(body.machine, body.member), { on: true, until, trainer: body.by ?? null, by: ctx.authorKey?.name ?? ctx.author, revs, ...stamp(ctx) } satisfies Cert);
      },
    },
    decertify: {
      power: true,
      schema: s.obj({ machine: idSchema, member: idSchema, reason: s.opt(s.str(200)) }),
      validate(ctx, body: { machine: string; member: string }, state) {
        if (!isAdmin(ctx.authorKey)) reject('NOT_AUTHORIZED', `only an admin may withdraw a certificate; ${who(ctx)} is not one`);
        // Already withdrawn by a concurrent decertify: this one applies too (revocation wins).
        if (!state.get<Cert>(certKey(body.machine, body.member))) reject('INVALID_BODY', `member '${body.member}' holds no certificate for '${body.machine}'`);
      },
      apply(ctx, body: { machine: string; member: string }, state) {
        const c = state.get<Cert>(certKey(body.machine, body.member))!;
        state.put(certKey(body.machine, body.member), { ...c, on: false, revs: revokeHistory(ctx, c).revs, ...stamp(ctx) } satisfies Cert);
        const resource = `machine:${body.machine}`;
        flagGrantsAfter(state, body.member, stamp(ctx), 'certificate withdrawn', (g) => g.resource === resource && g.cert === true);
      },
    },
    out: {
      power: true,
      schema: s.obj({ machine: idSchema, reason: s.str(200), by: s.opt(idSchema) }),
      validate(ctx, body: { machine: string; by?: string }, state) {
        const m = need<Machine>(state, machineKey(body.machine), `machine '${body.machine}'`);
        requireAdminOrMachineNode(ctx, state, m, 'maintainer', body.by, 'take a machine out of service');
      },
      // A tag-out always applies, also on top of a concurrent one: otherwise putting the machine
      // back after only the first would clear both.
      apply(ctx, body: { machine: string; reason: string }, state) {
        const m = state.get<Machine>(machineKey(body.machine))!;
        state.put(machineKey(body.machine), { ...m, out: true, out_reason: body.reason, revs: revokeHistory(ctx, m).revs, ...stamp(ctx) } satisfies Machine);
      },
    },
    in: {
      schema: s.obj({ machine: idSchema, by: s.opt(idSchema), prev: verSchema, known: knownSchema }),
      validate(ctx, body: { machine: string; by?: string; prev?: string; known?: string[] }, state) {
        const m = need<Machine>(state, machineKey(body.machine), `machine '${body.machine}'`);
        requireAdminOrMachineNode(ctx, state, m, 'maintainer', body.by, 'put a machine back in service');
        if (!m.out) reject('INVALID_BODY', `machine '${body.machine}' is in service`);
        requireCurrent(m, body.prev, `machine '${body.machine}'`);
        requireFollowsRevocations(m, body.known, `machine '${body.machine}'`);
      },
      apply(ctx, body: { machine: string }, state) {
        const m = state.get<Machine>(machineKey(body.machine))!;
        state.put(machineKey(body.machine), { ...m, out: false, out_reason: null, ...stamp(ctx) } satisfies Machine);
      },
    },
  },
};
