// The pins of a simulated Pi header, shared by every FakeGpioBackend made on it. Levels outlive a backend
// the way sysfs values outlive a process (docs/design-notes.md "Power-up and crash behaviour"), so a test can
// "crash" one backend and check that `gdo gpio safe` on a second one fixes the outputs.
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { GpioError } from './errors.ts';
import type { Level } from './types.ts';

export interface FakeWrite {
  line: number;
  level: Level;
  at: number;
  label: string | undefined;
}

type PinMode = 'input' | 'output';

export class FakeBoard {
  readonly clock: Clock;
  readonly #levels = new Map<number, Level>();
  readonly #modes = new Map<number, PinMode>();
  readonly #history: FakeWrite[] = [];
  readonly #failing = new Set<number>();
  readonly #driveListeners = new Map<number, (level: Level) => void>();

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  /** Power-up state: GPIO0-8 pulled up, 9-27 pulled down (docs/design-notes.md). */
  static powerUpLevel(line: number): Level {
    return line <= 8 ? 1 : 0;
  }

  /** Electrical level of a line now: last driven, last driven from outside, or its power-up pull. */
  level(line: number): Level {
    return this.#levels.get(line) ?? FakeBoard.powerUpLevel(line);
  }

  mode(line: number): PinMode | 'unexported' {
    return this.#modes.get(line) ?? 'unexported';
  }

  /** Every output write, in order, with clock timestamps. */
  history(line?: number): FakeWrite[] {
    return this.#history.filter((w) => line === undefined || w.line === line);
  }

  clearHistory(): void {
    this.#history.length = 0;
  }

  /** Sets the electrical level seen on an input (a switch closing, a button press). */
  drive(line: number, level: Level): void {
    if (this.#modes.get(line) === 'output') {
      throw new GpioError('GPIO_CONFIG_INVALID', `fake line ${line} is an output; drive() is for inputs`);
    }
    this.#levels.set(line, level);
    this.#driveListeners.get(line)?.(level);
  }

  /** Makes every later write to the line fail with GPIO_IO (a dead expander, EACCES, ...). */
  failWrites(line: number, failing = true): void {
    if (failing) this.#failing.add(line);
    else this.#failing.delete(line);
  }

  // --- used by FakeGpioBackend ---

  setMode(line: number, mode: PinMode | 'unexported'): void {
    if (mode === 'unexported') {
      this.#modes.delete(line);
      this.#levels.delete(line); // back to the pull
      this.#driveListeners.delete(line);
    } else {
      this.#modes.set(line, mode);
    }
  }

  write(line: number, level: Level, label: string | undefined): void {
    if (this.#failing.has(line)) {
      throw new GpioError('GPIO_IO', `fake write to GPIO line ${line} failed`, { path: `fake:${line}` });
    }
    this.#levels.set(line, level);
    this.#history.push({ line, level, at: this.clock.now(), label });
  }

  onDrive(line: number, fn: ((level: Level) => void) | undefined): void {
    if (fn) this.#driveListeners.set(line, fn);
    else this.#driveListeners.delete(line);
  }
}
