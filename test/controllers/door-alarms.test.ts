import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CARD, doorRig } from './rig.ts';

void describe('door: forced-open and held-open alarms', () => {
  void it('records forced-open when the door opens with no grant or REX, and its clearing', () => {
    const r = doorRig();
    r.clock.advance(60_000);
    r.openDoor();
    assert.equal(r.sink.of('door.forced_open').length, 1);
    assert.equal(r.door.status().alarms.forced_open, true);
    r.clock.advance(2000);
    r.closeDoor();
    const cleared = r.sink.of('door.alarm_cleared')[0]!;
    assert.deepEqual(cleared['alarms'], ['forced_open']);
    assert.equal(cleared['open_ms'], 2030);
    assert.equal(r.door.status().alarms.forced_open, false);
  });

  void it('accepts an opening within open_grace_ms after the pulse ended, not later', () => {
    const r = doorRig({ unlock_ms: 2000, open_grace_ms: 1000 });
    r.badge(CARD.alice);
    r.clock.advance(2500);
    r.openDoor(); // 2530 ms: 530 ms after relock
    assert.equal(r.sink.of('door.forced_open').length, 0);
    r.closeDoor();
    r.badge(CARD.alice);
    r.clock.advance(3500);
    r.openDoor(); // 1530 ms after relock
    assert.equal(r.sink.of('door.forced_open').length, 1);
  });

  void it('records held-open after held_open_ms, counted from the opening', () => {
    const r = doorRig({ held_open_ms: 10_000 });
    r.badge(CARD.alice);
    r.openDoor(); // accepted once stable for the 30 ms debounce
    r.clock.advance(9_999);
    assert.equal(r.sink.of('door.held_open').length, 0);
    r.clock.advance(1);
    const held = r.sink.of('door.held_open');
    assert.equal(held.length, 1);
    assert.equal(held[0]?.['open_ms'], 10_000);
    r.clock.advance(50_000);
    assert.equal(r.sink.of('door.held_open').length, 1, 'one alarm per opening');
    r.closeDoor();
    assert.deepEqual(r.sink.of('door.alarm_cleared')[0]?.['alarms'], ['held_open']);
  });

  void it('does not raise held-open for a door closed in time', () => {
    const r = doorRig({ held_open_ms: 10_000 });
    r.badge(CARD.alice);
    r.openDoor();
    r.clock.advance(5000);
    r.closeDoor();
    r.clock.advance(60_000);
    assert.equal(r.sink.of('door.held_open').length, 0);
    assert.equal(r.sink.of('door.alarm_cleared').length, 0);
  });

  void it('debounces the reed switch: chatter is one opening', () => {
    const r = doorRig();
    r.badge(CARD.alice);
    for (let i = 0; i < 5; i++) { r.board.drive(5, 1); r.clock.advance(3); r.board.drive(5, 0); r.clock.advance(3); }
    r.clock.advance(100);
    assert.equal(r.door.status().open, false);
    assert.equal(r.strike(), 1, 'chatter did not end the pulse');
  });
});

void describe('door: policy modes', () => {
  void it('lockdown denies every badge, even allowed ones, and records who tried', () => {
    const r = doorRig();
    r.policy.current = 'lockdown';
    r.clock.advance(1000);
    r.badge(CARD.alice);
    assert.equal(r.strike(), 0);
    const ev = r.sink.of('door.access')[0]!;
    assert.deepEqual([ev['allow'], ev['reason'], ev['member_id'], ev['mode']], [false, 'lockdown', 'm-alice', 'lockdown']);
    assert.deepEqual(r.sink.of('door.mode')[0], { door: 'front', mode: 'lockdown', previous: 'normal',
      at: new Date(r.clock.now() - 0).toISOString() });
  });

  void it('lockdown still lets people out through REX', () => {
    const r = doorRig();
    r.policy.current = 'lockdown';
    r.door.refreshPolicy();
    r.pressRex();
    assert.equal(r.strike(), 1);
  });

  void it('entering lockdown cuts a badge pulse short', () => {
    const r = doorRig();
    r.badge(CARD.alice);
    r.policy.current = 'lockdown';
    r.door.refreshPolicy();
    assert.equal(r.strike(), 0);
  });

  void it('held-unlocked holds the strike energised, suppresses held-open, and relocks when it ends', () => {
    const r = doorRig({ max_energised_ms: 3_600_000, held_open_ms: 5000 });
    r.policy.current = 'held-unlocked';
    r.clock.advance(1000);
    assert.equal(r.strike(), 1);
    assert.equal(r.door.status().unlocked, true);
    r.openDoor();
    r.clock.advance(600_000);
    assert.equal(r.strike(), 1, 'an opening does not end a held-unlocked period');
    assert.equal(r.sink.of('door.held_open').length, 0);
    assert.equal(r.sink.of('door.forced_open').length, 0);
    r.badge(CARD.alice);
    assert.equal(r.sink.of('door.access')[0]?.['allow'], true);
    r.policy.current = 'normal';
    r.door.refreshPolicy();
    assert.equal(r.strike(), 0);
    r.clock.advance(4999);
    assert.equal(r.sink.of('door.held_open').length, 0, 'counted from the end of the period');
    r.clock.advance(1);
    assert.equal(r.sink.of('door.held_open').length, 1);
  });

  void it('a failing policy keeps the last mode and is reported', () => {
    const r = doorRig();
    r.policy.current = 'lockdown';
    r.door.refreshPolicy();
    r.policy.fail = true;
    r.clock.advance(5000);
    assert.equal(r.door.status().mode, 'lockdown');
    assert.ok(r.errors.length >= 1);
  });
});
