// The machine controller's view of out of service (tag-out), read from the ledger: the state every
// replica agrees on, so it survives a restart and follows a tag-out made at the office or on a peer.
import type { Ledger } from '../ledger/ledger.ts';
import { machineKey, type Machine } from '../../dapps/machine/index.ts';
import type { MachineServiceState } from '../controllers/types.ts';

/** undefined: the machine is not in the ledger (yet). */
export function machineServiceState(ledger: Ledger, id: string): MachineServiceState | undefined {
  const m = ledger.get<Machine>(machineKey(id));
  if (!m) return undefined;
  if (!m.out) return { out: false, reason: null, by: null, since: null };
  return { out: true, reason: m.out_reason, by: m.out_by ?? null, since: new Date(m.at.ms).toISOString() };
}
