// Whether a machine is out of service, as its controller sees it: the ledger's view (the decider's
// machineState: tag-outs made here, at the office or on a peer, kept across restarts), except for the
// maintainer's last gesture at the machine, which stands until its own event is in the ledger (the access
// log commits at the end of the turn) or for PENDING_MS if it never gets there. Without a ledger view the
// gesture's result is all there is.
import { iso } from './door-position.ts';
import type { AccessDecider, Clock, MachineServiceState } from './types.ts';

/** How long a gesture's result stands while its event is not in the ledger (a refused write falls back). */
const PENDING_MS = 10_000;
const IN_SERVICE: MachineServiceState = { out: false, reason: null, by: null, since: null };

export class MachineServiceView {
  readonly #machineId: string;
  readonly #decider: AccessDecider;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  #pending: { state: MachineServiceState; at: number } | undefined;

  constructor(machineId: string, decider: AccessDecider, clock: Clock, onError: (err: unknown) => void) {
    this.#machineId = machineId;
    this.#decider = decider;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** The ledger's view, or the last gesture's while the ledger has not caught up. */
  current(): MachineServiceState {
    let fromLedger: MachineServiceState | undefined;
    try {
      fromLedger = this.#decider.machineState?.(this.#machineId);
    } catch (err) {
      this.#onError(err);
    }
    const p = this.#pending;
    if (p && fromLedger && (fromLedger.out === p.state.out || this.#clock.now() - p.at >= PENDING_MS)) this.#pending = undefined;
    return this.#pending?.state ?? fromLedger ?? IN_SERVICE;
  }

  /** The maintainer's gesture: the opposite of the current state, until the ledger shows it. Returns it. */
  toggle(memberId: string): MachineServiceState {
    const now = this.#clock.now();
    const out = !this.current().out;
    const state = out ? { out, reason: 'tagged out at the machine', by: memberId, since: iso(now) } : IN_SERVICE;
    this.#pending = { state, at: now };
    return state;
  }
}
