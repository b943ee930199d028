// One machine session: who, since when, how often extended, and (session mode) the warning and end timers.
// Kept apart from machine.ts so the billing record has one obvious source.
import { iso } from './door-position.ts';
import type { Clock, TimerHandle } from './types.ts';

export type SessionEndReason =
  | 'card_removed' | 'timeout' | 'badge_out' | 'out_of_service' | 'reader_fault' | 'ledger_fault' | 'stop'
  | 'relay_fault';

export interface SessionTimers {
  warningMs: number;
  sessionMs: number;
  /** Called at the start of the warning period and every repeatMs until the end. */
  onWarning: () => void;
  onTimeout: () => void;
}

const WARNING_REPEAT_MS = 5_000;

export class MachineSession {
  readonly memberId: string | undefined;
  /** Kept in memory only to match 'card-removed' and re-badges; never recorded or logged. */
  readonly #uid: Buffer;
  readonly start: number;
  extensions = 0;
  endsAt: number | undefined;
  readonly #clock: Clock;
  #timers: TimerHandle[] = [];

  constructor(clock: Clock, memberId: string | undefined, uid: Buffer) {
    this.#clock = clock;
    this.memberId = memberId;
    this.#uid = Buffer.from(uid);
    this.start = clock.now();
  }

  /** Same person: by member id when the decision gave one, else by the card itself. */
  isHolder(memberId: string | undefined, uid: Buffer): boolean {
    return this.memberId !== undefined && memberId !== undefined ? this.memberId === memberId : this.#uid.equals(uid);
  }

  isCard(uid: Buffer): boolean {
    return this.#uid.equals(uid);
  }

  /** (Re)arms the timers so the session ends sessionMs from now. */
  arm(t: SessionTimers): void {
    this.cancel();
    const now = this.#clock.now();
    this.endsAt = now + t.sessionMs;
    if (t.warningMs > 0) {
      const warn = (): void => {
        t.onWarning();
        if (this.endsAt !== undefined && this.endsAt - this.#clock.now() > WARNING_REPEAT_MS) {
          this.#timers.push(this.#clock.setTimeout(warn, WARNING_REPEAT_MS));
        }
      };
      this.#timers.push(this.#clock.setTimeout(warn, t.sessionMs - t.warningMs));
    }
    this.#timers.push(this.#clock.setTimeout(t.onTimeout, t.sessionMs));
  }

  cancel(): void {
    for (const h of this.#timers) this.#clock.clearTimeout(h);
    this.#timers = [];
  }

  /** The billing record: member, machine, start, end, duration_ms (the sink turns it into a ledger event). */
  record(machine: string, mode: string, reason: SessionEndReason): Record<string, unknown> {
    const end = this.#clock.now();
    return {
      machine,
      ...(this.memberId !== undefined && { member_id: this.memberId }),
      start: iso(this.start),
      end: iso(end),
      duration_ms: end - this.start,
      mode,
      end_reason: reason,
      extensions: this.extensions,
    };
  }
}
