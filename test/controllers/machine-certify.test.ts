// Certifying at the machine, against a real ledger: the machine controller on fake GPIO, the node's
// AccessService and certification check (agent/access/certify-check.ts, the machine dapp's own rules) and
// its AccessLog signing as the laser's node. A trainee the ledger would refuse (suspended, expired, a
// revoked card, a card of no member, a trainer whose role was withdrawn meanwhile) gets the denied
// pattern and a reason, in the status and in what the controller reports, and nothing is signed.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { AccessLog } from '../../agent/access/access-log.ts';
import { checkCertification } from '../../agent/access/certify-check.ts';
import { parseMachineConfig } from '../../agent/controllers/machine-config.ts';
import { MachineController } from '../../agent/controllers/machine.ts';
import type { AccessDecider } from '../../agent/controllers/types.ts';
import { decodeEvent, hex } from '../../agent/ledger/event.ts';
import { certKey, type Cert } from '../../dapps/machine/index.ts';
import { Display } from '../../agent/sim/display.ts';
import { narrate } from '../../agent/sim/narrate.ts';
import { FakeClock } from '../../drivers/gpio/fake-clock.ts';
import { FakeGpioBackend } from '../../drivers/gpio/fake.ts';
import { badgeOf, buildSite, SECRET, T0, uid } from '../access/site.ts';
import { MACHINE_PINS, RecordingSink } from './rig.ts';

const LED = MACHINE_PINS.led.line;

function laserAt() {
  const site = buildSite();
  const nodeKey = hex(site.nodes.laser.publicKey);
  const service = site.service({ nodeKey });
  const logErrors: string[] = [];
  const log = new AccessLog({ ledger: site.ledger, signer: site.nodes.laser, service, schedule: (fn) => fn(), onError: (m) => logErrors.push(m) });
  const clock = new FakeClock(T0 + 60_000);
  site.clock.now = T0 + 60_000;
  const gpio = new FakeGpioBackend({ clock });
  const cards = new EventEmitter();
  const sink = new RecordingSink();
  const record = sink.record.bind(sink);
  sink.record = (kind, body) => { record(kind, body); log.record(kind, body); };
  const decider: AccessDecider = {
    decide: (req) => service.decide(req),
    checkCertification: (req) => checkCertification({ ledger: site.ledger, nodeKey, siteSecret: SECRET }, req),
  };
  gpio.board.drive(MACHINE_PINS.button.line, 1);
  const machine = new MachineController({
    config: parseMachineConfig({ id: 'laser', mode: 'card-present', pins: MACHINE_PINS }),
    gpio, decider, sink, cards, clock,
  });
  machine.start();
  const tap = (who: string): void => {
    cards.emit('card', { uid: uid(who) });
    clock.advance(300);
    cards.emit('card-removed', { uid: uid(who) });
    clock.advance(300);
  };
  /** The trainer badges, then `trainee`; returns the LED's blinks for the trainee's badge. */
  const certify = (trainee: string): number => {
    tap('carol');
    assert.equal(machine.status().trainer_window, true, 'carol is a trainer: the window opens');
    gpio.board.clearHistory();
    tap(trainee);
    clock.advance(3000);
    return gpio.board.history(LED).filter((w) => w.level === 1).length;
  };
  const certs = (): number => [...site.ledger.events()].map(decodeEvent).filter((e) => e.dapp === 'machine' && e.type === 'certify').length;
  return { site, machine, sink, logErrors, certify, tap, clock, certs, cert: (m: string) => site.ledger.get<Cert>(certKey('laser', m)) };
}

