// The real decision for the `decide-e2e` benchmark: AccessService on a ledger of 10,000 members
// with a badge each and the door 'front' (members, any time), as a door node would hold it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allDapps } from '../agent/dapps.ts';
import { AccessService } from '../agent/access/decide.ts';
import { badgeHash } from '../agent/access/badge-hash.ts';
import type { Json } from '../agent/ledger/canonical-json.ts';
import { hex } from '../agent/ledger/event.ts';
import { Ledger } from '../agent/ledger/ledger.ts';
import type { DecideFixture } from './decide-e2e.ts';
import { signer } from './fixtures.ts';

export function ledgerDecider(members = 10_000): DecideFixture {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-bench-e2e-'));
  const secret = Buffer.alloc(32, 9);
  const l = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps, synchronous: 'OFF' });
  const admin = signer('e2e admin');
  const node = signer('e2e front');
  const uids: Buffer[] = [];
  const batch = (items: Array<{ dapp: string; type: string; body: Json }>): void => {
    for (let k = 0; k < items.length; k += 5000) {
      const bad = l.appendBatch(admin, items.slice(k, k + 5000)).results.find((r) => r.status !== 'accepted');
      if (bad) throw new Error(`decide-e2e fixture: ${bad.code} ${bad.message}`);
    }
  };
  l.append(admin, 'org', 'genesis', { name: 'Bench Space', admins: [{ key: hex(admin.publicKey), name: 'admin' }] });
  const items: Array<{ dapp: string; type: string; body: Json }> = [
    { dapp: 'org', type: 'node.add', body: { key: hex(node.publicKey), name: 'front', roles: ['door'] } },
    { dapp: 'door', type: 'add', body: { id: 'front', name: 'Front', node: 'front', rules: [{ group: 'members' }] } },
  ];
  for (let i = 0; i < members; i++) {
    const uid = Buffer.alloc(7);
    uid[0] = 0x04;
    uid.writeUInt32BE(i, 3);
    uids.push(uid);
    items.push({ dapp: 'member', type: 'add', body: { id: `m${i}`, name: `Member ${i}`, groups: ['members'] } });
    items.push({ dapp: 'badge', type: 'assign', body: { badge: badgeHash(secret, uid), member: `m${i}` } });
  }
  batch(items);
  const svc = new AccessService({ ledger: l, nodeKey: hex(node.publicKey), siteSecret: secret });
  return {
    name: 'ledger',
    members,
    uids,
    // The controller's clock is fake in this bench; the decision takes the real time.
    decide: (uid, resource) => svc.decide({ credential: uid, resource, at: new Date() }),
    close: () => { l.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}
