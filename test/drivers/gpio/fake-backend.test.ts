import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeBoard } from '../../../drivers/gpio/fake-board.ts';
import { FakeClock } from '../../../drivers/gpio/fake-clock.ts';
import { FakeGpioBackend } from '../../../drivers/gpio/fake.ts';
import { isGpioError } from '../../../drivers/gpio/errors.ts';
import { runGpioContract } from './gpio-contract.ts';

runGpioContract('fake', (clock) => {
  const backend = new FakeGpioBackend({ clock });
  return {
    backend,
    clock,
    electrical: (line) => backend.board.level(line),
    drive: (line, level) => backend.board.drive(line, level),
    cleanup: () => {},
  };
});

void describe('fake GPIO backend', () => {
  void it('records every write with its clock time and label', () => {
    const clock = new FakeClock(1_000);
    const gpio = new FakeGpioBackend({ clock });
    const out = gpio.openOutput(17, { label: 'front.strike' });
    clock.advance(250);
    out.set(true);
    clock.advance(100);
    out.set(false);
    assert.deepEqual(gpio.board.history(17), [
      { line: 17, level: 0, at: 1_000, label: 'front.strike' },
      { line: 17, level: 1, at: 1_250, label: 'front.strike' },
      { line: 17, level: 0, at: 1_350, label: 'front.strike' },
    ]);
  });

  void it('keeps levels on the board across backends, like sysfs across processes', () => {
    const board = new FakeBoard(new FakeClock());
    const first = new FakeGpioBackend({ board });
    first.openOutput(17).set(true); // the process "dies" without closing
    const second = new FakeGpioBackend({ board });
    assert.equal(board.level(17), 1);
    second.openOutput(17);
    assert.equal(board.level(17), 0);
  });

  void it('returns an unexported line to its power-up pull (GPIO0-8 up, 9-27 down)', () => {
    const gpio = new FakeGpioBackend({ clock: new FakeClock() });
    const low = gpio.openOutput(4, { activeLow: true, initial: false });
    assert.equal(gpio.board.level(4), 1);
    low.unexport();
    assert.equal(gpio.board.level(4), 1);
    const relay = gpio.openOutput(17, { activeLow: true });
    relay.unexport();
    assert.equal(gpio.board.level(17), 0, 'an active-low relay on a pulled-down pin energises');
    assert.equal(gpio.board.mode(17), 'unexported');
  });

  void it('fails writes on request, with GPIO_IO', () => {
    const gpio = new FakeGpioBackend({ clock: new FakeClock() });
    const out = gpio.openOutput(17);
    gpio.board.failWrites(17);
    assert.throws(() => out.set(true), (e) => isGpioError(e, 'GPIO_IO'));
    assert.equal(out.get(), false, 'a failed write does not change the logical level');
  });
});
