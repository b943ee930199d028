// A small maker space in a ledger, built through the real dapps: the fixture of the access tests.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import { AccessService, type DecideOptions } from '../../agent/access/decide.ts';
import { badgeHash } from '../../agent/access/badge-hash.ts';
import { Staff } from '../../agent/access/staff.ts';
import { Ledger, type LedgerOptions } from '../../agent/ledger/ledger.ts';
import { signerFor } from '../ledger/helpers.ts';

export const T0 = Date.UTC(2026, 10, 16, 10, 0); // Monday 16 November 2026, 11:00 in Berlin
export const SECRET = createHash('sha256').update('gdo test site secret').digest();
export const uid = (name: string): Buffer => createHash('sha256').update(`uid ${name}`).digest().subarray(0, 7);
export const badgeOf = (name: string): string => badgeHash(SECRET, uid(name));

export interface Site {
  ledger: Ledger;
  staff: Staff;
  clock: { now: number };
  service(extra?: Partial<DecideOptions>): AccessService;
  nodes: { front: ReturnType<typeof signerFor>; laser: ReturnType<typeof signerFor> };
  close(): void;
}

/**
 * Admin 'ada'; nodes 'front' (door) and 'laser' (machine); schedule 'weekdays' (Mon-Fri 08:00-20:00
 * Europe/Berlin, Christmas off); door 'front' (members on the schedule, staff any time); machine
 * 'laser' (certificate required) with carol as trainer and dan as maintainer; members alice
 * (members), bob (staff), carol, dan, erin (members), each with a badge named after them.
 */
export function buildSite(opts: Partial<LedgerOptions> = {}): Site {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-site-'));
  const clock = { now: T0 };
  const ledger = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps, synchronous: 'OFF', now: () => clock.now, ...opts });
  const admin = signerFor('ada');
  const front = signerFor('front');
  const laser = signerFor('laser');
  const staff = new Staff(ledger, admin, () => clock.now);
  const tick = (): void => { clock.now += 1; };
  ledger.append(admin, 'org', 'genesis', { name: 'Test Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'ada' }] }, { now: clock.now });
  tick();
  ledger.append(admin, 'org', 'node.add', { key: front.publicKey.toString('hex'), name: 'front', roles: ['door'] }, { now: clock.now });
  ledger.append(admin, 'org', 'node.add', { key: laser.publicKey.toString('hex'), name: 'laser', roles: ['machine'] }, { now: clock.now });
  staff.schedule({ id: 'weekdays', tz: 'Europe/Berlin', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' }], holidays: ['2026-12-25'] });
  staff.addDoor({ id: 'front', name: 'Front door', node: 'front', rules: [{ group: 'members', schedule: 'weekdays' }, { group: 'staff' }] });
  staff.addMachine({ id: 'laser', name: 'Laser cutter', node: 'laser', cert_days: 365 });
  for (const [id, groups] of [['alice', ['members']], ['bob', ['staff']], ['carol', ['members']], ['dan', ['members']], ['erin', ['members']]] as const) {
    staff.addMember({ id, name: id[0]!.toUpperCase() + id.slice(1), groups: [...groups] });
    staff.assignBadge(badgeOf(id), id);
  }
  staff.setRole('laser', 'carol', 'trainer', true);
  staff.setRole('laser', 'dan', 'maintainer', true);
  return {
    ledger, staff, clock, nodes: { front, laser },
    service: (extra = {}) => new AccessService({ ledger, nodeKey: front.publicKey.toString('hex'), siteSecret: SECRET, now: () => clock.now, lastContact: () => clock.now, ...extra }),
    close() { ledger.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}
