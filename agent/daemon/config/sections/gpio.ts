// The GPIO backend (drivers/gpio): onoff over sysfs on a Pi, or the in-memory fake.
import { c, type Node } from '../schema.ts';

export const gpioSchema: Node = c.obj('How outputs and inputs are driven.', {
  backend: c.oneOf('onoff: the Pi\'s header through sysfs. fake: in memory, for the simulated site and tests.', ['onoff', 'fake'], 'onoff'),
  fake_state_file: c.str('fake only: a JSON file holding every line\'s level, rewritten on each change and read back by `gdo gpio safe`, so a test can see the outputs of a process that is gone; empty for none.', ''),
});
