import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoUids, CARD, machineRig } from './rig.ts';

void describe('machine: trainer certifies at the machine', () => {
  void it('records a certification when a member badges within the window after a trainer', () => {
    const r = machineRig({ mode: 'session', certify_window_ms: 60_000 });
    r.tap(CARD.trainer);
    assert.equal(r.relay(), 1, "the trainer's own session runs as usual");
    r.clock.advance(59_000);
    r.tap(CARD.bob);
    assert.deepEqual(r.sink.of('machine.certification'), [{
      machine: 'lathe', resource: 'machine:lathe', trainer_id: 'm-tina', member_id: 'm-bob',
      at: new Date(r.clock.now() - 300).toISOString(),
    }]);
    assert.equal(r.machine.status().trainer_window, false, 'one certification per window');
    assertNoUids(r.sink.events);
  });

  void it('does not certify after the window has closed', () => {
    const r = machineRig({ mode: 'card-present', certify_window_ms: 60_000 });
    r.tap(CARD.trainer);
    r.clock.advance(60_000);
    r.tap(CARD.bob);
    assert.equal(r.sink.of('machine.certification').length, 0);
    assert.equal(r.sink.of('machine.access').at(-1)?.['reason'], 'not_certified');
    assert.equal(r.relay(), 0);
  });

  void it('an unknown card does not use up the window', () => {
    const r = machineRig({ mode: 'card-present' });
    r.tap(CARD.trainer);
    r.tap(CARD.stranger);
    r.tap(CARD.bob);
    assert.equal(r.sink.of('machine.certification')[0]?.['member_id'], 'm-bob');
  });

  void it('a trainee the ledger would refuse is not certified: denied pattern, the reason reported and in status', () => {
    const r = machineRig({ mode: 'card-present' });
    r.decider.refuse.set('m-bob', 'member_suspended');
    r.tap(CARD.trainer);
    r.board.clearHistory();
    r.tap(CARD.bob);
    r.clock.advance(2000);
    assert.equal(r.board.history(22).filter((w) => w.level === 1).length, 3, 'denied: three blinks');
    assert.equal(r.sink.of('machine.certification').length, 0);
    assert.deepEqual(r.sink.of('machine.certification_refused').map((b) => [b['trainer_id'], b['member_id'], b['reason']]), [['m-tina', 'm-bob', 'member_suspended']]);
    assert.equal(r.machine.status().last_certification?.reason, 'member_suspended');
    assert.equal(r.machine.status().trainer_window, false);
    assertNoUids(r.sink.events);
  });

  void it('a member without the trainer role opens no window', () => {
    const r = machineRig({ mode: 'card-present' });
    r.tap(CARD.alice);
    r.tap(CARD.bob);
    assert.equal(r.sink.of('machine.certification').length, 0);
  });
});

