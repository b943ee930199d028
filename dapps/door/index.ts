// The `door` dapp: doors, who may open them when, lockdown and open-house periods.
// - A door lists access rules: an access group and an optional schedule (none = any time).
// - Lockdown, per door or site-wide ('*'), overrides every schedule; only the groups it exempts
//   get in. Declaring it is a power event; lifting it is a guarded grant that cites it.
// - Held-unlocked periods (open house) leave the strike released between two instants.
// - The fail mode says what the strike does without power: 'secure' stays locked, 'safe' opens
//   (fire codes for egress doors; docs/design-notes.md "Door safety").
import type { Dapp } from '../../agent/ledger/dapp.ts';
import { reject } from '../../agent/ledger/errors.ts';
import { s } from '../../agent/ledger/schema.ts';
import { groupSchema, idSchema, knownSchema, nameSchema, need, requireAdmin, requireCurrent, requireFollowsRevocations, revokeHistory, stamp, verSchema, type History, type Versioned } from '../shared/guards.ts';
import { checkTimeZone, checkWindows, DATE, DAYS, HHMM, type Schedule } from './schedule.ts';

export interface AccessRule { group: string; schedule: string | null }
export interface Door { id: string; name: string; node: string | null; fail: 'secure' | 'safe'; rules: AccessRule[] }
/** `revs`: the lockdowns declared so far; a lift must follow every one (guards.ts). */
export interface Lockdown extends Versioned, History { on: boolean; exempt: string[]; reason: string | null }
export interface Hold { from: number; to: number; ev: string }

export const doorKey = (id: string): string => `door/d/${id}`;
export const scheduleKey = (id: string): string => `door/s/${id}`;
/** '*' is the whole site. */
export const lockdownKey = (door: string): string => `door/lock/${door}`;
export const holdKey = (door: string): string => `door/hold/${door}`;
const MAX_HOLDS = 64;

const rule = s.obj({ group: groupSchema, schedule: s.opt(idSchema) });
const nodeName = s.str(63, { pattern: /^[a-z0-9][a-z0-9-]*$/, describe: 'a node name' });
const when = s.int(0, 2 ** 48);
const doorOrSite = s.str(64, { pattern: /^(?:\*|[A-Za-z0-9][A-Za-z0-9._@-]*)$/, describe: "a door id or '*' for the whole site" });

interface DoorBody { id: string; name?: string; node?: string; fail?: 'secure' | 'safe'; rules?: Array<{ group: string; schedule?: string }> }

function checkRules(rules: Array<{ schedule?: string }> | undefined, state: { has(k: string): boolean }): void {
  (rules ?? []).forEach((r, i) => {
    if (r.schedule !== undefined && !state.has(scheduleKey(r.schedule))) reject('INVALID_BODY', `body.rules[${i}].schedule: schedule '${r.schedule}' does not exist`);
  });
}
const toRules = (rules: Array<{ group: string; schedule?: string }>): AccessRule[] => rules.map((r) => ({ group: r.group, schedule: r.schedule ?? null }));

