// The machine controller's view of out of service (tag-out), read from the ledger: the state every
// replica agrees on, so it survives a restart and follows a tag-out made at the office or on a peer.
// Who took it out is read from the tag-out event itself (the record's `ver`): the maintainer it names
// at the machine, else the name of the key that signed it.
import type { KeyRecord } from '../ledger/dapp.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { hex } from '../ledger/event.ts';
import { machineKey, type Machine } from '../../dapps/machine/index.ts';
import type { MachineServiceState } from '../controllers/types.ts';

/** undefined: the machine is not in the ledger (yet). */
export function machineServiceState(ledger: Ledger, id: string): MachineServiceState | undefined {
  const m = ledger.get<Machine>(machineKey(id));
  if (!m) return undefined;
  if (!m.out) return { out: false, reason: null, by: null, since: null };
  return { out: true, reason: m.out_reason, by: taggedOutBy(ledger, m.ver), since: new Date(m.at.ms).toISOString() };
}

function taggedOutBy(ledger: Ledger, ver: string): string | null {
  const ev = ledger.getEvent(Buffer.from(ver, 'hex'));
  if (!ev) return null;
  const by = (ev.body as { by?: unknown }).by;
  if (typeof by === 'string') return by;
  return ledger.get<KeyRecord>(`org/key/${hex(ev.author)}`)?.name ?? null;
}
