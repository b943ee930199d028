// The systemd watchdog loop: every interval (half of WatchdogSec), ping only when the agent is worth
// keeping: the event loop is turning on time and the health check (readers, ledger, GPIO; daemon.ts)
// passes (docs/design-notes.md "systemd"). A hung or broken agent stops pinging and systemd restarts it, with
// ExecStopPost forcing the outputs safe.
import { systemClock, type Clock, type TimerHandle } from '../../drivers/gpio/clock.ts';

export interface WatchdogOptions {
  intervalMs: number;
  /** Reasons the agent is unhealthy right now; empty when healthy. */
  problems: () => string[];
  ping: () => void;
  /** Called when the list of problems changes (for STATUS= and the logs). */
  onChange?: (problems: string[]) => void;
  clock?: Clock;
}

export class Watchdog {
  readonly #o: WatchdogOptions;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #due = 0;
  #last: string[] = [];
  pings = 0;
  skipped = 0;

  constructor(opts: WatchdogOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#tick(false);
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One round: check, maybe ping, schedule the next. The first round only schedules. */
  #tick(check: boolean): void {
    if (check) {
      const problems = [...this.#o.problems()];
      // A timer this late means the event loop was stuck for most of an interval: badges went unread.
      const late = this.#clock.now() - this.#due;
      if (late > this.#o.intervalMs) problems.unshift(`event loop stalled for ${late} ms`);
      if (problems.join('\n') !== this.#last.join('\n')) {
        this.#last = problems;
        this.#o.onChange?.(problems);
      }
      if (problems.length === 0) {
        this.pings += 1;
        this.#o.ping();
      } else {
        this.skipped += 1;
      }
    }
    this.#due = this.#clock.now() + this.#o.intervalMs;
    this.#timer = this.#clock.setTimeout(() => this.#tick(true), this.#o.intervalMs);
  }
}
