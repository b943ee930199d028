// Bad input end to end, on fake time: the real poller and protocol core talk to the simulated PN532, the
// real door controller drives the fake GPIO board, and linkReaderFaults connects the two. A reader that
// babbles garbage for minutes, or vanishes, must leave the door locked and the fault visible in both the
// poller's status and the door's, and in the events the agent turns into ledger entries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../drivers/gpio/fake-clock.ts';
import { FakeGpioBackend } from '../../drivers/gpio/fake.ts';
import { parseDoorConfig } from '../../agent/controllers/door-config.ts';
import { DoorController } from '../../agent/controllers/door.ts';
import { linkReaderFaults } from '../../agent/controllers/reader-link.ts';
import { parseMachineConfig } from '../../agent/controllers/machine-config.ts';
import { MachineController } from '../../agent/controllers/machine.ts';
import { fakeTimeRig, runFor, runUntil } from '../drivers/pn532/fake-time.ts';
import { assertNoUids, CARD, DECISIONS, DOOR_PINS, MACHINE_PINS, RecordingSink } from './rig.ts';

function site(failMode: 'fail-secure' | 'fail-safe') {
  const clock = new FakeClock();
  const reader = fakeTimeRig({}, {}, clock);
  const gpio = new FakeGpioBackend({ clock });
  gpio.board.drive(5, 0); // door closed
  gpio.board.drive(6, 1); // REX released
  const sink = new RecordingSink();
  const door = new DoorController({
    config: parseDoorConfig({ id: 'front', fail_mode: failMode, unlock_ms: 3_000, pins: DOOR_PINS }),
    gpio, sink, clock, cards: reader.poller,
    decider: { decide: (req) => DECISIONS[req.credential.toString('hex')] ?? { allow: false, reason: 'unknown_card' } },
    policy: { mode: () => 'normal' },
  });
  door.start();
  const unlink = linkReaderFaults(reader.poller, [door]);
  /** Electrical level of the strike line; locked is 0 for a strike, 1 for a maglock. */
  const strike = (): number => gpio.board.level(17);
  const locked = failMode === 'fail-secure' ? 0 : 1;
  const badge = async (): Promise<void> => {
    const grants = sink.of('door.access').length;
    reader.sim.present({ uid: CARD.alice });
    await runUntil(clock, () => sink.of('door.access').length > grants, 'access decision');
    reader.sim.remove();
    await runFor(clock, 3_100);
  };
  const stop = async (): Promise<void> => {
    unlink();
    door.stop();
    await reader.stop();
  };
  return { clock, reader, gpio, sink, door, strike, locked, badge, stop };
}

