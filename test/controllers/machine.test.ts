import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoUids, CARD, machineRig } from './rig.ts';

void describe('machine: card-present mode', () => {
  void it('relay on while the allowed card stays, off at card-removed; the session is logged', () => {
    const r = machineRig({ mode: 'card-present' });
    const t0 = r.clock.now();
    assert.equal(r.relay(), 0);
    r.put(CARD.alice);
    assert.equal(r.relay(), 1);
    r.clock.advance(3_600_000);
    assert.equal(r.relay(), 1, 'no timeout in card-present mode');
    r.remove(CARD.alice);
    assert.equal(r.relay(), 0);
    assert.deepEqual(r.sink.of('machine.session'), [{
      machine: 'lathe', member_id: 'm-alice', start: new Date(t0).toISOString(),
      end: new Date(t0 + 3_600_000).toISOString(), duration_ms: 3_600_000, mode: 'card-present',
      end_reason: 'card_removed', extensions: 0,
    }]);
    assertNoUids(r.sink.events);
  });

  void it('never enables the relay without an allow decision', () => {
    const r = machineRig({ mode: 'card-present' });
    r.put(CARD.bob);
    r.put(CARD.stranger);
    assert.equal(r.board.history(17).filter((w) => w.level === 1).length, 0);
    assert.deepEqual(r.sink.of('machine.access').map((e) => [e['allow'], e['reason']]),
      [[false, 'not_certified'], [false, 'unknown_card']]);
    assert.equal(r.sink.of('machine.session').length, 0);
  });

  void it('ignores the removal of some other card', () => {
    const r = machineRig({ mode: 'card-present' });
    r.put(CARD.alice);
    r.remove(CARD.bob);
    assert.equal(r.relay(), 1);
  });
});

void describe('machine: session mode', () => {
  void it('runs for session_ms with a warning warning_ms before the end', () => {
    const r = machineRig({ mode: 'session', session_ms: 300_000, warning_ms: 30_000 });
    r.tap(CARD.alice);
    assert.equal(r.relay(), 1);
    const beepsBefore = r.board.history(23).filter((w) => w.level === 1).length;
    r.clock.advance(269_699); // 300 ms of tap already elapsed: now at 269.999 s
    assert.equal(r.board.history(23).filter((w) => w.level === 1).length, beepsBefore, 'no warning yet');
    r.clock.advance(1);
    assert.ok(r.board.history(23).filter((w) => w.level === 1).length > beepsBefore, 'warning at 270 s');
    assert.equal(r.relay(), 1, 'still running during the warning');
    r.clock.advance(29_999);
    assert.equal(r.relay(), 1);
    r.clock.advance(1);
    assert.equal(r.relay(), 0);
    const s = r.sink.of('machine.session')[0]!;
    assert.deepEqual([s['end_reason'], s['duration_ms'], s['member_id']], ['timeout', 300_000, 'm-alice']);
  });

  void it('a tap by the holder extends the session to session_ms from now', () => {
    const r = machineRig({ mode: 'session', session_ms: 300_000 });
    r.tap(CARD.alice);
    r.clock.advance(199_700); // t = 200 s
    r.tap(CARD.alice); // extended at the badge (t = 200 s); the tap leaves t = 200.3 s
    r.clock.advance(299_699);
    assert.equal(r.relay(), 1);
    r.clock.advance(1);
    assert.equal(r.relay(), 0);
    const s = r.sink.of('machine.session')[0]!;
    assert.deepEqual([s['end_reason'], s['extensions'], s['duration_ms']], ['timeout', 1, 500_000]);
  });

  void it('badge-out: the holder badges again and keeps the card on the reader for badge_out_hold_ms', () => {
    const r = machineRig({ mode: 'session', badge_out_hold_ms: 2000 });
    r.tap(CARD.alice);
    r.clock.advance(60_000);
    r.put(CARD.alice);
    r.clock.advance(1999);
    assert.equal(r.relay(), 1);
    r.clock.advance(1);
    assert.equal(r.relay(), 0);
    r.remove(CARD.alice);
    const s = r.sink.of('machine.session');
    assert.equal(s.length, 1);
    assert.deepEqual([s[0]?.['end_reason'], s[0]?.['duration_ms']], ['badge_out', 62_300]);
  });

  void it('holding the card on the first badge does not end the session it starts', () => {
    const r = machineRig({ mode: 'session' });
    r.put(CARD.alice);
    r.clock.advance(10_000);
    assert.equal(r.relay(), 1);
  });

  void it('refuses another member during a session; the holder keeps the machine', () => {
    const r = machineRig({ mode: 'session' });
    r.tap(CARD.alice);
    r.tap(CARD.trainer);
    assert.equal(r.relay(), 1);
    assert.equal(r.machine.status().session?.member_id, 'm-alice');
    assert.deepEqual(r.sink.of('machine.access').at(-1)?.['reason'], 'in_use');
  });

  void it('leaves no timers behind once a session ends', () => {
    const r = machineRig({ mode: 'session', session_ms: 10_000, warning_ms: 5_000 });
    r.tap(CARD.alice);
    r.clock.advance(20_000);
    assert.equal(r.clock.pending(), 0);
  });
});

void describe('machine: relay safe at start, stop and faults', () => {
  void it('stop() ends and logs the session, relay off, no timers', () => {
    const r = machineRig({ mode: 'session' });
    r.tap(CARD.alice);
    r.clock.advance(1000);
    r.machine.stop();
    assert.equal(r.relay(), 0);
    assert.equal(r.sink.of('machine.session')[0]?.['end_reason'], 'stop');
    assert.equal(r.clock.pending(), 0);
  });

  void it('a reader fault ends the session (no card-removed will come), a ledger fault denies badges', () => {
    const r = machineRig({ mode: 'card-present' });
    r.put(CARD.alice);
    r.machine.onReaderFault('timeout');
    assert.equal(r.relay(), 0);
    assert.equal(r.sink.of('machine.session')[0]?.['end_reason'], 'reader_fault');
    r.machine.onReaderRecovered();
    r.machine.onLedgerFault();
    r.put(CARD.alice);
    assert.equal(r.relay(), 0);
    assert.equal(r.sink.of('machine.access').at(-1)?.['reason'], 'ledger_fault');
    assert.deepEqual(r.sink.of('machine.fault').map((e) => e['fault']), ['reader', 'ledger']);
  });

  void it('opens the relay de-energised first even if a crash left it on', () => {
    const r = machineRig({ mode: 'session' });
    assert.equal(r.board.history(17)[0]?.level, 0);
  });
});