void describe('machine: certification at the machine checked as the ledger will', () => {
  void it('certifies a member in good standing: signed by the laser node for trainer carol', () => {
    const r = laserAt();
    try {
      assert.equal(r.certify('alice'), 2, 'the certify pattern: two long blinks');
      assert.equal(r.cert('alice')?.on, true);
      assert.equal(r.cert('alice')?.trainer, 'carol');
      assert.equal(r.cert('alice')?.by, 'laser');
      assert.deepEqual(r.logErrors, []);
      assert.equal(r.machine.status().last_certification?.certified, true);
    } finally { r.site.close(); }
  });

  const refusals: Array<[string, (r: ReturnType<typeof laserAt>) => string, string]> = [
    ['a suspended member', (r) => { r.site.staff.suspend('erin', 'unpaid'); return 'erin'; }, 'member_suspended'],
    ['a revoked card', (r) => { r.site.staff.revokeBadge(badgeOf('bob'), 'lost'); return 'bob'; }, 'badge_revoked'],
    ['an expired member', (r) => { r.site.staff.updateMember({ id: 'dan', until: T0 }); return 'dan'; }, 'membership_expired'],
    ['a trainer whose role was withdrawn after the window opened', (r) => {
      // The window is open (see certify): the role goes while it is.
      r.sink.record = ((orig) => (kind: string, body: Record<string, unknown>) => {
        if (kind === 'machine.access' && body['member_id'] === 'carol') r.site.staff.setRole('laser', 'carol', 'trainer', false);
        orig(kind, body);
      })(r.sink.record.bind(r.sink));
      return 'alice';
    }, 'not_trainer'],
  ];
  for (const [what, arrange, reason] of refusals) {
    void it(`refuses ${what}: denied pattern, reason ${reason}, nothing signed`, () => {
      const r = laserAt();
      try {
        const trainee = arrange(r);
        const before = r.certs();
        const blinks = r.certify(trainee);
        assert.equal(blinks, 3, 'the denied pattern: three short blinks');
        assert.equal(r.cert(trainee), undefined, 'no certificate');
        assert.equal(r.certs(), before, 'no machine/certify event signed');
        assert.deepEqual(r.logErrors, [], 'the access log was never handed an event the ledger refuses');
        assert.equal(r.sink.events.filter((e) => e.kind === 'machine.certification').length, 0);
        const refused = r.sink.events.filter((e) => e.kind === 'machine.certification_refused');
        assert.equal(refused.length, 1);
        assert.equal(refused[0]!.body['reason'], reason);
        assert.equal(refused[0]!.body['trainer_id'], 'carol');
        assert.equal(refused[0]!.body['member_id'], trainee);
        const st = r.machine.status().last_certification;
        assert.equal(st?.certified, false);
        assert.equal(st?.reason, reason);
        assert.equal(typeof st?.detail, 'string');
        assert.equal(r.machine.status().trainer_window, false, 'the window is used up; the trainer badges again');
        assert.equal(r.machine.status().relay, false);
      } finally { r.site.close(); }
    });
  }
});

void describe('machine/certify: the ledger refuses what the machine refuses', () => {
  void it("a node's certification through a revoked card, or for a member whose membership ended, is rejected", () => {
    const r = laserAt();
    try {
      r.site.staff.revokeBadge(badgeOf('bob'), 'lost');
      const revoked = r.site.ledger.append(r.site.nodes.laser, 'machine', 'certify', { machine: 'laser', member: 'bob', by: 'carol', badge: badgeOf('bob') });
      assert.equal(revoked.result.status, 'rejected');
      assert.equal(revoked.result.code, 'INVALID_BODY');
      assert.match(revoked.result.message ?? '', /^machine\/certify: body\.badge: badge [0-9a-f]{8} was revoked by [0-9a-f]{12}$/);
      r.site.staff.updateMember({ id: 'dan', until: T0 });
      const ended = r.site.ledger.append(r.site.nodes.laser, 'machine', 'certify', { machine: 'laser', member: 'dan', by: 'carol', badge: badgeOf('dan') });
      assert.equal(ended.result.status, 'rejected');
      assert.match(ended.result.message ?? '', /membership ended/);
      const other = r.site.ledger.append(r.site.nodes.laser, 'machine', 'certify', { machine: 'laser', member: 'alice', by: 'carol', badge: badgeOf('erin') });
      assert.match(other.result.message ?? '', /is not a badge of member 'alice'/);
      // An admin certifies at the desk, without a card, as before.
      r.site.staff.certify('laser', 'dan');
      assert.equal(r.cert('dan')?.on, true);
    } finally { r.site.close(); }
  });
});

void describe('the simulated site shows a refusal with its reason', () => {
  void it('NOT CERTIFIED, the reason in words, the rule that refused, nothing signed', () => {
    let text = '';
    const d = new Display({ color: false, write: (t) => { text += t; } });
    const shown = narrate(d, 'laser', {
      level: 'info', msg: 'machine.certification_refused', event: 'machine.certification_refused',
      trainer_id: 'carol', member_id: 'erin', reason: 'member_suspended', detail: "member 'erin' is suspended",
    }, { holder: () => undefined, offline: () => false });
    assert.equal(shown, true);
    assert.match(text, /NOT CERTIFIED {2}Erin on the laser cutter for trainer Carol: member suspended {2}\[member 'erin' is suspended\] \(nothing signed\)/);
  });
});
