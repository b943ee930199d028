import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CARD, doorRig } from './rig.ts';

void describe('door: fail-secure vs fail-safe', () => {
  void it('fail-secure: de-energised at rest (locked), energised to unlock', () => {
    const r = doorRig({ fail_mode: 'fail-secure' });
    assert.equal(r.strike(), 0);
    assert.equal(r.door.status().unlocked, false);
    r.badge(CARD.alice);
    assert.equal(r.strike(), 1);
  });

  void it('fail-safe maglock: opened safe (released), then energised to lock; an unlock de-energises', () => {
    const r = doorRig({ fail_mode: 'fail-safe', unlock_ms: 3000 });
    assert.deepEqual(r.board.history(17).map((w) => w.level).slice(0, 2), [0, 1], 'safe first, then locked');
    assert.equal(r.door.status().unlocked, false);
    r.badge(CARD.alice);
    assert.equal(r.strike(), 0);
    assert.equal(r.door.status().unlocked, true);
    r.clock.advance(3000);
    assert.equal(r.strike(), 1);
    r.clock.advance(3_600_000);
    assert.equal(r.strike(), 1, 'no energised cap on a maglock: it is energised whenever locked');
    assert.equal(r.sink.of('door.fault').length, 0);
  });

  void it('fail-safe: a reader or ledger fault keeps the maglock locked (energised); only stop releases it', () => {
    const r = doorRig({ fail_mode: 'fail-safe' });
    r.badge(CARD.alice);
    assert.equal(r.strike(), 0, 'released for the grant');
    r.door.onReaderFault('reader cable cut');
    assert.equal(r.strike(), 1, 'the grant pulse ends: cutting the reader must not release the door');
    r.clock.advance(60_000);
    assert.equal(r.strike(), 1);
    r.pressRex();
    assert.equal(r.strike(), 0, 'REX still releases it, for egress');
    r.clock.advance(10_000);
    r.door.onLedgerFault('disk full');
    assert.equal(r.strike(), 1);
    assert.deepEqual(r.door.status().fault_detail, { reader: 'reader cable cut', ledger: 'disk full' });
    r.door.onReaderRecovered();
    r.door.onLedgerRecovered();
    assert.equal(r.strike(), 1);
    r.door.stop();
    assert.equal(r.strike(), 0, 'the process going away releases it, as a power cut would');
  });

  void it('honours active-low strike wiring: safe is electrical high', () => {
    const r = doorRig({ pins: { strike: { line: 17, active_low: true } } });
    assert.equal(r.strike(), 1);
    r.badge(CARD.alice);
    assert.equal(r.strike(), 0);
    r.door.stop();
    assert.equal(r.strike(), 1);
  });
});