for (const mode of ['fail-secure', 'fail-safe'] as const) {
  void describe(`a failing reader leaves the ${mode} door locked and the fault visible`, () => {
    void it('garbage for five minutes: locked throughout, fault in both statuses, recovery when it stops', async () => {
      const s = site(mode);
      try {
        s.reader.poller.start();
        await runUntil(s.clock, () => s.reader.poller.status().state === 'ready', 'reader ready');
        await s.badge();
        assert.equal(s.sink.of('door.access').at(-1)?.['allow'], true, 'the reader works before the fault');
        assert.equal(s.strike(), s.locked);
        const jamAt = s.clock.now();
        s.gpio.board.clearHistory();
        s.reader.sim.present({ uid: CARD.alice }); // a card held to a babbling reader must not open the door
        s.reader.sim.jam({ everyMs: 10, chunk: 32, seed: 42 });
        await runFor(s.clock, 5 * 60_000);
        assert.deepEqual(s.gpio.board.history(17).filter((w) => w.level !== s.locked), [], 'never unlocked');
        assert.equal(s.strike(), s.locked);
        assert.equal(s.sink.of('door.access').length, 1, 'no badge decision during the noise');
        const door = s.door.status();
        assert.deepEqual(door.faults, ['reader']);
        assert.equal(door.unlocked, false);
        assert.match(door.fault_detail.reader ?? '', /^fault: PN532_TIMEOUT: .*no ACK/);
        const reader = s.reader.poller.status();
        assert.equal(reader.state, 'fault');
        assert.ok(reader.since - jamAt < 2_000, 'the fault was raised within seconds');
        assert.ok(reader.counters.garbageBytes > 500_000);
        const faults = s.sink.of('door.fault');
        assert.equal(faults.length, 1, 'one fault event, not one per retry');
        assert.equal(faults[0]?.['fault'], 'reader');
        // REX still lets people out while the reader is broken.
        s.gpio.board.drive(6, 0);
        await runFor(s.clock, 40);
        assert.notEqual(s.strike(), s.locked, 'REX unlocks during a reader fault');
        s.gpio.board.drive(6, 1);
        await runFor(s.clock, 10_000);
        s.reader.sim.unjam();
        s.reader.sim.remove();
        await runUntil(s.clock, () => s.door.status().faults.length === 0, 'fault cleared');
        assert.equal(s.sink.of('door.fault_cleared').length, 1);
        await s.badge();
        assert.equal(s.sink.of('door.access').at(-1)?.['allow'], true, 'badges work again');
        assertNoUids(s.sink.events);
      } finally {
        await s.stop();
      }
    });

    void it('the reader vanishes for three minutes: locked, disconnected in status, reconnects when it returns', async () => {
      const s = site(mode);
      try {
        s.reader.poller.start();
        await runUntil(s.clock, () => s.reader.poller.status().state === 'ready', 'reader ready');
        s.gpio.board.clearHistory();
        s.reader.transport.unplug();
        await runFor(s.clock, 3 * 60_000);
        assert.deepEqual(s.gpio.board.history(17).filter((w) => w.level !== s.locked), []);
        assert.deepEqual(s.door.status().faults, ['reader']);
        assert.match(s.door.status().fault_detail.reader ?? '', /^disconnected: PN532_DISCONNECTED/);
        const reader = s.reader.poller.status();
        assert.equal(reader.state, 'disconnected');
        assert.equal(reader.lastError?.code, 'PN532_PORT');
        // Backoff capped at 1.6 s: about 110 attempts in 3 minutes, not thousands.
        assert.ok(reader.counters.openFailures > 100 && reader.counters.openFailures < 125, `${reader.counters.openFailures} attempts`);
        s.reader.transport.replug();
        await runUntil(s.clock, () => s.door.status().faults.length === 0, 'fault cleared');
        await s.badge();
        assert.equal(s.sink.of('door.access').at(-1)?.['allow'], true);
      } finally {
        await s.stop();
      }
    });
  });
}

void describe('a failing reader ends a card-present machine session', () => {
  void it('the relay drops when the reader babbles, even though no card-removed can be read', async () => {
    const clock = new FakeClock();
    const reader = fakeTimeRig({}, {}, clock);
    const gpio = new FakeGpioBackend({ clock });
    gpio.board.drive(6, 1);
    const sink = new RecordingSink();
    const machine = new MachineController({
      config: parseMachineConfig({ id: 'lathe', mode: 'card-present', pins: MACHINE_PINS }),
      gpio, sink, clock, cards: reader.poller,
      decider: { decide: (req) => DECISIONS[req.credential.toString('hex')] ?? { allow: false, reason: 'unknown_card' } },
    });
    machine.start();
    const unlink = linkReaderFaults(reader.poller, [machine]);
    try {
      reader.poller.start();
      await runUntil(clock, () => reader.poller.status().state === 'ready', 'ready');
      reader.sim.present({ uid: CARD.alice });
      await runUntil(clock, () => gpio.board.level(17) === 1, 'relay on');
      reader.sim.jam();
      await runUntil(clock, () => gpio.board.level(17) === 0, 'relay off');
      const session = sink.of('machine.session')[0];
      assert.ok(session && ['card_removed', 'reader_fault'].includes(session['end_reason'] as string));
      assert.deepEqual(machine.status().faults, ['reader']);
      await runFor(clock, 60_000);
      assert.equal(gpio.board.level(17), 0);
    } finally {
      unlink();
      machine.stop();
      await reader.stop();
    }
  });
});