void describe('machine: maintainer out-of-service toggle', () => {
  void it('button held + maintainer badge toggles out of service; members are refused meanwhile', () => {
    const r = machineRig({ mode: 'session' });
    r.tap(CARD.alice);
    r.press(true);
    r.tap(CARD.maint);
    r.press(false);
    assert.equal(r.relay(), 0, 'going out of service ends the running session');
    assert.equal(r.sink.of('machine.session')[0]?.['end_reason'], 'out_of_service');
    assert.deepEqual(r.sink.of('machine.out_of_service'), [{ machine: 'lathe', member_id: 'm-max',
      at: new Date(r.clock.now() - 330).toISOString() }]);
    r.tap(CARD.alice);
    assert.equal(r.relay(), 0);
    assert.equal(r.sink.of('machine.access').at(-1)?.['reason'], 'out_of_service');
    r.tap(CARD.maint);
    assert.equal(r.relay(), 1, 'a maintainer may run it to test a repair');
    r.machine.stop();
    r.machine.start();
    r.press(true);
    r.tap(CARD.maint);
    assert.equal(r.sink.of('machine.in_service').length, 1);
    assert.equal(r.machine.status().out_of_service, false);
  });

  void it("toggles relative to the ledger's state, and falls back to it when the gesture's event never lands", () => {
    const r = machineRig({ mode: 'session' });
    const ledger = { out: true, reason: 'belt worn', by: 'Ada', since: '2025-01-06T08:00:00.000Z' };
    Object.assign(r.decider, { machineState: () => ({ ...ledger }) });
    assert.equal(r.machine.status().out_of_service, true, 'out, as the ledger says, before any gesture');
    assert.deepEqual(r.machine.status().out_of_service_detail, { reason: 'belt worn', by: 'Ada', since: '2025-01-06T08:00:00.000Z' });
    r.tap(CARD.alice);
    assert.equal(r.relay(), 0, 'members are refused');
    r.press(true);
    r.tap(CARD.maint);
    r.press(false);
    assert.equal(r.sink.of('machine.in_service').length, 1, 'the first gesture puts it back');
    assert.equal(r.sink.of('machine.out_of_service').length, 0);
    assert.equal(r.machine.status().out_of_service, false, "the gesture's result stands until the ledger has it");
    r.clock.advance(10_000);
    assert.equal(r.machine.status().out_of_service, true, 'never recorded: the ledger is right');
    ledger.out = false;
    assert.equal(r.machine.status().out_of_service, false);
    assert.equal(r.machine.status().out_of_service_detail, undefined);
  });

  void it("a tag-out from elsewhere ends a member's running session; a maintainer's runs on", () => {
    const r = machineRig({ mode: 'session' });
    const ledger = { out: false, reason: null as string | null, by: null as string | null, since: null as string | null };
    Object.assign(r.decider, { machineState: () => ({ ...ledger }) });
    r.tap(CARD.alice);
    assert.equal(r.relay(), 1);
    r.clock.advance(5_000);
    assert.equal(r.relay(), 1, 'in service: the session runs');
    Object.assign(ledger, { out: true, reason: 'fire in the extraction', by: 'Ada', since: new Date(r.clock.now()).toISOString() });
    r.clock.advance(1_000);
    assert.equal(r.relay(), 0, 'the office tagged it out: relay off within a second');
    assert.equal(r.sink.of('machine.session').at(-1)?.['end_reason'], 'out_of_service');
    r.tap(CARD.maint);
    assert.equal(r.relay(), 1, 'a maintainer may run it out of service');
    r.clock.advance(10_000);
    assert.equal(r.relay(), 1, "the maintainer's session is not ended by the tag-out");
  });

  void it('the button alone, or a non-maintainer with the button, toggles nothing', () => {
    const r = machineRig({ mode: 'session' });
    r.press(true);
    r.tap(CARD.alice);
    assert.equal(r.machine.status().out_of_service, false);
    assert.equal(r.relay(), 1);
  });
});

void describe('machine: a failing event sink', () => {
  void it('refuses a session that cannot be logged, drops a running one, and never throws', () => {
    const r = machineRig({ mode: 'session' });
    r.tap(CARD.alice);
    assert.equal(r.relay(), 1);
    const record = r.sink.record.bind(r.sink);
    let failing = true;
    r.sink.record = (kind, body) => {
      if (failing) throw new Error('SQLITE_IOERR');
      record(kind, body);
    };
    r.clock.advance(300_000); // the session times out; its record fails
    assert.equal(r.relay(), 0);
    assert.deepEqual(r.machine.status().faults, ['ledger']);
    assert.doesNotThrow(() => r.tap(CARD.alice));
    assert.equal(r.relay(), 0, 'no session that billing would never see');
    failing = false;
    r.machine.onLedgerRecovered();
    r.tap(CARD.alice);
    assert.equal(r.relay(), 1);
  });

  void it('a certification that cannot be recorded plays the denied pattern', () => {
    const r = machineRig({ mode: 'card-present' });
    r.tap(CARD.trainer);
    r.sink.record = () => { throw new Error('SQLITE_BUSY'); };
    r.board.clearHistory();
    r.tap(CARD.bob);
    r.clock.advance(2000);
    assert.equal(r.board.history(23).filter((w) => w.level === 1).length, 3, 'denied: three beeps');
    assert.equal(r.machine.status().trainer_window, false);
  });
});

void describe('machine config', () => {
  void it('names the key and the range', () => {
    assert.throws(() => machineRig({ session_ms: 60_000, warning_ms: 40_000 }), {
      key: 'machine.lathe.warning_ms', message: "machine 'lathe': warning_ms must be 0..30000, got 40000",
    });
    assert.throws(() => machineRig({ mode: 'forever' }), { code: 'CONFIG_INVALID', key: 'machine.lathe.mode' });
  });
});
