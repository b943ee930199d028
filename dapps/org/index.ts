// The built-in `org` dapp: who belongs to the organisation's ledger. Genesis names the founding
// admins; admins add admins and nodes (with their roles) and revoke keys. A revoked key signs
// nothing that is applied after its revocation (enforced by the framework in run-event.ts).
import type { Dapp, KeyRecord, StateReader } from '../../agent/ledger/dapp.ts';
import { reject } from '../../agent/ledger/errors.ts';
import { s } from '../../agent/ledger/schema.ts';

/** X25519 ephemeral public key (32) + AES-GCM nonce (12) + 32-byte secret + tag (16). */
export const SEALED_SECRET_BYTES = 92;
export const NODE_ROLES = ['door', 'machine', 'hub'] as const;
const keyPath = (k: string): string => `org/key/${k}`;
const name = s.str(80);
/**
 * The site's time zone: the shape of an IANA name only. Whether this Node's ICU knows the zone is
 * checked by the CLI (agent/cli/time-args.ts checkTz), never here: ICU versions differ between
 * replicas, and a validator must decide the same everywhere.
 */
export const tzSchema = s.str(64, { pattern: /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/, describe: 'an IANA time zone name such as Europe/Zurich' });

/** The organisation's record (`org/meta`); `tz` is absent in ledgers made before gdo init --tz (UTC then). */
export interface OrgMeta { name: string; genesis: string; tz?: string }

function requireAdmin(who: KeyRecord | undefined, what: string): void {
  if (!who || who.kind !== 'admin' || who.revoked) reject('NOT_AUTHORIZED', `only an admin may ${what}`);
}

function activeAdmins(state: StateReader): number {
  return state.get<number>('org/admin-count') ?? 0;
}

export const orgDapp: Dapp = {
  name: 'org',
  types: {
    genesis: {
      schema: s.obj({ name, admins: s.list(s.obj({ key: s.hex(32), name }), 16, 1), tz: s.opt(tzSchema) }),
      validate(ctx, body: { admins: Array<{ key: string }> }, state) {
        if (state.has('org/meta')) reject('INVALID_BODY', 'the organisation already has a genesis');
        if (!body.admins.some((a) => a.key === ctx.author)) reject('NOT_AUTHORIZED', 'the genesis must be signed by one of its founding admins');
        if (new Set(body.admins.map((a) => a.key)).size !== body.admins.length) reject('INVALID_BODY', 'body.admins: a key is listed twice');
      },
      apply(ctx, body: { name: string; admins: Array<{ key: string; name: string }>; tz?: string }, state) {
        state.put('org/meta', { name: body.name, genesis: ctx.id, ...(body.tz !== undefined && { tz: body.tz }) } satisfies OrgMeta);
        for (const a of body.admins) state.put(keyPath(a.key), { kind: 'admin', name: a.name, roles: [], added: ctx.id } satisfies KeyRecord);
        state.put('org/admin-count', body.admins.length);
      },
    },
    'admin.add': {
      power: true,
      schema: s.obj({ key: s.hex(32), name }),
      validate(ctx, body: { key: string }, state) {
        requireAdmin(ctx.authorKey, 'add an admin');
        const existing = state.get<KeyRecord>(keyPath(body.key));
        if (existing?.revoked) reject('INVALID_BODY', `key ${body.key.slice(0, 12)} was revoked; a revoked key is never reinstated, make a new one`);
        if (existing?.kind === 'admin') reject('INVALID_BODY', `key ${body.key.slice(0, 12)} is already an admin`);
      },
      apply(ctx, body: { key: string; name: string }, state) {
        state.put(keyPath(body.key), { kind: 'admin', name: body.name, roles: [], added: ctx.id } satisfies KeyRecord);
        state.put('org/admin-count', activeAdmins(state) + 1);
      },
    },
    'node.add': {
      power: true,
      schema: s.obj({
        key: s.hex(32),
        name: s.str(63, { pattern: /^[a-z0-9][a-z0-9-]*$/, describe: 'a hostname-like node name' }),
        roles: s.list(s.oneOf(NODE_ROLES), 3, 1),
        // The node's X25519 key (made at first boot next to its Ed25519 key) and the site secret sealed to
        // it (agent/enrol/seal.ts), so only that node can read the secret it hashes badge ids with.
        kx: s.opt(s.hex(32)),
        box: s.opt(s.hex(SEALED_SECRET_BYTES)),
      }),
      validate(ctx, body: { key: string; kx?: string; box?: string }, state) {
        requireAdmin(ctx.authorKey, 'enrol a node');
        if (body.box !== undefined && body.kx === undefined) reject('INVALID_BODY', 'body.box: a sealed secret needs the node key it is sealed to (body.kx)');
        const existing = state.get<KeyRecord>(keyPath(body.key));
        if (existing?.revoked) reject('INVALID_BODY', `key ${body.key.slice(0, 12)} was revoked; a revoked key is never reinstated`);
        if (existing?.kind === 'admin') reject('NOT_AUTHORIZED', `key ${body.key.slice(0, 12)} is an admin key, not a node key`);
      },
      apply(ctx, body: { key: string; name: string; roles: string[]; kx?: string; box?: string }, state) {
        state.put(keyPath(body.key), { kind: 'node', name: body.name, roles: [...new Set(body.roles)].sort(), added: ctx.id } satisfies KeyRecord);
        if (body.box !== undefined) state.put(`org/box/${body.key}`, { kx: body.kx ?? null, box: body.box });
        state.put(`org/node/${body.name}`, body.key);
      },
    },
    'key.revoke': {
      power: true,
      schema: s.obj({ key: s.hex(32), reason: s.opt(s.str(200)) }),
      validate(ctx, body: { key: string }, state) {
        requireAdmin(ctx.authorKey, 'revoke a key');
        const target = state.get<KeyRecord>(keyPath(body.key));
        if (!target) reject('INVALID_BODY', `key ${body.key.slice(0, 12)} is not a key of this organisation`);
        if (target.revoked) reject('INVALID_BODY', `key ${body.key.slice(0, 12)} is already revoked`);
        if (target.kind === 'admin' && activeAdmins(state) <= 1) reject('INVALID_BODY', 'revoking the last admin would leave the organisation without one');
      },
      apply(ctx, body: { key: string }, state) {
        const target = state.get<KeyRecord>(keyPath(body.key))!;
        state.put(keyPath(body.key), { ...target, revoked: ctx.id });
        if (target.kind === 'admin') state.put('org/admin-count', activeAdmins(state) - 1);
      },
    },
  },
};