void describe('door: outputs safe at start, stop and faults', () => {
  void it('at start, before anything else: a strike left energised by a crash is de-energised first', () => {
    const r = doorRig({}, false);
    r.board.write(17, 1, 'crashed'); // the previous process died mid-pulse
    r.board.write(23, 1, 'crashed');
    r.board.clearHistory();
    r.door.start();
    const first = r.board.history()[0];
    assert.deepEqual([first?.line, first?.level], [17, 0], 'the strike is the first line written');
    assert.equal(r.board.level(23), 0);
  });

  void it('on stop(): mid-pulse strike, LED and buzzer off, lines released, no timers left', () => {
    const r = doorRig();
    r.badge(CARD.alice);
    r.door.stop();
    assert.deepEqual([r.board.level(17), r.board.level(22), r.board.level(23)], [0, 0, 0]);
    assert.equal(r.clock.pending(), 0);
    assert.equal(r.door.status().started, false);
    r.badge(CARD.alice);
    assert.equal(r.strike(), 0, 'no reaction after stop');
    r.gpio.openOutput(17).close(); // the line was released
  });

  void it('on a reader fault: ends the pulse, records it, REX still works; recovery is recorded', () => {
    const r = doorRig();
    r.badge(CARD.alice);
    r.door.onReaderFault('no ACK');
    assert.equal(r.strike(), 0);
    assert.deepEqual([r.board.level(22), r.board.level(23)], [0, 0], 'feedback cut short');
    assert.deepEqual(r.sink.of('door.fault').map((e) => [e['fault'], e['detail']]), [['reader', 'no ACK']]);
    r.pressRex();
    assert.equal(r.strike(), 1, 'egress never depends on the reader');
    r.door.onReaderRecovered();
    assert.equal(r.sink.of('door.fault_cleared').length, 1);
  });

  void it('on a ledger fault: safe, and badges are denied without asking the decider', () => {
    const r = doorRig();
    r.badge(CARD.alice);
    r.door.onLedgerFault('sqlite corrupt');
    assert.equal(r.strike(), 0);
    const calls = r.decider.calls;
    r.badge(CARD.alice);
    assert.equal(r.decider.calls, calls);
    assert.equal(r.strike(), 0);
    assert.equal(r.sink.of('door.access').at(-1)?.['reason'], 'ledger_fault');
    r.door.onLedgerRecovered();
    r.badge(CARD.alice);
    assert.equal(r.strike(), 1);
  });

  void it('a REX pulse already running is not cut by a reader fault (egress)', () => {
    const r = doorRig({ rex_unlock_ms: 5000 });
    r.board.drive(6, 0);
    r.clock.advance(30);
    r.door.onReaderFault('timeout');
    assert.equal(r.strike(), 1);
    r.clock.advance(5000);
    assert.equal(r.strike(), 0);
  });

  void it('a throwing event sink is a ledger fault: the grant is not given, nothing throws, REX still works', () => {
    const r = doorRig();
    let failing = true;
    const record = r.sink.record.bind(r.sink);
    r.sink.record = (kind, body) => {
      if (failing) throw new Error('SQLITE_FULL: database or disk is full');
      record(kind, body);
    };
    assert.doesNotThrow(() => r.badge(CARD.alice));
    assert.equal(r.strike(), 0);
    assert.deepEqual(r.door.status().faults, ['ledger']);
    assert.match(r.door.status().fault_detail.ledger ?? '', /event sink failed: SQLITE_FULL/);
    assert.equal(r.errors.length, 1);
    r.pressRex();
    assert.equal(r.strike(), 1, 'egress does not depend on the ledger');
    r.clock.advance(10_000);
    r.clock.advance(60_000);
    r.openDoor(); // a forced-open alarm whose record fails must not throw out of the GPIO callback
    r.closeDoor();
    failing = false;
    r.door.onLedgerRecovered();
    r.badge(CARD.alice);
    assert.equal(r.strike(), 1);
    assert.deepEqual(r.sink.events.map((e) => e.kind), ['door.fault_cleared', 'door.access']);
  });

  void it('a failing strike write is reported, not thrown at the card reader', () => {
    const r = doorRig();
    r.board.failWrites(17);
    r.badge(CARD.alice);
    assert.equal(r.errors.length, 1);
    assert.equal(r.sink.of('door.access').length, 1);
  });
});

void describe('door config', () => {
  void it('accepts a strike pulse of 500 to 10,000 ms, and nothing outside', () => {
    for (const ms of [500, 10_000]) {
      const r = doorRig({ unlock_ms: ms });
      r.badge(CARD.alice);
      r.clock.advance(ms - 1);
      assert.equal(r.strike(), 1);
      r.clock.advance(1);
      assert.equal(r.strike(), 0, `${ms} ms pulse`);
    }
    for (const ms of [499, 10_001, 1500.5]) {
      assert.throws(() => doorRig({ unlock_ms: ms }), { key: 'door.front.unlock_ms', message: new RegExp(`500..10000, got ${ms}`) });
      assert.throws(() => doorRig({ rex_unlock_ms: ms }), { key: 'door.front.rex_unlock_ms' });
    }
  });

  void it('names the key and the range', () => {
    assert.throws(() => doorRig({ unlock_ms: 60_000 }), {
      name: 'ControllerConfigError', code: 'CONFIG_INVALID', key: 'door.front.unlock_ms',
      message: "door 'front': unlock_ms must be 500..10000, got 60000",
    });
    assert.throws(() => doorRig({ fail_mode: 'maybe' }), { message: "door 'front': fail_mode must be one of fail-secure, fail-safe, got 'maybe'" });
    assert.throws(() => doorRig({ pins: { strike: { line: 5 }, door_switch: { line: 5 } } }),
      { key: 'door.front.pins.door_switch.line' });
    assert.throws(() => doorRig({ pins: {} }), { message: "door 'front': pins.strike must be a pin block { line, active_low? }, got nothing" });
  });
});
