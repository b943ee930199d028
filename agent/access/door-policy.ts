// The door controller's view of lockdown and open-house periods, read from the ledger.
import type { Ledger } from '../ledger/ledger.ts';
import { holdKey, lockdownKey, type Hold, type Lockdown } from '../../dapps/door/index.ts';

export type DoorMode = 'normal' | 'lockdown' | 'held-unlocked';

export class LedgerDoorPolicy {
  constructor(private readonly ledger: Ledger) {}

  /** Lockdown (door or site) wins over an open-house period: a lockdown must never be held open. */
  mode(doorId: string, at: Date): DoorMode {
    if (this.ledger.get<Lockdown>(lockdownKey(doorId))?.on || this.ledger.get<Lockdown>(lockdownKey('*'))?.on) return 'lockdown';
    const t = at.getTime();
    if ((this.ledger.get<Hold[]>(holdKey(doorId)) ?? []).some((h) => h.from <= t && t < h.to)) return 'held-unlocked';
    return 'normal';
  }
}
