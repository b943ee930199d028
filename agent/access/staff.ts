// What staff do, as ledger events: the CLI and the simulated site call these. Each fills in what
// a person should not have to know, such as the version a grant must cite (the revocation it
// follows), and throws the ledger's own error when the event is refused.
import type { Json } from '../ledger/canonical-json.ts';
import type { Signer } from '../ledger/crypto.ts';
import { LedgerError } from '../ledger/errors.ts';
import type { SignedEvent } from '../ledger/event.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { lockdownKey, type Lockdown } from '../../dapps/door/index.ts';
import { certKey, machineKey, roleKey, type Cert, type Machine, type MachineRole, type Role } from '../../dapps/machine/index.ts';
import { memberKey, type Member } from '../../dapps/member/index.ts';
import { follows } from '../../dapps/shared/guards.ts';

export function act(l: Ledger, signer: Signer, dapp: string, type: string, body: Record<string, Json | undefined>, now?: number): SignedEvent {
  const clean = JSON.parse(JSON.stringify(body)) as Json;
  const { event, result } = l.append(signer, dapp, type, clean, now === undefined ? {} : { now });
  if (result.status !== 'accepted') throw new LedgerError(result.code ?? 'INVALID_BODY', result.message ?? `${dapp}/${type} was ${result.status}`);
  return event;
}

export class Staff {
  constructor(readonly ledger: Ledger, readonly signer: Signer, readonly now?: () => number) {}
  private do(dapp: string, type: string, body: Record<string, Json | undefined>): SignedEvent {
    return act(this.ledger, this.signer, dapp, type, body, this.now?.());
  }

  addMember(m: { id: string; name: string; email?: string; groups?: string[]; until?: number }): SignedEvent { return this.do('member', 'add', m); }
  updateMember(m: { id: string; name?: string; email?: string; groups?: string[]; until?: number; open_ended?: boolean }): SignedEvent { return this.do('member', 'update', m); }
  suspend(id: string, reason?: string): SignedEvent {
    if (this.ledger.get<Member>(memberKey(id))?.suspended) throw new LedgerError('INVALID_BODY', `member '${id}' is already suspended`);
    return this.do('member', 'suspend', { id, reason });
  }
  reinstate(id: string): SignedEvent {
    const m = this.ledger.get<Member>(memberKey(id));
    return this.do('member', 'reinstate', { id, ...follows(m) });
  }

  /** `badge` is the keyed hash (agent/access/badge-hash.ts), never the UID. */
  assignBadge(badge: string, member: string): SignedEvent {
    const b = this.ledger.get<Badge>(badgeKey(badge));
    return this.do('badge', 'assign', { badge, member, ...follows(b) });
  }
  revokeBadge(badge: string, reason?: string): SignedEvent {
    if (this.ledger.get<Badge>(badgeKey(badge))?.revoked) throw new LedgerError('INVALID_BODY', `badge ${badge.slice(0, 8)} is already revoked`);
    return this.do('badge', 'revoke', { badge, reason });
  }
  replaceBadge(old: string, badge: string): SignedEvent {
    const b = this.ledger.get<Badge>(badgeKey(badge));
    return this.do('badge', 'replace', { old, badge, ...follows(b) });
  }

  addDoor(d: { id: string; name: string; node?: string; fail?: 'secure' | 'safe'; rules?: Array<{ group: string; schedule?: string }> }): SignedEvent { return this.do('door', 'add', d); }
  updateDoor(d: { id: string; name?: string; node?: string; fail?: 'secure' | 'safe'; rules?: Array<{ group: string; schedule?: string }> }): SignedEvent { return this.do('door', 'update', d); }
  schedule(sc: { id: string; name?: string; tz: string; windows: Array<{ days: string[]; from: string; to: string }>; holidays?: string[] }): SignedEvent { return this.do('door', 'schedule', sc); }
  lockdown(door: string, exempt?: string[], reason?: string): SignedEvent {
    if (this.ledger.get<Lockdown>(lockdownKey(door))?.on) throw new LedgerError('INVALID_BODY', `${door === '*' ? 'the site' : `door '${door}'`} is already in lockdown`);
    return this.do('door', 'lockdown', { door, exempt, reason });
  }
  liftLockdown(door: string): SignedEvent {
    const l = this.ledger.get<Lockdown>(lockdownKey(door));
    return this.do('door', 'lockdown.lift', { door, ...follows(l) });
  }
  hold(door: string, from: number, to: number): SignedEvent { return this.do('door', 'hold', { door, from, to }); }
  cancelHold(door: string, hold?: string): SignedEvent { return this.do('door', 'hold.cancel', { door, hold }); }

  addMachine(m: { id: string; name: string; node?: string; cert_required?: boolean; cert_days?: number }): SignedEvent { return this.do('machine', 'add', m); }
  setRole(machine: string, member: string, role: MachineRole, on: boolean): SignedEvent {
    const r = this.ledger.get<Role>(roleKey(machine, role, member));
    if (!on) {
      if (r && !r.on) throw new LedgerError('INVALID_BODY', `member '${member}' is not a ${role} of '${machine}'`);
      return this.do('machine', 'role', { machine, member, role, on });
    }
    return this.do('machine', 'role', { machine, member, role, on, ...follows(r) });
  }
  certify(machine: string, member: string, until?: number): SignedEvent {
    const c = this.ledger.get<Cert>(certKey(machine, member));
    return this.do('machine', 'certify', { machine, member, until, ...follows(c) });
  }
  decertify(machine: string, member: string, reason?: string): SignedEvent {
    const c = this.ledger.get<Cert>(certKey(machine, member));
    if (c && !c.on) throw new LedgerError('INVALID_BODY', `member '${member}' holds no certificate for '${machine}'`);
    return this.do('machine', 'decertify', { machine, member, reason });
  }
  outOfService(machine: string, reason: string): SignedEvent {
    if (this.ledger.get<Machine>(machineKey(machine))?.out) throw new LedgerError('INVALID_BODY', `machine '${machine}' is already out of service`);
    return this.do('machine', 'out', { machine, reason });
  }
  backInService(machine: string): SignedEvent {
    const m = this.ledger.get<Machine>(machineKey(machine));
    return this.do('machine', 'in', { machine, ...follows(m) });
  }
}
