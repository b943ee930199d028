// GPIO through onoff (sysfs). onoff knows nothing of dynamic chip bases, so this backend resolves the BCM
// line to its sysfs number first (sysfs-chips.ts, docs/design-notes.md "GPIO on Raspberry Pi OS"). Active-low,
// debounce and edge filtering happen in this layer (types.ts, edge-debouncer.ts), not in sysfs or onoff.
import { Gpio } from 'onoff';
import { join } from 'node:path';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { EdgeDebouncer } from './edge-debouncer.ts';
import { checkLineNumber, GpioError } from './errors.ts';
import type { SysfsChip } from './sysfs-chips.ts';
import { DEFAULT_SYSFS_ROOT, findHeaderChip, HEADER_CHIP_LABELS, sysfsNumber } from './sysfs-chips.ts';
import type {
  GpioBackend, InputChange, InputLine, InputOptions, Level, OutputLine, OutputOptions,
} from './types.ts';
import { fromLevel, toLevel } from './types.ts';

/** The part of onoff's Gpio this backend uses; tests pass a class working on a sysfs-like directory. */
export interface OnoffLikeGpio {
  readSync(): Level;
  writeSync(value: Level): void;
  watch(callback: (err: Error | null | undefined, value: Level) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

export type OnoffLikeGpioClass = new (
  gpio: number,
  direction: 'in' | 'out' | 'high' | 'low',
  edge?: 'none' | 'rising' | 'falling' | 'both',
  options?: { debounceTimeout?: number; activeLow?: boolean; reconfigureDirection?: boolean },
) => OnoffLikeGpio;

export interface OnoffBackendOptions {
  /** Default /sys/class/gpio. onoff itself always uses that path: another root needs `gpioClass`. */
  sysfsRoot?: string;
  /** Labels of the header chip, in preference order. Default HEADER_CHIP_LABELS. */
  chipLabels?: readonly string[];
  /** Default onoff's Gpio. */
  gpioClass?: OnoffLikeGpioClass;
  clock?: Clock;
}

export class OnoffGpioBackend implements GpioBackend {
  readonly name = 'onoff';
  readonly sysfsRoot: string;
  readonly #labels: readonly string[];
  readonly #Gpio: OnoffLikeGpioClass;
  readonly #clock: Clock;
  readonly #open = new Map<number, { close(): void }>();
  #chip: SysfsChip | undefined;

  constructor(opts: OnoffBackendOptions = {}) {
    this.sysfsRoot = opts.sysfsRoot ?? DEFAULT_SYSFS_ROOT;
    if (this.sysfsRoot !== DEFAULT_SYSFS_ROOT && !opts.gpioClass) {
      throw new GpioError('GPIO_CONFIG_INVALID',
        `onoff only opens lines under ${DEFAULT_SYSFS_ROOT}; sysfsRoot ${this.sysfsRoot} needs a gpioClass`);
    }
    this.#labels = opts.chipLabels ?? HEADER_CHIP_LABELS;
    this.#Gpio = opts.gpioClass ?? (Gpio as unknown as OnoffLikeGpioClass);
    this.#clock = opts.clock ?? systemClock;
  }

  /** The header chip (resolved once); throws GPIO_SYSFS_MISSING / GPIO_CHIP_NOT_FOUND. */
  chip(): SysfsChip {
    this.#chip ??= findHeaderChip(this.sysfsRoot, this.#labels);
    return this.#chip;
  }

  /** The sysfs number for a BCM line, e.g. 17 -> 529 on a Pi 4 with kernel 6.6. */
  resolve(line: number): number {
    checkLineNumber(line);
    return sysfsNumber(this.chip(), line);
  }

  openOutput(line: number, opts: OutputOptions = {}): OutputLine {
    const num = this.#claim(line);
    const activeLow = opts.activeLow ?? false;
    let value = opts.initial ?? false;
    // 'high'/'low' sets direction and level in one sysfs write: no glitch through the wrong level.
    const gpio = this.#construct(num, toLevel(value, activeLow) === 1 ? 'high' : 'low', 'none', opts.label);
    let closed = false;
    const release = (): void => {
      if (closed) return;
      closed = true;
      this.#open.delete(line);
    };
    const out: OutputLine = {
      line,
      activeLow,
      set: (on: boolean): void => {
        if (closed) throw closedError(line, opts.label);
        try {
          gpio.writeSync(toLevel(on, activeLow));
        } catch (cause) {
          throw ioError(`write to GPIO line ${line}`, this.#path(num), cause);
        }
        value = on;
      },
      get: () => value,
      // onoff cannot close the value file without unexporting; the descriptor is dropped with the object
      // and the pin keeps driving its level (see OutputLine.close).
      close: release,
      unexport: (): void => {
        if (closed) return;
        release();
        gpio.unexport();
      },
    };
    this.#open.set(line, out);
    return out;
  }

  openInput(line: number, opts: InputOptions = {}): InputLine {
    const num = this.#claim(line);
    const activeLow = opts.activeLow ?? false;
    // Always 'both' at the kernel: edge selection is logical and done after debouncing.
    const gpio = this.#construct(num, 'in', 'both', opts.label);
    const sample = (): boolean => {
      try {
        return fromLevel(gpio.readSync(), activeLow);
      } catch (cause) {
        throw ioError(`read of GPIO line ${line}`, this.#path(num), cause);
      }
    };
    const debouncer = new EdgeDebouncer(this.#clock, sample(), opts.debounceMs ?? 0, opts.edge ?? 'both');
    let watching = false;
    let closed = false;
    const input: InputLine = {
      line,
      activeLow,
      read: (): boolean => {
        if (closed) throw closedError(line, opts.label);
        return sample();
      },
      watch: (listener: (change: InputChange) => void): (() => void) => {
        if (closed) throw closedError(line, opts.label);
        if (!watching) {
          watching = true;
          // An epoll error has no level to report; the next interrupt or read() shows the state.
          gpio.watch((err, level) => { if (!err) debouncer.feed(fromLevel(level, activeLow)); });
        }
        return debouncer.watch(listener);
      },
      close: (): void => {
        if (closed) return;
        closed = true;
        debouncer.close();
        this.#open.delete(line);
        gpio.unwatchAll();
        gpio.unexport();
      },
    };
    this.#open.set(line, input);
    return input;
  }

  close(): void {
    for (const l of [...this.#open.values()]) l.close();
  }

  #claim(line: number): number {
    const num = this.resolve(line);
    if (this.#open.has(line)) {
      throw new GpioError('GPIO_LINE_BUSY', `GPIO line ${line} is already open`, { path: this.#path(num) });
    }
    return num;
  }

  #construct(num: number, direction: 'in' | 'high' | 'low', edge: 'none' | 'both',
    label: string | undefined): OnoffLikeGpio {
    try {
      // activeLow: false clears a stale sysfs active_low left by another tool (see types.ts).
      return new this.#Gpio(num, direction, edge, { activeLow: false, reconfigureDirection: true });
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      const hint = code === 'EACCES' ? ': add the service user to the gpio group'
        : code === 'EINVAL' || code === 'EBUSY' ? ': the number is wrong or another driver owns the line'
          : '';
      throw new GpioError('GPIO_EXPORT_FAILED',
        `cannot open sysfs GPIO ${num}${label ? ` (${label})` : ''} at ${this.#path(num)}${hint}: ${String(cause)}`,
        { path: this.#path(num), cause });
    }
  }

  #path(num: number): string {
    return join(this.sysfsRoot, `gpio${num}`);
  }
}

function closedError(line: number, label: string | undefined): GpioError {
  return new GpioError('GPIO_LINE_CLOSED', `GPIO line ${line}${label ? ` (${label})` : ''} is closed`);
}

function ioError(what: string, path: string, cause: unknown): GpioError {
  return new GpioError('GPIO_IO', `${what} failed at ${path}: ${String(cause)}`, { path, cause });
}
