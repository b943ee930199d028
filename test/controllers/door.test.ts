import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoUids, CARD, doorRig } from './rig.ts';

void describe('door: grants and the strike pulse', () => {
  void it('energises the strike for unlock_ms after a grant, then relocks', () => {
    const r = doorRig({ unlock_ms: 4000 });
    const t0 = r.clock.now();
    r.badge(CARD.alice);
    assert.equal(r.strike(), 1);
    r.clock.advance(3999);
    assert.equal(r.strike(), 1);
    r.clock.advance(1);
    assert.equal(r.strike(), 0);
    const writes = r.board.history(17).map((w) => [w.level, w.at - t0]);
    assert.deepEqual(writes[0], [0, 0], 'the first write is the safe level');
    assert.deepEqual(writes.filter((w, i) => i === 0 || w[0] !== writes[i - 1]![0]), [[0, 0], [1, 0], [0, 4000]]);
    assert.deepEqual(r.sink.of('door.access'), [{
      door: 'front', resource: 'door:front', allow: true, reason: 'member', rule: 'r1', member_id: 'm-alice',
      mode: 'normal', at: new Date(t0).toISOString(),
    }]);
    assertNoUids(r.sink.events);
  });

  void it('ends the pulse early when the door opens, without a forced-open alarm', () => {
    const r = doorRig();
    r.badge(CARD.alice);
    r.clock.advance(1000);
    r.openDoor();
    assert.equal(r.strike(), 0, 'relocked as soon as the switch reports open');
    assert.equal(r.door.status().open, true);
    assert.deepEqual(r.sink.of('door.forced_open'), []);
  });

  void it('denies unknown and refused cards: no energising, denied pattern, event without uid', () => {
    const r = doorRig();
    r.badge(CARD.stranger);
    r.badge(CARD.bob);
    r.clock.advance(5000);
    assert.equal(r.board.history(17).filter((w) => w.level === 1).length, 0);
    assert.deepEqual(r.sink.of('door.access').map((e) => [e['allow'], e['reason'], e['member_id']]),
      [[false, 'unknown_card', undefined], [false, 'not_certified', 'm-bob']]);
    assert.ok(r.board.history(23).filter((w) => w.level === 1).length >= 3, 'buzzer beeps the denial');
    assert.equal(r.board.level(22), 0, 'LED off after the pattern');
    assertNoUids(r.sink.events);
  });

  void it('plays the granted pattern on LED and buzzer', () => {
    const r = doorRig();
    r.badge(CARD.alice);
    assert.equal(r.board.level(22), 1);
    assert.equal(r.board.level(23), 1);
    r.clock.advance(1000);
    assert.equal(r.board.level(22), 0);
    assert.equal(r.board.level(23), 0);
  });

  void it('a decider that throws is a denial, reported through onError', () => {
    const r = doorRig();
    r.decider.decide = () => { throw new Error('sqlite busy'); };
    r.badge(CARD.alice);
    assert.equal(r.strike(), 0);
    assert.equal(r.sink.of('door.access')[0]?.['reason'], 'decider_error');
    assert.equal(r.errors.length, 1);
  });
});

void describe('door: hard maximum energised time', () => {
  void it('cuts the strike at max_energised_ms however many grants keep extending the pulse', () => {
    const r = doorRig({ unlock_ms: 5000, max_energised_ms: 12_000 });
    const t0 = r.clock.now();
    for (let i = 0; i < 5; i++) { r.badge(CARD.alice); r.clock.advance(4000); }
    const on = r.board.history(17).find((w) => w.level === 1)!;
    const off = r.board.history(17).find((w) => w.level === 0 && w.at > on.at)!;
    assert.equal(off.at - on.at, 12_000);
    assert.equal(on.at, t0);
    const fault = r.sink.of('door.fault')[0]!;
    assert.equal(fault['fault'], 'max_energised');
    assert.equal(fault['energised_ms'], 12_000);
  });

  void it('also caps a held-unlocked period, and stays locked until the period ends', () => {
    const r = doorRig({ max_energised_ms: 20_000 });
    r.policy.current = 'held-unlocked';
    r.clock.advance(1000); // next policy poll
    assert.equal(r.strike(), 1);
    r.clock.advance(20_000);
    assert.equal(r.strike(), 0);
    r.clock.advance(60_000);
    assert.equal(r.strike(), 0, 'no re-energising within the same period');
    assert.equal(r.sink.of('door.fault').length, 1);
    r.policy.current = 'normal';
    r.clock.advance(1000);
    r.policy.current = 'held-unlocked';
    r.clock.advance(1000);
    assert.equal(r.strike(), 1, 'a new period starts a new energised stretch');
  });

  void it('rejects a cap shorter than the pulse', () => {
    assert.throws(() => doorRig({ unlock_ms: 8000, max_energised_ms: 5000 }),
      { code: 'CONFIG_INVALID', key: 'door.front.max_energised_ms',
        message: "door 'front': max_energised_ms must be 8000..86400000, got 5000" });
  });
});

void describe('door: request to exit', () => {
  void it('unlocks for rex_unlock_ms with no alarm when the door then opens', () => {
    const r = doorRig({ rex_unlock_ms: 3000 });
    r.pressRex();
    assert.equal(r.strike(), 1);
    assert.equal(r.sink.of('door.rex').length, 1);
    r.openDoor();
    assert.equal(r.strike(), 0);
    r.closeDoor();
    assert.deepEqual(r.sink.of('door.forced_open'), []);
  });

  void it('ignores the button release and a bounce shorter than the debounce', () => {
    const r = doorRig();
    r.board.drive(6, 0); r.clock.advance(5); r.board.drive(6, 1); r.clock.advance(100);
    assert.equal(r.strike(), 0);
    assert.equal(r.sink.of('door.rex').length, 0);
  });
});
