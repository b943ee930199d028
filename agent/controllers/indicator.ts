// LED and buzzer feedback. A pattern is a list of durations, alternately on and off, starting with on; the
// line is left off at the end. A failing indicator must never stop a door, so write errors go to onError.
import type { OutputLine } from '../../drivers/gpio/types.ts';
import type { Clock, TimerHandle } from './types.ts';

export type Pattern = readonly number[];

/** Feedback patterns shared by doors and machines. */
export const PATTERNS = {
  granted: { led: [1_000], buzzer: [80] },
  denied: { led: [150, 150, 150, 150, 150], buzzer: [150, 150, 150, 150, 150] },
  /** Session about to end: two chirps and a blink (repeated by the machine controller). */
  warning: { led: [200, 200, 200], buzzer: [60, 120, 60] },
  /** Trainer window open / certification recorded. */
  certify: { led: [400, 100, 400], buzzer: [60, 60, 60, 60, 60] },
} as const satisfies Record<string, { led: Pattern; buzzer: Pattern }>;

export class Indicator {
  readonly #line: OutputLine | undefined;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  #timer: TimerHandle | undefined;

  constructor(line: OutputLine | undefined, clock: Clock, onError: (err: unknown) => void) {
    this.#line = line;
    this.#clock = clock;
    this.#onError = onError;
  }

  play(pattern: Pattern): void {
    this.#cancel();
    this.#step(pattern, 0);
  }

  steady(on: boolean): void {
    this.#cancel();
    this.#write(on);
  }

  off(): void {
    this.steady(false);
  }

  #step(pattern: Pattern, i: number): void {
    if (i >= pattern.length) {
      this.#timer = undefined;
      this.#write(false);
      return;
    }
    this.#write(i % 2 === 0);
    this.#timer = this.#clock.setTimeout(() => this.#step(pattern, i + 1), pattern[i] ?? 0);
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #write(on: boolean): void {
    if (!this.#line) return;
    try {
      this.#line.set(on);
    } catch (err) {
      this.#onError(err);
    }
  }
}

/** An LED and a buzzer played together. */
export class Feedback {
  readonly led: Indicator;
  readonly buzzer: Indicator;

  constructor(led: Indicator, buzzer: Indicator) {
    this.led = led;
    this.buzzer = buzzer;
  }

  play(p: { led: Pattern; buzzer: Pattern }): void {
    this.led.play(p.led);
    this.buzzer.play(p.buzzer);
  }

  off(): void {
    this.led.off();
    this.buzzer.off();
  }
}
