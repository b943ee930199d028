// The GPIO contract (docs/design-notes.md habit 4): one suite, run against every backend through a harness that can
// see electrical levels and drive inputs the way the world outside the Pi would.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeClock } from '../../../drivers/gpio/fake-clock.ts';
import { isGpioError } from '../../../drivers/gpio/errors.ts';
import type { GpioBackend, InputChange, Level } from '../../../drivers/gpio/types.ts';

export interface GpioHarness {
  backend: GpioBackend;
  clock: FakeClock;
  /** Electrical level of a BCM line as the pin sees it. */
  electrical(line: number): Level;
  /** Changes the electrical level on an input line from outside (switch, button). */
  drive(line: number, level: Level): void;
  cleanup(): void;
}

export function runGpioContract(name: string, makeHarness: (clock: FakeClock) => GpioHarness): void {
  void describe(`GPIO contract: ${name}`, () => {
    let h: GpioHarness;
    beforeEach(() => { h = makeHarness(new FakeClock()); });
    afterEach(() => { h.backend.close(); h.cleanup(); });

    const collect = (line: number, opts: Parameters<GpioBackend['openInput']>[1]): InputChange[] => {
      const seen: InputChange[] = [];
      h.backend.openInput(line, opts).watch((c) => seen.push(c));
      return seen;
    };

    void it('drives an output off (low) from the moment it opens, unless told otherwise', () => {
      const out = h.backend.openOutput(17);
      assert.equal(out.get(), false);
      assert.equal(h.electrical(17), 0);
      h.backend.openOutput(22, { initial: true });
      assert.equal(h.electrical(22), 1);
    });

    void it('maps logical to electrical levels through activeLow', () => {
      const out = h.backend.openOutput(17, { activeLow: true });
      assert.equal(h.electrical(17), 1, 'active-low off is electrical high');
      out.set(true);
      assert.equal(out.get(), true);
      assert.equal(h.electrical(17), 0);
      out.set(false);
      assert.equal(h.electrical(17), 1);
    });

    void it('reads inputs as logical levels', () => {
      h.drive(5, 1);
      const plain = h.backend.openInput(5);
      assert.equal(plain.read(), true);
      h.drive(6, 1);
      const inverted = h.backend.openInput(6, { activeLow: true });
      assert.equal(inverted.read(), false);
      h.drive(6, 0);
      assert.equal(inverted.read(), true);
    });

    void it('reports both edges by default, with the clock time', () => {
      h.drive(5, 0);
      const seen = collect(5, {});
      h.drive(5, 1);
      h.clock.advance(10);
      h.drive(5, 0);
      assert.deepEqual(seen.map((c) => c.value), [true, false]);
      assert.equal(seen[1]?.at, seen[0]!.at + 10);
    });

    void it('filters logical rising and falling edges (after activeLow)', () => {
      h.drive(5, 1);
      h.drive(6, 1);
      const rising = collect(5, { edge: 'rising', activeLow: true });
      const falling = collect(6, { edge: 'falling', activeLow: true });
      for (const level of [0, 1, 0, 1] as Level[]) { h.drive(5, level); h.drive(6, level); }
      assert.deepEqual(rising.map((c) => c.value), [true, true]);
      assert.deepEqual(falling.map((c) => c.value), [false, false]);
    });

    void it('debounces: a level must hold for debounceMs, a bounce back is no event', () => {
      h.drive(5, 0);
      const seen = collect(5, { debounceMs: 50 });
      h.drive(5, 1); h.clock.advance(5); h.drive(5, 0); h.clock.advance(5); h.drive(5, 1);
      h.clock.advance(49);
      assert.equal(seen.length, 0, 'not yet stable');
      h.clock.advance(1);
      assert.deepEqual(seen.map((c) => c.value), [true]);
      h.drive(5, 0); h.clock.advance(10); h.drive(5, 1); h.clock.advance(100);
      assert.equal(seen.length, 1, 'a bounce that returns to the stable level is not an edge');
    });

    void it('stops events on unsubscribe and on close', () => {
      h.drive(5, 0);
      const input = h.backend.openInput(5);
      const seen: boolean[] = [];
      const stop = input.watch((c) => seen.push(c.value));
      h.drive(5, 1);
      stop();
      h.drive(5, 0);
      const again: boolean[] = [];
      input.watch((c) => again.push(c.value));
      input.close();
      h.drive(5, 1);
      assert.deepEqual(seen, [true]);
      assert.deepEqual(again, []);
    });

    void it('refuses a line opened twice, and allows it again after close', () => {
      const out = h.backend.openOutput(17);
      assert.throws(() => h.backend.openOutput(17), (e) => isGpioError(e, 'GPIO_LINE_BUSY'));
      assert.throws(() => h.backend.openInput(17), (e) => isGpioError(e, 'GPIO_LINE_BUSY'));
      out.close();
      h.backend.openOutput(17).set(true);
      assert.equal(h.electrical(17), 1);
    });

    void it('keeps an output at its level after close, and refuses writes to a closed line', () => {
      const out = h.backend.openOutput(17);
      out.set(true);
      out.close();
      assert.equal(h.electrical(17), 1, 'close must not drop a line back to its pull');
      assert.throws(() => out.set(false), (e) => isGpioError(e, 'GPIO_LINE_CLOSED'));
      const input = h.backend.openInput(5);
      input.close();
      assert.throws(() => input.read(), (e) => isGpioError(e, 'GPIO_LINE_CLOSED'));
    });

    void it('unexports an output on request', () => {
      const out = h.backend.openOutput(17);
      out.unexport();
      assert.throws(() => out.set(true), (e) => isGpioError(e, 'GPIO_LINE_CLOSED'));
      h.backend.openOutput(17, { initial: true });
      assert.equal(h.electrical(17), 1);
    });

    void it('rejects line numbers that are not non-negative integers', () => {
      for (const bad of [-1, 1.5, Number.NaN]) {
        assert.throws(() => h.backend.openOutput(bad), (e) => isGpioError(e, 'GPIO_LINE_INVALID'));
      }
    });

    void it('backend.close() closes every line, leaving no timers behind', () => {
      const out = h.backend.openOutput(17);
      h.drive(5, 0);
      const input = h.backend.openInput(5, { debounceMs: 20 });
      input.watch(() => assert.fail('no event after close'));
      h.drive(5, 1);
      h.backend.close();
      h.clock.advance(100);
      assert.equal(h.clock.pending(), 0);
      assert.throws(() => out.set(true), (e) => isGpioError(e, 'GPIO_LINE_CLOSED'));
      h.backend.openOutput(17); // free again
    });
  });
}
