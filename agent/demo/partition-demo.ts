// `npm start` until the full simulated site lands: a hub and a door replica of a demo org are
// cut off from each other, both sides keep working, and the merge is shown converging.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, Signer } from '../ledger/crypto.ts';
import { Ledger } from '../ledger/ledger.ts';
import { allDapps } from '../dapps.ts';

const dir = mkdtempSync(join(tmpdir(), 'gdo-demo-'));
const say = (s: string): void => { process.stdout.write(`${s}\n`); };
try {
  const admin = new Signer(generateKeyPair());
  const doorKey = new Signer(generateKeyPair());
  const laserKey = new Signer(generateKeyPair());
  const hub = Ledger.open({ path: join(dir, 'hub.db'), dapps: allDapps });
  const door = Ledger.open({ path: join(dir, 'door.db'), dapps: allDapps });
  const sync = (from: Ledger, to: Ledger): number => to.ingest([...from.events()]).filter((r) => r.status === 'accepted').length;
  hub.append(admin, 'org', 'genesis', { name: 'Demo Maker Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada (admin)' }] });
  hub.append(admin, 'org', 'node.add', { key: doorKey.publicKey.toString('hex'), name: 'front-door', roles: ['door'] });
  say(`hub: founded org ${hub.orgId!.toString('hex').slice(0, 12)}, enrolled front-door`);
  say(`door: synced ${sync(hub, door)} events from the hub`);
  say('--- network cut between hub and front-door ---');
  hub.append(admin, 'org', 'node.add', { key: laserKey.publicKey.toString('hex'), name: 'laser-cutter', roles: ['machine'] });
  hub.append(admin, 'org', 'key.revoke', { key: doorKey.publicKey.toString('hex'), reason: 'demo: door controller replaced' });
  say('hub: enrolled laser-cutter, revoked the old front-door key');
  say(`hub  state ${hub.stateHash().slice(0, 16)}  heads ${hub.heads().length}`);
  say(`door state ${door.stateHash().slice(0, 16)}  heads ${door.heads().length}  (diverged)`);
  say('--- network back: merge both ways ---');
  sync(hub, door); sync(door, hub);
  say(`hub  state ${hub.stateHash().slice(0, 16)}  events ${hub.count()}`);
  say(`door state ${door.stateHash().slice(0, 16)}  events ${door.count()}`);
  say(hub.stateHash() === door.stateHash() ? 'converged: both replicas hold the same state' : 'NOT CONVERGED');
  say('\nThe full simulated site (hub, door and laser nodes with simulated readers) is `gdo sim` (in progress).');
  hub.close(); door.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
