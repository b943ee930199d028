// Injectable time source so protocol and poller timing can be tested without real waits.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A sleep that the owner can cut short (stop, disconnect). */
export class Sleeper {
  private readonly clock: Clock;
  private wake: (() => void) | undefined;
  private handle: unknown;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  sleep(ms: number): Promise<void> {
    this.interrupt();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.handle = this.clock.setTimeout(() => this.interrupt(), Math.max(0, ms));
    });
  }

  interrupt(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    wake?.();
  }
}