export const doorDapp: Dapp = {
  name: 'door',
  types: {
    add: {
      schema: s.obj({ id: idSchema, name: nameSchema, node: s.opt(nodeName), fail: s.opt(s.oneOf(['secure', 'safe'])), rules: s.opt(s.list(rule, 64)) }),
      validate(ctx, body: DoorBody, state) {
        requireAdmin(ctx, 'add a door');
        if (state.has(doorKey(body.id))) reject('INVALID_BODY', `body.id: door '${body.id}' already exists`);
        checkRules(body.rules, state);
      },
      apply(_ctx, body: DoorBody, state) {
        state.put(doorKey(body.id), { id: body.id, name: body.name!, node: body.node ?? null, fail: body.fail ?? 'secure', rules: toRules(body.rules ?? []) } satisfies Door);
      },
    },
    update: {
      schema: s.obj({ id: idSchema, name: s.opt(nameSchema), node: s.opt(nodeName), fail: s.opt(s.oneOf(['secure', 'safe'])), rules: s.opt(s.list(rule, 64)) }),
      validate(ctx, body: DoorBody, state) {
        requireAdmin(ctx, 'change a door');
        need(state, doorKey(body.id), `door '${body.id}'`);
        checkRules(body.rules, state);
      },
      apply(_ctx, body: DoorBody, state) {
        const d = state.get<Door>(doorKey(body.id))!;
        state.put(doorKey(body.id), {
          ...d,
          ...(body.name !== undefined && { name: body.name }),
          ...(body.node !== undefined && { node: body.node }),
          ...(body.fail !== undefined && { fail: body.fail }),
          ...(body.rules !== undefined && { rules: toRules(body.rules) }),
        } satisfies Door);
      },
    },
    schedule: {
      // Creates or replaces a schedule; doors refer to it by id.
      schema: s.obj({
        id: idSchema, name: s.opt(nameSchema), tz: s.str(64),
        windows: s.list(s.obj({ days: s.list(s.oneOf(DAYS), 7, 1), from: s.str(5, { pattern: HHMM, describe: 'HH:MM' }), to: s.str(5, { pattern: HHMM, describe: 'HH:MM' }) }), 64),
        holidays: s.opt(s.list(s.str(10, { pattern: DATE, describe: 'YYYY-MM-DD' }), 366)),
      }),
      validate(ctx, body: Schedule, state) {
        requireAdmin(ctx, 'set a schedule');
        checkTimeZone(body.tz, 'body.tz');
        checkWindows(body.windows);
        void state;
      },
      apply(_ctx, body: Omit<Schedule, 'name' | 'holidays'> & { name?: string; holidays?: string[] }, state) {
        state.put(scheduleKey(body.id), { id: body.id, name: body.name ?? body.id, tz: body.tz, windows: body.windows, holidays: [...new Set(body.holidays ?? [])].sort() } satisfies Schedule);
      },
    },
    lockdown: {
      power: true,
      schema: s.obj({ door: doorOrSite, exempt: s.opt(s.list(groupSchema, 16)), reason: s.opt(s.str(200)) }),
      validate(ctx, body: { door: string }, state) {
        requireAdmin(ctx, 'declare a lockdown');
        if (body.door !== '*') need(state, doorKey(body.door), `door '${body.door}'`);
      },
      // A lockdown always applies, also on top of a concurrent one (the later in the fold sets the
      // exemptions and reason): otherwise a lift that followed only the first would end both.
      apply(ctx, body: { door: string; exempt?: string[]; reason?: string }, state) {
        const l = state.get<Lockdown>(lockdownKey(body.door));
        state.put(lockdownKey(body.door), { on: true, exempt: [...new Set(body.exempt ?? [])].sort(), reason: body.reason ?? null, revs: revokeHistory(ctx, l).revs, ...stamp(ctx) } satisfies Lockdown);
      },
    },
    'lockdown.lift': {
      schema: s.obj({ door: doorOrSite, prev: verSchema, known: knownSchema }),
      validate(ctx, body: { door: string; prev?: string; known?: string[] }, state) {
        requireAdmin(ctx, 'lift a lockdown');
        const l = state.get<Lockdown>(lockdownKey(body.door));
        if (!l?.on) reject('INVALID_BODY', `${body.door === '*' ? 'the site' : `door '${body.door}'`} is not in lockdown`);
        requireCurrent(l, body.prev, `the lockdown of ${body.door}`);
        requireFollowsRevocations(l, body.known, `the lockdown of ${body.door}`);
      },
      apply(ctx, body: { door: string }, state) {
        const l = state.get<Lockdown>(lockdownKey(body.door))!;
        state.put(lockdownKey(body.door), { ...l, on: false, ...stamp(ctx) });
      },
    },
    hold: {
      // Open house: the door rests unlocked from `from` to `to` (epoch ms). Expired periods are
      // dropped as later holds apply, by the event's own clock, so every node drops the same ones.
      schema: s.obj({ door: idSchema, from: when, to: when }),
      validate(ctx, body: { door: string; from: number; to: number }, state) {
        requireAdmin(ctx, 'hold a door unlocked');
        need(state, doorKey(body.door), `door '${body.door}'`);
        if (body.from >= body.to) reject('INVALID_BODY', 'body.to: the period ends before it starts');
        if (body.to - body.from > 31 * 86_400_000) reject('INVALID_BODY', 'body.to: a held-unlocked period lasts at most 31 days');
      },
      apply(ctx, body: { door: string; from: number; to: number }, state) {
        const live = (state.get<Hold[]>(holdKey(body.door)) ?? []).filter((h) => h.to > ctx.hlc.ms);
        live.push({ from: body.from, to: body.to, ev: ctx.id });
        state.put(holdKey(body.door), live.slice(-MAX_HOLDS));
      },
    },
    'hold.cancel': {
      power: true,
      schema: s.obj({ door: idSchema, hold: s.opt(s.hex(32)) }),
      validate(ctx, body: { door: string }, state) {
        requireAdmin(ctx, 'cancel a held-unlocked period');
        need(state, doorKey(body.door), `door '${body.door}'`);
      },
      apply(_ctx, body: { door: string; hold?: string }, state) {
        const rest = (state.get<Hold[]>(holdKey(body.door)) ?? []).filter((h) => body.hold !== undefined && h.ev !== body.hold);
        if (rest.length) state.put(holdKey(body.door), rest); else state.del(holdKey(body.door));
      },
    },
  },
};
