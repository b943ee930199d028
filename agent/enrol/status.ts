// Where a node stands with its organisation, read from the ledger's org dapp state: the agent uses this to
// stay inert until an admin has approved it (outputs safe; decide() answers "node not enrolled"), and to
// open its site secret once org/node.add has brought one.
import type { KeyRecord } from '../ledger/dapp.ts';
import { openSiteSecret } from './seal.ts';

export interface StateLookup { get<T = unknown>(key: string): T | undefined }

export type EnrolmentState =
  | { state: 'not-enrolled' }
  | { state: 'enrolled'; name: string; roles: string[]; added: string }
  | { state: 'revoked'; name: string; roles: string[]; revoked: string }
  | { state: 'not-a-node'; kind: KeyRecord['kind'] };

export function enrolmentState(ledger: StateLookup, keyHex: string): EnrolmentState {
  const rec = ledger.get<KeyRecord>(`org/key/${keyHex}`);
  if (!rec) return { state: 'not-enrolled' };
  if (rec.kind !== 'node') return { state: 'not-a-node', kind: rec.kind };
  if (rec.revoked) return { state: 'revoked', name: rec.name, roles: rec.roles, revoked: rec.revoked };
  return { state: 'enrolled', name: rec.name, roles: rec.roles, added: rec.added };
}

/** The site secret sealed to this node in its org/node.add, or undefined when none was sealed to it. */
export function nodeSiteSecret(ledger: StateLookup, keyHex: string, kxPrivateKey: Buffer): Buffer | undefined {
  const box = ledger.get<{ kx: string | null; box: string }>(`org/box/${keyHex}`);
  return box ? openSiteSecret(box.box, kxPrivateKey) : undefined;
}
