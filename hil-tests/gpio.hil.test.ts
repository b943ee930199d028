// Hardware-in-the-loop: on a real Pi, toggles one output line through the onoff backend and reads the
// level back from sysfs (and, when GDO_HIL_GPIO_IN is wired to it, through an input with edge events).
//   GDO_HIL_GPIO_OUT=22 [GDO_HIL_GPIO_IN=27] npm run test:hil
// Use a line with nothing dangerous on it (the LED, see README.md): the test drives it high.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OnoffGpioBackend } from '../drivers/gpio/onoff-backend.ts';
import { DEFAULT_SYSFS_ROOT } from '../drivers/gpio/sysfs-chips.ts';

const outEnv = process.env['GDO_HIL_GPIO_OUT'];
const inEnv = process.env['GDO_HIL_GPIO_IN'];
const skip = !existsSync(DEFAULT_SYSFS_ROOT)
  ? `skipped: ${DEFAULT_SYSFS_ROOT} is missing (not a Raspberry Pi, or a kernel without CONFIG_GPIO_SYSFS)`
  : outEnv === undefined
    ? 'skipped: set GDO_HIL_GPIO_OUT to a BCM output line that is safe to toggle (e.g. the LED, 22)'
    : false;

void describe('HIL: GPIO on this Pi', { skip }, () => {
  void it('toggles the output line and reads the level back from sysfs', () => {
    const line = Number(outEnv);
    const gpio = new OnoffGpioBackend();
    const num = gpio.resolve(line);
    const valuePath = join(DEFAULT_SYSFS_ROOT, `gpio${num}`, 'value');
    const readBack = (): string => readFileSync(valuePath, 'utf8').trim();
    const out = gpio.openOutput(line, { label: 'hil.out' });
    try {
      console.log(`# BCM ${line} = sysfs ${num} on ${gpio.chip().name} ('${gpio.chip().label}')`);
      assert.equal(readBack(), '0');
      out.set(true);
      assert.equal(readBack(), '1');
      out.set(false);
      assert.equal(readBack(), '0');
    } finally {
      out.set(false);
      gpio.close();
    }
  });

  void it('sees the toggles on a wired input (GDO_HIL_GPIO_IN)', {
    skip: inEnv === undefined ? 'skipped: set GDO_HIL_GPIO_IN to a line wired to GDO_HIL_GPIO_OUT' : false,
  }, async () => {
    const gpio = new OnoffGpioBackend();
    const out = gpio.openOutput(Number(outEnv), { label: 'hil.out' });
    const input = gpio.openInput(Number(inEnv), { label: 'hil.in' });
    try {
      const seen: boolean[] = [];
      input.watch((c) => seen.push(c.value));
      out.set(true);
      await sleep(50); // real interrupts arrive through epoll on the event loop
      assert.equal(input.read(), true);
      out.set(false);
      await sleep(50);
      assert.equal(input.read(), false);
      assert.deepEqual(seen, [true, false]);
    } finally {
      out.set(false);
      gpio.close();
    }
  });
});
