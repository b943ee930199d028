// Test rig: a door or machine controller on the fake GPIO backend with fake time, a recording sink, a
// scripted decider and policy, and a plain EventEmitter as the card source.
import { EventEmitter } from 'node:events';
import { FakeClock } from '../../drivers/gpio/fake-clock.ts';
import { FakeGpioBackend } from '../../drivers/gpio/fake.ts';
import type { CertificationVerdict, Decision, DoorMode, EventSink } from '../../agent/controllers/types.ts';
import { parseDoorConfig } from '../../agent/controllers/door-config.ts';
import { parseMachineConfig } from '../../agent/controllers/machine-config.ts';
import { DoorController } from '../../agent/controllers/door.ts';
import { MachineController } from '../../agent/controllers/machine.ts';

export const CARD = {
  alice: Buffer.from('04a31261ee0280', 'hex'),
  bob: Buffer.from('04b0b0b0b0b0b0', 'hex'),
  trainer: Buffer.from('04c0ffee000001', 'hex'),
  maint: Buffer.from('04dddddddddd01', 'hex'),
  stranger: Buffer.from('deadbeef', 'hex'),
};

/** Who each card belongs to and what the ledger would say. */
export const DECISIONS: Record<string, Decision> = {
  [CARD.alice.toString('hex')]: { allow: true, reason: 'member', rule: 'r1', memberId: 'm-alice', roles: [] },
  [CARD.bob.toString('hex')]: { allow: false, reason: 'not_certified', memberId: 'm-bob', roles: [] },
  [CARD.trainer.toString('hex')]: { allow: true, reason: 'member', memberId: 'm-tina', roles: ['trainer'] },
  [CARD.maint.toString('hex')]: { allow: true, reason: 'member', memberId: 'm-max', roles: ['maintainer'] },
};

export class RecordingSink implements EventSink {
  events: { kind: string; body: Record<string, unknown> }[] = [];
  record(kind: string, body: Record<string, unknown>): void {
    this.events.push({ kind, body });
  }
  of(kind: string): Record<string, unknown>[] {
    return this.events.filter((e) => e.kind === kind).map((e) => e.body);
  }
}

function common() {
  const clock = new FakeClock();
  const gpio = new FakeGpioBackend({ clock });
  const sink = new RecordingSink();
  const cards = new EventEmitter();
  const errors: unknown[] = [];
  const decider = {
    calls: 0,
    decide(req: { credential: Buffer }): Decision {
      this.calls += 1;
      return DECISIONS[req.credential.toString('hex')] ?? { allow: false, reason: 'unknown_card' };
    },
    /** Members the ledger would not certify, with the reason (the real check: test/controllers/machine-certify.test.ts). */
    refuse: new Map<string, string>(),
    checkCertification(req: { memberId: string }): CertificationVerdict {
      const reason = this.refuse.get(req.memberId);
      return reason === undefined ? { ok: true } : { ok: false, reason, detail: `scripted: ${reason}` };
    },
  };
  return { clock, gpio, board: gpio.board, sink, cards, errors, decider };
}

/** Door wiring of docs/wiring.md: strike 17, switch 5, REX 6 (active low), LED 22, buzzer 23. */
export const DOOR_PINS = {
  strike: { line: 17 },
  door_switch: { line: 5, debounce_ms: 30 },
  rex: { line: 6, active_low: true, debounce_ms: 30 },
  led: { line: 22 },
  buzzer: { line: 23 },
};

export function doorRig(overrides: Record<string, unknown> = {}, start = true) {
  const c = common();
  const policy = { current: 'normal' as DoorMode, fail: false, mode(): DoorMode {
    if (this.fail) throw new Error('policy store unavailable');
    return this.current;
  } };
  c.board.drive(5, 0); // door closed
  c.board.drive(6, 1); // REX released (pulled up)
  const config = parseDoorConfig({ id: 'front', pins: DOOR_PINS, ...overrides });
  const door = new DoorController({
    config, gpio: c.gpio, decider: c.decider, sink: c.sink, policy, cards: c.cards, clock: c.clock,
    onError: (e) => c.errors.push(e),
  });
  if (start) door.start();
  const rig = {
    ...c, config, door, policy,
    strike: () => c.board.level(17),
    badge: (card: Buffer) => { c.cards.emit('card', { uid: card }); c.cards.emit('card-removed', { uid: card }); },
    openDoor: () => { c.board.drive(5, 1); c.clock.advance(30); },
    closeDoor: () => { c.board.drive(5, 0); c.clock.advance(30); },
    pressRex: () => { c.board.drive(6, 0); c.clock.advance(30); c.board.drive(6, 1); c.clock.advance(30); },
  };
  return rig;
}

export const MACHINE_PINS = { relay: { line: 17 }, led: { line: 22 }, buzzer: { line: 23 },
  button: { line: 6, active_low: true, debounce_ms: 30 } };

export function machineRig(overrides: Record<string, unknown> = {}) {
  const c = common();
  c.board.drive(6, 1); // button released
  const config = parseMachineConfig({ id: 'lathe', pins: MACHINE_PINS, ...overrides });
  const machine = new MachineController({
    config, gpio: c.gpio, decider: c.decider, sink: c.sink, cards: c.cards, clock: c.clock,
    onError: (e) => c.errors.push(e),
  });
  machine.start();
  return {
    ...c, config, machine,
    relay: () => c.board.level(17),
    put: (card: Buffer) => c.cards.emit('card', { uid: card }),
    remove: (card: Buffer) => c.cards.emit('card-removed', { uid: card }),
    tap: (card: Buffer) => { c.cards.emit('card', { uid: card }); c.clock.advance(300); c.cards.emit('card-removed', { uid: card }); },
    press: (down: boolean) => { c.board.drive(6, down ? 0 : 1); c.clock.advance(30); },
  };
}

/** No event body may carry a badge UID, in any encoding. */
export function assertNoUids(events: { body: Record<string, unknown> }[]): void {
  const text = JSON.stringify(events).toLowerCase();
  for (const uid of Object.values(CARD)) {
    for (const enc of [uid.toString('hex'), uid.toString('base64'), JSON.stringify([...uid])]) {
      if (text.includes(enc.toLowerCase())) throw new Error(`an event carries a badge UID (${enc})`);
    }
  }
}
