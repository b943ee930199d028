// Door-position switch monitoring: forced-open (opened with no grant or REX just before) and held-open
// (open longer than held_open_ms) alarms, reported through the EventSink (docs/design-notes.md "Doors and machines").
import type { Clock, EventSink, TimerHandle } from './types.ts';

export interface DoorPositionOptions {
  doorId: string;
  clock: Clock;
  sink: EventSink;
  heldOpenMs: number;
  /** True when an opening now is authorised (door unlocked, or an unlock ended within the grace time). */
  isAuthorised: () => boolean;
  /** True while held-open alarms make no sense (an open-house period). */
  suppressHeldOpen: () => boolean;
}

export class DoorPositionMonitor {
  readonly #o: DoorPositionOptions;
  #open = false;
  #openedAt = 0;
  /** Start of the held-open count: the opening, or the end of an open-house period. */
  #countFrom = 0;
  #wasSuppressed = false;
  #forced = false;
  #held = false;
  #timer: TimerHandle | undefined;

  constructor(opts: DoorPositionOptions) {
    this.#o = opts;
  }

  get open(): boolean {
    return this.#open;
  }

  get alarms(): { forced_open: boolean; held_open: boolean } {
    return { forced_open: this.#forced, held_open: this.#held };
  }

  /** The state read at start. History is unknown, so an open door is not called forced. */
  begin(open: boolean): void {
    this.#open = open;
    this.#openedAt = this.#o.clock.now();
    this.#countFrom = this.#openedAt;
    this.recheck();
  }

  change(open: boolean): void {
    if (open === this.#open) return;
    const now = this.#o.clock.now();
    this.#open = open;
    if (open) {
      this.#openedAt = now;
      this.#countFrom = now;
      if (!this.#o.isAuthorised()) {
        this.#forced = true;
        this.#o.sink.record('door.forced_open', { door: this.#o.doorId, at: iso(now) });
      }
    } else {
      const cleared = [...(this.#forced ? ['forced_open'] : []), ...(this.#held ? ['held_open'] : [])];
      if (cleared.length) {
        this.#o.sink.record('door.alarm_cleared', {
          door: this.#o.doorId, alarms: cleared, open_ms: now - this.#openedAt, at: iso(now),
        });
      }
      this.#forced = false;
      this.#held = false;
    }
    this.recheck();
  }

  /** Re-evaluates the held-open timer (call after a mode change). */
  recheck(): void {
    const suppressed = this.#o.suppressHeldOpen();
    // Leaving an open-house period with the door open: give it the full held-open time from now.
    if (this.#wasSuppressed && !suppressed) this.#countFrom = Math.max(this.#countFrom, this.#o.clock.now());
    this.#wasSuppressed = suppressed;
    if (!this.#open || this.#held || suppressed) {
      this.#clear();
      return;
    }
    if (this.#timer !== undefined) return;
    const elapsed = this.#o.clock.now() - this.#countFrom;
    const remaining = Math.max(0, this.#o.heldOpenMs - elapsed);
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#held = true;
      const now = this.#o.clock.now();
      this.#o.sink.record('door.held_open', {
        door: this.#o.doorId, open_ms: now - this.#openedAt, held_open_ms: this.#o.heldOpenMs, at: iso(now),
      });
    }, remaining);
  }

  stop(): void {
    this.#clear();
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
