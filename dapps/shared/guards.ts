// Shared rules of the access dapps: who may sign what, and the revocation-wins guard.
//
// Revocation wins (docs/access-model.md, "Merge semantics"): every security-relevant record
// carries `ver`, the id of the event that last changed it, and `at`, that event's hlc. A grant
// (badge assign, reinstatement, role or certification grant, lockdown lifted, back in service)
// cites the `ver` it supersedes and applies only if that is still the record's `ver` in the
// merged fold; a revocation applies whatever it cites. So a grant concurrent with a revocation
// never counts, in either fold order, and a re-grant counts only when it causally follows the
// revocation (it could cite the revocation's id only after seeing it).
import type { EventContext, KeyRecord, StateReader } from '../../agent/ledger/dapp.ts';
import type { Hlc } from '../../agent/ledger/hlc.ts';
import { reject } from '../../agent/ledger/errors.ts';
import { s } from '../../agent/ledger/schema.ts';

/** Member, door, machine and schedule ids: short, printable, stable (CSV files carry them). */
export const idSchema = s.str(64, { pattern: /^[A-Za-z0-9][A-Za-z0-9._@-]*$/, describe: 'an id of letters, digits and . _ @ -' });
export const nameSchema = s.str(120);
export const groupSchema = s.str(40, { pattern: /^[a-z0-9][a-z0-9_-]*$/, describe: 'a lower-case group name' });
/** A badge is known to the ledger only by its keyed hash (agent/access/badge-hash.ts): 16 bytes. */
export const badgeSchema = s.hex(16);
export const verSchema = s.opt(s.hex(32));

export interface Versioned { ver: string; at: Hlc }

/**
 * The revocations a record has had, in fold order (dapps/access/anomaly.ts). A decision names the
 * ones its node knew; any other one dated before the decision is one the node could not know.
 */
export interface History { revs: Array<{ ver: string; at: Hlc }> }
/** How many revocations a record and a decision remember (the newest). */
export const MAX_REVS = 16;

/**
 * The grant half for records whose revocations always apply (badges, suspensions): concurrent
 * revocations do not conflict with each other, so the single cited version cannot tell whether a
 * grant followed all of them. The grant also lists the revocations it follows, and must follow
 * every one the record has had in the merged fold.
 */
export function requireFollowsRevocations(rec: History | undefined, known: readonly string[] | undefined, what: string): void {
  for (const r of rec?.revs ?? []) {
    if (!(known ?? []).includes(r.ver)) reject('INVALID_BODY', `body.known: ${what} was revoked by ${r.ver.slice(0, 12)}, which this grant does not follow (concurrent; revocation wins)`);
  }
}

export const knownSchema = s.opt(s.list(s.hex(32), 16));

/** What a grant of `rec` cites: the version it supersedes and the revocations it follows (none for a new record). */
export function follows(rec: (Versioned & History) | undefined): { prev?: string; known?: string[] } {
  return rec ? { prev: rec.ver, known: rec.revs.map((r) => r.ver) } : {};
}

export function revokeHistory(ctx: EventContext, h: Partial<History> | undefined): History {
  return { revs: [...(h?.revs ?? []), { ver: ctx.id, at: ctx.hlc }].slice(-MAX_REVS) };
}

export function isAdmin(k: KeyRecord | undefined): boolean {
  return k !== undefined && k.kind === 'admin' && !k.revoked;
}

export function requireAdmin(ctx: EventContext, what: string): void {
  if (!isAdmin(ctx.authorKey)) reject('NOT_AUTHORIZED', `only an admin may ${what}; ${who(ctx)} is not one`);
}

/** An enrolled node (the framework already refuses revoked and unknown keys). */
export function requireNode(ctx: EventContext, what: string, role?: string): KeyRecord {
  const k = ctx.authorKey;
  if (!k || k.kind !== 'node') reject('NOT_AUTHORIZED', `only an enrolled node may ${what}; ${who(ctx)} is not a node`);
  if (role && !k.roles.includes(role)) reject('NOT_AUTHORIZED', `node '${k.name}' has no ${role} role, needed to ${what}`);
  return k;
}

export function who(ctx: EventContext): string {
  return ctx.authorKey ? `${ctx.authorKey.kind} '${ctx.authorKey.name}'` : `key ${ctx.author.slice(0, 12)}`;
}

/** The grant half of the guard: the cited version must be the record's current one. */
export function requireCurrent(rec: Versioned | undefined, cited: string | undefined, what: string): void {
  const cur = rec?.ver;
  if (cur === cited) return;
  if (cited === undefined) reject('INVALID_BODY', `body.prev: ${what} has history (version ${cur!.slice(0, 12)}); cite it as prev`);
  if (cur === undefined) reject('INVALID_BODY', `body.prev: ${what} has no history; prev must be absent`);
  reject('INVALID_BODY', `body.prev: ${what} is at version ${cur.slice(0, 12)}, not ${cited.slice(0, 12)} (changed concurrently, e.g. revoked; revocation wins)`);
}

export function stamp(ctx: EventContext): Versioned {
  return { ver: ctx.id, at: ctx.hlc };
}

export function need<T>(state: StateReader, key: string, what: string): T {
  const v = state.get<T>(key);
  if (v === undefined) reject('INVALID_BODY', `${what} does not exist`);
  return v;
}

/** hlc a strictly before hlc b. */
export function hlcBefore(a: Hlc, b: Hlc): boolean {
  return a.ms < b.ms || (a.ms === b.ms && a.c < b.c);
}
