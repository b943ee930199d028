// Fixtures for enrolment tests: an organisation on disk (the admin's data directory) and bootstraps for it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allDapps } from '../../agent/dapps.ts';
import type { Bootstrap } from '../../agent/enrol/bootstrap.ts';
import { isEnrolError, type EnrolErrorCode } from '../../agent/enrol/errors.ts';
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

const MAIN = fileURLToPath(new URL('../../agent/cli/main.ts', import.meta.url));
export const TEST_PASSPHRASE = 'correct horse battery';

export interface CliRun { code: number; stdout: string; stderr: string }

/** The gdo CLI as a separate process, as people and scripts run it (operator passphrase from the env). */
export function gdoCli(args: string[], env: Record<string, string> = {}): CliRun {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8', env: { ...process.env, GDO_PASSPHRASE: TEST_PASSPHRASE, ...env }, timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `fn` throws an EnrolError with `code` and a message matching `pattern`. */
export function expectError(code: EnrolErrorCode, pattern: RegExp, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isEnrolError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}
