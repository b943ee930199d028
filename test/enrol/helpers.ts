// Fixtures for enrolment tests: an organisation on disk (the admin's data directory) and bootstraps for it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import type { Bootstrap } from '../../agent/enrol/bootstrap.ts';
import { hex } from '../../agent/ledger/event.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { createHash } from 'node:crypto';
import { keyPairFromSeed, Signer, type KeyPair } from '../../agent/ledger/crypto.ts';
import { signerFor } from '../ledger/helpers.ts';

export { signerFor };

export interface Org { dataDir: string; ledger: Ledger; admin: Signer; adminPair: KeyPair; org: string; genesis: Buffer }

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `gdo-enrol-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An admin's data directory with a ledger holding a genesis signed by `admin`. */
export function foundOrg(dataDir: string, adminName = 'admin', orgName = 'Test Space'): Org {
  const adminPair = keyPairFromSeed(createHash('sha256').update(`gdo enrol test admin ${adminName}`).digest());
  const admin = new Signer(adminPair);
  const ledger = Ledger.open({ path: join(dataDir, 'ledger.db'), dapps: allDapps, synchronous: 'OFF' });
  const { event, result } = ledger.append(admin, 'org', 'genesis', { name: orgName, admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] });
  if (result.status !== 'accepted') throw new Error(`genesis: ${JSON.stringify(result)}`);
  return { dataDir, ledger, admin, adminPair, org: hex(event.id), genesis: event.raw };
}

export function bootstrapFor(org: Org, over: Partial<Bootstrap> = {}): Bootstrap {
  return {
    v: 1, org: org.org, genesis: org.genesis.toString('hex'),
    node: { name: 'front-door', roles: ['door'], hostname: 'front-door' },
    token: 'ab'.repeat(32), provisionedAt: '2025-03-01T10:00:00.000Z',
    site: { name: 'Test Space', timezone: 'Europe/London' },
    broker: { url: 'mqtts://hub.local:8883', username: 'front-door', password: 'broker secret' },
    ...over,
  };
}
