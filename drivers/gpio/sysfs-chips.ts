// Maps a BCM line number to its sysfs GPIO number. From kernel 6.6 chip bases are dynamic (512, 571, ...),
// so "17" is no longer GPIO 17: find the chip by its label, then add the line to its base. Never pick the
// lowest base: on a Pi 5 that is a brcmstb chip, not the header (docs/design-notes.md "GPIO on Raspberry Pi OS").
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkLineNumber, GpioError } from './errors.ts';

export const DEFAULT_SYSFS_ROOT = '/sys/class/gpio';

/**
 * Labels of the chip that owns the 40-pin header, most specific first: Pi 5 (RP1), Pi 4 / 400 / CM4,
 * Pi 0-3 (the bcm2835 driver serves 2835/2836/2837).
 */
export const HEADER_CHIP_LABELS: readonly string[] = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

export interface SysfsChip {
  /** Directory name, e.g. "gpiochip512". */
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

export function listChips(root: string): SysfsChip[] {
  if (!existsSync(root)) {
    throw new GpioError('GPIO_SYSFS_MISSING',
      `sysfs GPIO not found at ${root}: the kernel lacks CONFIG_GPIO_SYSFS or this is not a Raspberry Pi`,
      { path: root });
  }
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => /^gpiochip\d+$/.test(n)).sort();
  } catch (cause) {
    throw new GpioError('GPIO_SYSFS_MISSING', `cannot list ${root}: ${String(cause)}`, { path: root, cause });
  }
  const chips: SysfsChip[] = [];
  for (const name of names) {
    const dir = join(root, name);
    try {
      const label = readFileSync(join(dir, 'label'), 'utf8').trim();
      const base = Number.parseInt(readFileSync(join(dir, 'base'), 'utf8').trim(), 10);
      const ngpio = Number.parseInt(readFileSync(join(dir, 'ngpio'), 'utf8').trim(), 10);
      if (Number.isInteger(base) && Number.isInteger(ngpio)) chips.push({ name, label, base, ngpio });
    } catch {
      // A chip directory without readable attributes cannot be the header chip; keep looking.
    }
  }
  return chips;
}

/** Finds the header chip: the first label in `labels` (preference order) that some chip carries. */
export function findHeaderChip(root: string, labels: readonly string[] = HEADER_CHIP_LABELS): SysfsChip {
  const chips = listChips(root);
  for (const wanted of labels) {
    const chip = chips.find((c) => c.label === wanted);
    if (chip) return chip;
  }
  const seen = chips.length ? chips.map((c) => `${c.name}='${c.label}'`).join(', ') : 'no gpiochip entries';
  throw new GpioError('GPIO_CHIP_NOT_FOUND',
    `no GPIO chip labelled ${labels.map((l) => `'${l}'`).join(' or ')} under ${root} (found ${seen})`,
    { path: root });
}

/** The sysfs GPIO number of a BCM line, e.g. line 17 on a Pi 4 with kernel 6.6 -> 529. */
export function sysfsNumber(chip: SysfsChip, line: number): number {
  checkLineNumber(line);
  if (line >= chip.ngpio) {
    throw new GpioError('GPIO_LINE_OUT_OF_RANGE',
      `GPIO line ${line} is outside ${chip.name} ('${chip.label}', ${chip.ngpio} lines)`, { path: chip.name });
  }
  return chip.base + line;
}
