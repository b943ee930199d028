// The hard cap on how long a strike stays energised (docs/design-notes.md "Doors and machines": solenoids overheat
// when held). Every write to the strike goes through this guard; its timer starts at the transition to
// energised and is not restarted by later requests, so no sequence of grants, REX presses, policies or
// controller bugs can hold the strike on longer than maxMs. A hardware cap (a timer relay or a strike with
// thermal protection) is still wanted: this guard dies with the process.
import type { OutputLine } from '../../drivers/gpio/types.ts';
import type { Clock, TimerHandle } from './types.ts';

export class EnergiseGuard {
  readonly #out: OutputLine;
  readonly #clock: Clock;
  readonly #maxMs: number;
  readonly #onTrip: (energisedMs: number, writeError?: unknown) => void;
  #since: number | undefined;
  #timer: TimerHandle | undefined;

  /** maxMs = Infinity disables the cap (fail-safe maglocks are energised whenever locked). */
  constructor(out: OutputLine, clock: Clock, maxMs: number,
    onTrip: (energisedMs: number, writeError?: unknown) => void) {
    this.#out = out;
    this.#clock = clock;
    this.#maxMs = maxMs;
    this.#onTrip = onTrip;
  }

  get energised(): boolean {
    return this.#out.get();
  }

  /** Drives the strike; throws the GPIO error if the write fails (the caller reports it). */
  set(energise: boolean): void {
    if (!energise) {
      this.#disarm();
      this.#out.set(false);
      return;
    }
    this.#out.set(true);
    if (this.#since === undefined) {
      this.#since = this.#clock.now();
      if (Number.isFinite(this.#maxMs)) this.#timer = this.#clock.setTimeout(() => this.#trip(), this.#maxMs);
    }
  }

  /** Cancels the timer without touching the line (the line is being closed). */
  dispose(): void {
    this.#disarm();
  }

  #trip(): void {
    this.#timer = undefined;
    const since = this.#since ?? this.#clock.now();
    this.#since = undefined;
    let writeError: unknown;
    try {
      this.#out.set(false);
    } catch (err) {
      writeError = err; // a throw from a timer would kill the agent; the caller reports it instead
    }
    this.#onTrip(this.#clock.now() - since, writeError);
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#since = undefined;
  }
}
