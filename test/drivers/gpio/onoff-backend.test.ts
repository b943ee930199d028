// The onoff backend against a sysfs-like directory: the whole contract through an onoff-shaped class that
// works on plain files (see sysfs-sim.ts), plus chip resolution and the errors for a missing sysfs.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OnoffGpioBackend } from '../../../drivers/gpio/onoff-backend.ts';
import { isGpioError } from '../../../drivers/gpio/errors.ts';
import { runGpioContract } from './gpio-contract.ts';
import { PI4_CHIPS, PI5_CHIPS, SysfsSim } from './sysfs-sim.ts';

runGpioContract('onoff on a sysfs-like directory', (clock) => {
  const sim = new SysfsSim(PI4_CHIPS);
  const backend = new OnoffGpioBackend({ sysfsRoot: sim.root, gpioClass: sim.gpioClass, clock });
  return {
    backend,
    clock,
    electrical: (line) => sim.value(512 + line),
    drive: (line, level) => {
      if (sim.exported(512 + line)) sim.drive(512 + line, level);
      else { sim.preExport(512 + line, level); sim.open(512 + line, 'in', undefined, undefined); }
    },
    cleanup: () => sim.cleanup(),
  };
});

void describe('onoff backend: sysfs resolution', () => {
  const sims: SysfsSim[] = [];
  after(() => { for (const s of sims) s.cleanup(); });
  const sim = (chips = PI4_CHIPS): SysfsSim => { const s = new SysfsSim(chips); sims.push(s); return s; };

  void it('resolves BCM 17 to 529 on a Pi 4 with kernel 6.6 (base 512)', () => {
    const s = sim();
    const gpio = new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: s.gpioClass });
    assert.equal(gpio.resolve(17), 529);
    gpio.openOutput(17, { initial: true });
    assert.equal(s.direction(529), 'out');
    assert.equal(s.value(529), 1);
  });

  void it('resolves by label, not by the lowest base: Pi 5 header lines are on pinctrl-rp1 at 571', () => {
    const s = sim(PI5_CHIPS);
    const gpio = new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: s.gpioClass });
    assert.equal(gpio.chip().label, 'pinctrl-rp1');
    assert.equal(gpio.resolve(17), 588);
  });

  void it('accepts a legacy kernel where the header chip has base 0', () => {
    const s = sim([{ name: 'gpiochip0', label: 'pinctrl-bcm2835', base: 0, ngpio: 54 }]);
    assert.equal(new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: s.gpioClass }).resolve(27), 27);
  });

  void it('says GPIO_SYSFS_MISSING and names the path when there is no sysfs GPIO', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdo-nosysfs-'));
    const root = join(dir, 'class', 'gpio');
    try {
      const s = sim();
      const gpio = new OnoffGpioBackend({ sysfsRoot: root, gpioClass: s.gpioClass });
      assert.throws(() => gpio.openOutput(17), (e) =>
        isGpioError(e, 'GPIO_SYSFS_MISSING') && e.path === root && e.message.includes(root));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('says GPIO_CHIP_NOT_FOUND, listing the chips it saw, when no label matches', () => {
    const s = sim([{ name: 'gpiochip0', label: 'some-expander', base: 0, ngpio: 8 }]);
    const gpio = new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: s.gpioClass });
    assert.throws(() => gpio.openOutput(17), (e) =>
      isGpioError(e, 'GPIO_CHIP_NOT_FOUND') && e.message.includes("gpiochip0='some-expander'"));
  });

  void it('honours a configured chip label', () => {
    const s = sim([{ name: 'gpiochip600', label: 'my-board', base: 600, ngpio: 32 }]);
    const gpio = new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: s.gpioClass, chipLabels: ['my-board'] });
    assert.equal(gpio.resolve(3), 603);
  });

  void it('refuses lines beyond the chip, GPIO_LINE_OUT_OF_RANGE', () => {
    const s = sim();
    const gpio = new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: s.gpioClass });
    assert.throws(() => gpio.openOutput(58), (e) => isGpioError(e, 'GPIO_LINE_OUT_OF_RANGE'));
  });

  void it('wraps a refused export as GPIO_EXPORT_FAILED naming the sysfs path', () => {
    const s = sim();
    const refusing = class { constructor() { throw Object.assign(new Error('EACCES'), { code: 'EACCES' }); } };
    const gpio = new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: refusing as never });
    assert.throws(() => gpio.openOutput(17, { label: 'front.strike' }), (e) =>
      isGpioError(e, 'GPIO_EXPORT_FAILED') && e.message.includes(join(s.root, 'gpio529'))
      && e.message.includes('gpio group') && e.message.includes('front.strike'));
  });

  void it('clears a stale sysfs active_low and drives the level it was asked for', () => {
    const s = sim();
    s.preExport(529, 1, true); // a crashed tool left the line inverted and energised
    const gpio = new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: s.gpioClass });
    gpio.openOutput(17);
    assert.equal(s.value(529), 0);
  });

  void it('unexports inputs on close (an input has no level to keep)', () => {
    const s = sim();
    const gpio = new OnoffGpioBackend({ sysfsRoot: s.root, gpioClass: s.gpioClass });
    gpio.openInput(5).close();
    assert.equal(existsSync(s.path(517)), false);
  });

  void it('refuses a non-default sysfs root with the real onoff class (it only knows /sys/class/gpio)', () => {
    assert.throws(() => new OnoffGpioBackend({ sysfsRoot: '/tmp/x' }), (e) => isGpioError(e, 'GPIO_CONFIG_INVALID'));
  });

  void it('with real onoff on a machine without sysfs GPIO, says so instead of crashing', { skip: existsSync('/sys/class/gpio') ? 'this machine has /sys/class/gpio' : false }, () => {
    const gpio = new OnoffGpioBackend();
    assert.throws(() => gpio.openOutput(17), (e) => isGpioError(e, 'GPIO_SYSFS_MISSING') && e.message.includes('/sys/class/gpio'));
  });
});
