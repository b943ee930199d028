// A sysfs-like directory for tests: gpiochipN/{base,label,ngpio} plus an onoff-shaped Gpio class that
// stands in for the kernel by creating gpioN/{direction,value,edge,active_low} on export. Regular files
// cannot raise epoll interrupts, so interrupt() plays the kernel's part after a test changes a value.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OnoffLikeGpio, OnoffLikeGpioClass } from '../../../drivers/gpio/onoff-backend.ts';
import type { Level } from '../../../drivers/gpio/types.ts';

export interface ChipSpec {
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

/** Pi 4 on kernel 6.6 (docs/design-notes.md table): header chip at base 512, the expander at 570. */
export const PI4_CHIPS: ChipSpec[] = [
  { name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
  { name: 'gpiochip570', label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
];

/** Pi 5: the lowest base is a brcmstb chip, the header is RP1 at 571. */
export const PI5_CHIPS: ChipSpec[] = [
  { name: 'gpiochip512', label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 },
  { name: 'gpiochip544', label: 'gpio-brcmstb@107d517c00', base: 544, ngpio: 15 },
  { name: 'gpiochip571', label: 'pinctrl-rp1', base: 571, ngpio: 54 },
];

export class SysfsSim {
  readonly root: string;
  readonly #chips: ChipSpec[];
  readonly #watchers = new Map<number, Set<(err: Error | null | undefined, value: Level) => void>>();
  readonly gpioClass: OnoffLikeGpioClass;

  constructor(chips: ChipSpec[] = PI4_CHIPS, root?: string) {
    this.root = root ?? mkdtempSync(join(tmpdir(), 'gdo-sysfs-'));
    this.#chips = chips;
    mkdirSync(this.root, { recursive: true });
    writeFileSync(join(this.root, 'export'), '');
    writeFileSync(join(this.root, 'unexport'), '');
    for (const c of chips) {
      const dir = join(this.root, c.name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'label'), `${c.label}\n`);
      writeFileSync(join(dir, 'base'), `${c.base}\n`);
      writeFileSync(join(dir, 'ngpio'), `${c.ngpio}\n`);
    }
    this.gpioClass = makeGpioClass(this);
  }

  path(num: number, file?: string): string {
    return file ? join(this.root, `gpio${num}`, file) : join(this.root, `gpio${num}`);
  }

  exported(num: number): boolean {
    return existsSync(this.path(num));
  }

  value(num: number): Level {
    return readFileSync(this.path(num, 'value'), 'utf8').trim() === '1' ? 1 : 0;
  }

  direction(num: number): string {
    return readFileSync(this.path(num, 'direction'), 'utf8').trim();
  }

  /** An external level change on an input: write the value file, then raise the interrupt. */
  drive(num: number, level: Level): void {
    writeFileSync(this.path(num, 'value'), String(level));
    for (const w of [...(this.#watchers.get(num) ?? [])]) w(null, level);
  }

  /** Pretends an earlier process exported the line as output at `level` (a crash left it energised). */
  preExport(num: number, level: Level, activeLow = false): void {
    this.#export(num);
    writeFileSync(this.path(num, 'direction'), 'out');
    writeFileSync(this.path(num, 'value'), String(level));
    writeFileSync(this.path(num, 'active_low'), activeLow ? '1' : '0');
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  // --- the simulated kernel ---

  #export(num: number): void {
    if (!this.#chips.some((c) => num >= c.base && num < c.base + c.ngpio)) {
      throw Object.assign(new Error(`EINVAL: invalid argument, write '${num}' to export`), { code: 'EINVAL' });
    }
    if (this.exported(num)) return;
    appendFileSync(join(this.root, 'export'), `${num}\n`);
    mkdirSync(this.path(num));
    writeFileSync(this.path(num, 'direction'), 'in');
    writeFileSync(this.path(num, 'value'), '0');
    writeFileSync(this.path(num, 'edge'), 'none');
    writeFileSync(this.path(num, 'active_low'), '0');
  }

  open(num: number, direction: string, edge: string | undefined, activeLow: boolean | undefined): void {
    this.#export(num);
    if (activeLow !== undefined) writeFileSync(this.path(num, 'active_low'), activeLow ? '1' : '0');
    writeFileSync(this.path(num, 'direction'), direction === 'in' ? 'in' : 'out');
    if (direction === 'high' || direction === 'low') {
      writeFileSync(this.path(num, 'value'), direction === 'high' ? '1' : '0');
    }
    if (edge && direction === 'in') writeFileSync(this.path(num, 'edge'), edge);
  }

  addWatcher(num: number, fn: (err: Error | null | undefined, value: Level) => void): void {
    let set = this.#watchers.get(num);
    if (!set) this.#watchers.set(num, (set = new Set()));
    set.add(fn);
  }

  clearWatchers(num: number): void {
    this.#watchers.delete(num);
  }

  unexport(num: number): void {
    this.clearWatchers(num);
    appendFileSync(join(this.root, 'unexport'), `${num}\n`);
    rmSync(this.path(num), { recursive: true, force: true });
  }
}

function makeGpioClass(sim: SysfsSim): OnoffLikeGpioClass {
  return class SimGpio implements OnoffLikeGpio {
    readonly #num: number;
    constructor(num: number, direction: 'in' | 'out' | 'high' | 'low', edge?: string,
      options?: { activeLow?: boolean }) {
      this.#num = num;
      sim.open(num, direction, edge, options?.activeLow);
    }
    readSync(): Level {
      return sim.value(this.#num);
    }
    writeSync(value: Level): void {
      writeFileSync(sim.path(this.#num, 'value'), String(value));
    }
    watch(cb: (err: Error | null | undefined, value: Level) => void): void {
      sim.addWatcher(this.#num, cb);
    }
    unwatchAll(): void {
      sim.clearWatchers(this.#num);
    }
    unexport(): void {
      sim.unexport(this.#num);
    }
  };
}
