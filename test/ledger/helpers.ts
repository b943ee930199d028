// Shared fixtures for ledger tests: fixed keys, a temporary database, and a small test dapp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { keyPairFromSeed, Signer } from '../../agent/ledger/crypto.ts';
import type { Dapp } from '../../agent/ledger/dapp.ts';
import { reject } from '../../agent/ledger/errors.ts';
import { Ledger, type LedgerOptions } from '../../agent/ledger/ledger.ts';
import { s } from '../../agent/ledger/schema.ts';
import { orgDapp } from '../../dapps/org/index.ts';

export function signerFor(name: string): Signer {
  return new Signer(keyPairFromSeed(createHash('sha256').update(`gdo test key ${name}`).digest()));
}

/** Test dapp: notes anyone in the org may set; admins may lock a note (a power event). */
export const noteDapp: Dapp = {
  name: 'note',
  types: {
    set: {
      schema: s.obj({ k: s.str(20), v: s.int() }),
      validate(_ctx, body: { k: string }, state) {
        if (state.has(`note/lock/${body.k}`)) reject('NOT_AUTHORIZED', `note '${body.k}' is locked`);
      },
      apply(_ctx, body: { k: string; v: number }, state) { state.put(`note/v/${body.k}`, body.v); },
    },
    lock: {
      power: true,
      schema: s.obj({ k: s.str(20) }),
      validate(ctx) { if (ctx.authorKey?.kind !== 'admin') reject('NOT_AUTHORIZED', 'only admins lock notes'); },
      apply(ctx, body: { k: string }, state) { state.put(`note/lock/${body.k}`, ctx.id); },
    },
    boom: {
      schema: s.obj({}),
      validate() { throw new TypeError('kaboom'); },
      apply() { /* never reached */ },
    },
  },
};

export const testDapps = [orgDapp, noteDapp];

export interface TempLedgers { dir: string; open(name: string, extra?: Partial<LedgerOptions>): Ledger; cleanup(): void }

export function tempLedgers(): TempLedgers {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-ledger-'));
  const opened: Ledger[] = [];
  return {
    dir,
    open(name, extra = {}) {
      const l = Ledger.open({ path: join(dir, `${name}.db`), dapps: testDapps, synchronous: 'OFF', ...extra });
      opened.push(l);
      return l;
    },
    cleanup() { for (const l of opened) l.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** A fresh org: genesis by `admin`, plus `node` enrolled as a door. */
export function foundOrg(l: Ledger, admin = signerFor('admin'), node = signerFor('node'), now = 1_700_000_000_000): void {
  const g = l.append(admin, 'org', 'genesis', { name: 'Test Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] }, { now });
  if (g.result.status !== 'accepted') throw new Error(`genesis: ${JSON.stringify(g.result)}`);
  const n = l.append(admin, 'org', 'node.add', { key: node.publicKey.toString('hex'), name: 'front-door', roles: ['door'] }, { now: now + 1 });
  if (n.result.status !== 'accepted') throw new Error(`node.add: ${JSON.stringify(n.result)}`);
}

export { prng } from '../helpers/prng.ts';
