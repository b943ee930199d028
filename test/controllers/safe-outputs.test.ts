import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, describe, it } from 'node:test';
import { FakeBoard } from '../../drivers/gpio/fake-board.ts';
import { FakeClock } from '../../drivers/gpio/fake-clock.ts';
import { FakeGpioBackend } from '../../drivers/gpio/fake.ts';
import { OnoffGpioBackend } from '../../drivers/gpio/onoff-backend.ts';
import { isGpioError } from '../../drivers/gpio/errors.ts';
import { parseDoorConfig } from '../../agent/controllers/door-config.ts';
import { parseMachineConfig } from '../../agent/controllers/machine-config.ts';
import { forceSafe, safeOutputsOf } from '../../agent/controllers/safe-outputs.ts';
import { installSafeExitHandlers } from '../../agent/controllers/exit-handlers.ts';
import { SysfsSim } from '../drivers/gpio/sysfs-sim.ts';
import { DOOR_PINS, MACHINE_PINS } from './rig.ts';

const doors = [parseDoorConfig({ id: 'front', pins: { ...DOOR_PINS, strike: { line: 17, active_low: true } } })];
const machines = [parseMachineConfig({ id: 'lathe', pins: { ...MACHINE_PINS, relay: { line: 24 }, led: { line: 25 }, buzzer: { line: 26 } } })];

void describe('forceSafe (gdo gpio safe)', () => {
  void it('lists every configured output', () => {
    assert.deepEqual(safeOutputsOf({ doors, machines }).map((o) => o.name),
      ['front.strike', 'front.led', 'front.buzzer', 'lathe.relay', 'lathe.led', 'lathe.buzzer']);
  });

  void it('on a fake board left energised by a crashed agent: every output to its safe level', () => {
    const board = new FakeBoard(new FakeClock());
    const crashed = new FakeGpioBackend({ board });
    crashed.openOutput(17, { activeLow: true, initial: true });
    for (const l of [22, 23, 24, 25, 26]) crashed.openOutput(l, { initial: true });
    const res = forceSafe(safeOutputsOf({ doors, machines }), new FakeGpioBackend({ board }));
    assert.deepEqual(res.failed, []);
    assert.equal(board.level(17), 1, 'active-low strike: safe is electrical high');
    for (const l of [22, 23, 24, 25, 26]) assert.equal(board.level(l), 0);
    assert.equal(board.mode(17), 'output', 'left exported and driving, not handed back to the pull');
  });

  void it('carries on past a failing line and reports it', () => {
    const gpio = new FakeGpioBackend({ clock: new FakeClock() });
    gpio.board.failWrites(22);
    const res = forceSafe(safeOutputsOf({ doors, machines }), gpio);
    assert.deepEqual(res.failed.map((f) => f.name), ['front.led']);
    assert.equal(res.ok.length, 5);
  });

  const sims: SysfsSim[] = [];
  after(() => { for (const s of sims) s.cleanup(); });

  void it('on a sysfs-like directory through the onoff backend (Pi 4, base 512)', () => {
    const sim = new SysfsSim();
    sims.push(sim);
    sim.preExport(529, 0); // strike (active low) left energised
    sim.preExport(536, 1); // lathe relay left on
    const gpio = new OnoffGpioBackend({ sysfsRoot: sim.root, gpioClass: sim.gpioClass });
    const res = forceSafe(safeOutputsOf({ doors, machines }), gpio);
    assert.deepEqual(res.failed, []);
    assert.equal(sim.value(529), 1);
    assert.equal(sim.value(536), 0);
    for (const n of [534, 535, 537, 538]) assert.equal(sim.value(n), 0);
    assert.equal(sim.direction(536), 'out');
  });

  void it('reports GPIO_SYSFS_MISSING per output when there is no sysfs', () => {
    const sim = new SysfsSim();
    sims.push(sim);
    const gpio = new OnoffGpioBackend({ sysfsRoot: `${sim.root}/missing`, gpioClass: sim.gpioClass });
    const res = forceSafe(safeOutputsOf({ doors }), gpio);
    assert.equal(res.ok.length, 0);
    assert.ok(res.failed.every((f) => isGpioError(f.error, 'GPIO_SYSFS_MISSING')));
  });
});

class FakeProcess extends EventEmitter {
  exits: number[] = [];
  exit(code?: number): void { this.exits.push(code ?? 0); }
}

void describe('installSafeExitHandlers', () => {
  const setup = (onSignal?: (s: string) => void) => {
    const proc = new FakeProcess();
    const calls: string[] = [];
    const fatal: unknown[] = [];
    const uninstall = installSafeExitHandlers({
      proc,
      safe: [() => { calls.push('a'); throw new Error('a failed'); }, () => calls.push('b')],
      onFatal: (e) => fatal.push(e),
      ...(onSignal && { onSignal }),
    });
    return { proc, calls, fatal, uninstall };
  };

  void it('SIGTERM: every output safe (even after one throws), then exit 0', () => {
    const t = setup();
    t.proc.emit('SIGTERM', 'SIGTERM');
    assert.deepEqual(t.calls, ['a', 'b']);
    assert.deepEqual(t.proc.exits, [0]);
  });

  void it('SIGTERM with onSignal: outputs safe first, then the agent shuts down itself', () => {
    const order: string[] = [];
    const t = setup((s) => order.push(`shutdown:${s}`));
    t.proc.emit('SIGTERM', 'SIGTERM');
    assert.deepEqual(order, ['shutdown:SIGTERM']);
    assert.deepEqual(t.calls, ['a', 'b']);
    assert.deepEqual(t.proc.exits, []);
  });

  void it('uncaughtException: safe, logged, exit 1; the exit event drives safe again', () => {
    const t = setup();
    const err = new Error('boom');
    t.proc.emit('uncaughtException', err);
    assert.deepEqual(t.calls, ['a', 'b']);
    assert.deepEqual(t.fatal, [err]);
    assert.deepEqual(t.proc.exits, [1]);
    t.proc.emit('exit', 1);
    assert.deepEqual(t.calls, ['a', 'b', 'a', 'b']);
  });

  void it('uninstall removes every handler', () => {
    const t = setup();
    t.uninstall();
    assert.equal(t.proc.listenerCount('SIGTERM') + t.proc.listenerCount('uncaughtException')
      + t.proc.listenerCount('exit') + t.proc.listenerCount('SIGINT'), 0);
  });

  void it('with a real door: a SIGTERM mid-pulse de-energises the strike synchronously', async () => {
    const { doorRig, CARD } = await import('./rig.ts');
    const r = doorRig();
    const proc = new FakeProcess();
    installSafeExitHandlers({ proc, safe: [() => r.door.safeNow()] });
    r.badge(CARD.alice);
    assert.equal(r.strike(), 1);
    proc.emit('SIGTERM', 'SIGTERM');
    assert.equal(r.strike(), 0);
  });
});
