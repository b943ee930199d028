// Machine lockout controller. The relay (interlock) is energised only inside a session, and a session
// starts only after an allow decision. De-energised = machine disabled (docs/design-notes.md "Power-up and crash
// behaviour"), which is the state at start, stop and faults.
//
// Badge rules (documented for members and trainers):
// - card-present mode: the machine runs while the allowed card stays on the reader; 'card-removed' ends it.
// - session mode: a badge starts a session_ms session; warning_ms before the end the buzzer chirps and the
//   LED blinks (every 5 s); the holder badging again (a tap) extends it to session_ms from now; the holder
//   badging again and keeping the card on the reader for badge_out_hold_ms ends it (badge-out).
// - another member badging during a session is refused ('in_use'); the session is not handed over.
// - trainer: a badge whose decision allows and lists the role 'trainer' (for this machine) opens a
//   certify_window_ms window; the next different member who badges within it is certified: a
//   'machine.certification' event names trainer and member. The trainer's own session works as usual.
//   Before that, the trainee is checked as the ledger will check the certification (the decider's
//   checkCertification, the machine dapp's rules): a refusal plays the denied pattern, is reported as
//   'machine.certification_refused' with its reason (never signed) and shows in status(); either way
//   the window is used up. A card of no member leaves the window open.
// - maintainer: badging while holding the machine's button, with the role 'maintainer', toggles
//   out-of-service. Out of service, only maintainers can start sessions (to test a repair).
//   Out of service is the ledger's (machine-service.ts): it holds across restarts and follows tag-outs
//   made at the office or on a peer, and the gesture toggles relative to it.
//   A tag-out that arrives during a session (office, peer) ends it within SERVICE_POLL_MS, unless the
//   session is a maintainer's.
import type { GpioBackend, InputLine, OutputLine } from '../../drivers/gpio/types.ts';
import { systemClock } from '../../drivers/gpio/clock.ts';
import { iso } from './door-position.ts';
import { Feedback, Indicator, PATTERNS } from './indicator.ts';
import type { MachineConfig } from './machine-config.ts';
import type { SessionEndReason } from './machine-session.ts';
import { MachineSession } from './machine-session.ts';
import { checkTrainee, type LastCertification } from './machine-certify.ts';
import { MachineServiceView } from './machine-service.ts';

export type { LastCertification } from './machine-certify.ts';
import { openSafeOutput } from './safe-outputs.ts';
import type { AccessDecider, CardEvent, CardSource, Clock, Decision, EventSink, MachineServiceState, TimerHandle } from './types.ts';

export type MachineFault = 'reader' | 'ledger';

export interface MachineControllerOptions {
  config: MachineConfig;
  gpio: GpioBackend;
  decider: AccessDecider;
  sink: EventSink;
  cards: CardSource;
  clock?: Clock;
  onError?: (err: unknown) => void;
}

export interface MachineStatus {
  id: string;
  started: boolean;
  mode: MachineConfig['mode'];
  relay: boolean;
  session: { member_id?: string; start: string; ends_at?: string; extensions: number } | undefined;
  out_of_service: boolean;
  /** While out of service: why, who took it out, since when (from the ledger). */
  out_of_service_detail?: { reason: string | null; by: string | null; since: string | null };
  trainer_window: boolean;
  /** The last certification tried at this machine: who, and whether it was signed or why not. */
  last_certification: LastCertification | undefined;
  faults: MachineFault[];
  /** Why each fault is up. Never carries a badge UID. */
  fault_detail: Partial<Record<MachineFault, string>>;
}

/** How often a running session looks for a tag-out it did not make. */
const SERVICE_POLL_MS = 1_000;

export class MachineController {
  readonly #o: MachineControllerOptions;
  readonly #cfg: MachineConfig;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  #relay: OutputLine | undefined;
  #feedback: Feedback | undefined;
  #lines: (OutputLine | InputLine)[] = [];
  #unsubscribe: (() => void)[] = [];
  #session: MachineSession | undefined;
  #holdTimer: TimerHandle | undefined;
  #trainer: { id: string; timer: TimerHandle } | undefined;
  #lastCertification: LastCertification | undefined;
  #buttonPressed = false;
  readonly #serviceView: MachineServiceView;
  #servicePoll: TimerHandle | undefined;
  #faults = new Map<MachineFault, string>();

  constructor(opts: MachineControllerOptions) {
    this.#o = opts;
    this.#cfg = opts.config;
    this.#clock = opts.clock ?? systemClock;
    this.#onError = opts.onError ?? (() => {});
    this.#serviceView = new MachineServiceView(this.#cfg.id, opts.decider, this.#clock, (err) => this.#onError(err));
  }

  /** Opens the relay de-energised before anything else, then the indicators, button and card events. */
  start(): void {
    if (this.#relay) return;
    const { gpio, config: cfg } = this.#o;
    const lines: (OutputLine | InputLine)[] = [];
    try {
      const relay = openSafeOutput(gpio, cfg.pins.relay, `${cfg.id}.relay`);
      lines.push(relay);
      const led = cfg.pins.led && openSafeOutput(gpio, cfg.pins.led, `${cfg.id}.led`);
      if (led) lines.push(led);
      const buzzer = cfg.pins.buzzer && openSafeOutput(gpio, cfg.pins.buzzer, `${cfg.id}.buzzer`);
      if (buzzer) lines.push(buzzer);
      const b = cfg.pins.button;
      const button = b && gpio.openInput(b.line, {
        activeLow: b.active_low, debounceMs: b.debounce_ms, edge: 'both', label: `${cfg.id}.button`,
      });
      if (button) {
        lines.push(button);
        this.#buttonPressed = button.read();
        this.#unsubscribe.push(button.watch((c) => { this.#buttonPressed = c.value; }));
      }
      this.#feedback = new Feedback(new Indicator(led, this.#clock, this.#onError),
        new Indicator(buzzer, this.#clock, this.#onError));
      this.#relay = relay;
      this.#lines = lines;
    } catch (err) {
      for (const u of this.#unsubscribe.splice(0)) u();
      for (const l of lines) l.close();
      throw err;
    }
    const onCard = (ev: CardEvent): void => this.#onCard(ev);
    const onRemoved = (ev: CardEvent): void => this.#onRemoved(ev);
    this.#o.cards.on('card', onCard);
    this.#o.cards.on('card-removed', onRemoved);
    this.#unsubscribe.push(() => {
      this.#o.cards.off('card', onCard);
      this.#o.cards.off('card-removed', onRemoved);
    });
  }

  /** The SIGTERM path: end (and log) the session, relay off, release the lines at their safe level. */
  stop(): void {
    if (!this.#relay) return;
    for (const u of this.#unsubscribe.splice(0)) u();
    this.#endSession('stop');
    this.#closeTrainerWindow();
    this.safeNow();
    for (const l of this.#lines) l.close();
    this.#lines = [];
    this.#relay = undefined;
  }

  /** Relay off, indicators off, synchronously, recording nothing. For exit handlers. */
  safeNow(): void {
    this.#session?.cancel();
    this.#clearHold();
    this.#feedback?.off();
    try {
      this.#relay?.set(false);
    } catch (err) {
      this.#onError(err);
    }
  }

  onReaderFault(detail?: string): void { this.#setFault('reader', true, detail); }
  onReaderRecovered(): void { this.#setFault('reader', false); }
  onLedgerFault(detail?: string): void { this.#setFault('ledger', true, detail); }
  onLedgerRecovered(): void { this.#setFault('ledger', false); }

  status(): MachineStatus {
    const s = this.#session;
    return {
      id: this.#cfg.id,
      started: this.#relay !== undefined,
      mode: this.#cfg.mode,
      relay: this.#relay?.get() ?? false,
      session: s && {
        ...(s.memberId !== undefined && { member_id: s.memberId }),
        start: iso(s.start),
        ...(s.endsAt !== undefined && { ends_at: iso(s.endsAt) }),
        extensions: s.extensions,
      },
      ...this.#serviceStatus(),
      trainer_window: this.#trainer !== undefined,
      last_certification: this.#lastCertification && { ...this.#lastCertification },
      faults: [...this.#faults.keys()],
      fault_detail: Object.fromEntries(this.#faults),
    };
  }

  #onCard(ev: CardEvent): void {
    if (!this.#relay) return;
    const now = this.#clock.now();
    const d = this.#decide(ev.uid, now);
    const roles = d.roles ?? [];
    if (this.#buttonPressed && roles.includes('maintainer') && d.memberId !== undefined) {
      this.#toggleOutOfService(d.memberId);
      return;
    }
    const trainer = this.#trainer;
    if (trainer && d.memberId !== undefined && d.memberId !== trainer.id && !this.#faults.has('ledger')) {
      this.#closeTrainerWindow();
      this.#certify(trainer.id, d.memberId, ev.uid, now);
      return;
    }
    const s = this.#session;
    const holder = s?.isHolder(d.memberId, ev.uid) ?? false;
    let reason = d.reason;
    let allow = d.allow;
    if (allow && this.#service().out && !roles.includes('maintainer')) { allow = false; reason = 'out_of_service'; }
    if (allow && s && !holder) { allow = false; reason = 'in_use'; }
    const logged = this.#record('machine.access', {
      machine: this.#cfg.id, resource: this.#cfg.resource, allow, reason,
      ...(d.rule !== undefined && { rule: d.rule }),
      ...(d.memberId !== undefined && { member_id: d.memberId }),
      at: iso(now),
    });
    if (!logged) allow = false; // a use that cannot be logged (billing) is not allowed
    if (!allow) {
      this.#feedback?.play(PATTERNS.denied);
      return;
    }
    if (roles.includes('trainer') && d.memberId !== undefined) this.#openTrainerWindow(d.memberId);
    if (!s) {
      this.#startSession(d.memberId, ev.uid, roles.includes('maintainer'));
    } else if (this.#cfg.mode === 'session') {
      s.extensions += 1;
      this.#armSession(s);
      this.#feedback?.buzzer.play(PATTERNS.granted.buzzer);
      // Still on the reader after the hold time: the holder means badge-out.
      this.#clearHold();
      this.#holdTimer = this.#clock.setTimeout(() => {
        this.#holdTimer = undefined;
        this.#endSession('badge_out');
      }, this.#cfg.badge_out_hold_ms);
    }
  }

  #onRemoved(ev: CardEvent): void {
    const s = this.#session;
    if (!s || !s.isCard(ev.uid)) return;
    this.#clearHold(); // a tap, not a hold: the extension stands
    if (this.#cfg.mode === 'card-present') this.#endSession('card_removed');
  }

  #decide(uid: Buffer, now: number): Decision {
    if (this.#faults.has('ledger')) return { allow: false, reason: 'ledger_fault' };
    try {
      return this.#o.decider.decide({ credential: uid, resource: this.#cfg.resource, at: new Date(now) });
    } catch (err) {
      this.#onError(err);
      return { allow: false, reason: 'decider_error' };
    }
  }

  #startSession(memberId: string | undefined, uid: Buffer, maintainer: boolean): void {
    try {
      this.#relay?.set(true);
    } catch (err) {
      this.#onError(err);
      this.#feedback?.play(PATTERNS.denied);
      return;
    }
    const s = new MachineSession(this.#clock, memberId, uid);
    this.#session = s;
    if (!maintainer) this.#watchService(s);
    this.#feedback?.buzzer.play(PATTERNS.granted.buzzer);
    this.#feedback?.led.steady(true);
    if (this.#cfg.mode === 'session') this.#armSession(s);
  }

  #armSession(s: MachineSession): void {
    this.#feedback?.led.steady(true);
    s.arm({
      warningMs: this.#cfg.warning_ms,
      sessionMs: this.#cfg.session_ms,
      onWarning: () => {
        this.#feedback?.buzzer.play(PATTERNS.warning.buzzer);
        this.#feedback?.led.play(PATTERNS.warning.led);
      },
      onTimeout: () => this.#endSession('timeout'),
    });
  }

  /** Ends `s` when the machine is taken out of service elsewhere (a maintainer's session is left running). */
  #watchService(s: MachineSession): void {
    this.#servicePoll = this.#clock.setTimeout(() => {
      this.#servicePoll = undefined;
      if (this.#session !== s) return;
      if (this.#service().out) this.#endSession('out_of_service');
      else this.#watchService(s);
    }, SERVICE_POLL_MS);
  }

  #endSession(reason: SessionEndReason): void {
    const s = this.#session;
    this.#clearHold();
    if (this.#servicePoll !== undefined) this.#clock.clearTimeout(this.#servicePoll);
    this.#servicePoll = undefined;
    if (!s) return;
    this.#session = undefined;
    s.cancel();
    try {
      this.#relay?.set(false);
    } catch (err) {
      this.#onError(err);
    }
    this.#feedback?.off();
    this.#record('machine.session', s.record(this.#cfg.id, this.#cfg.mode, reason));
  }

  #toggleOutOfService(memberId: string): void {
    const now = this.#clock.now();
    const { out } = this.#serviceView.toggle(memberId);
    if (out) this.#endSession('out_of_service');
    this.#record(out ? 'machine.out_of_service' : 'machine.in_service', { machine: this.#cfg.id, member_id: memberId, at: iso(now) });
    this.#feedback?.play(PATTERNS.certify);
  }

  #service(): MachineServiceState {
    return this.#serviceView.current();
  }

  #serviceStatus(): Pick<MachineStatus, 'out_of_service' | 'out_of_service_detail'> {
    const st = this.#service();
    return { out_of_service: st.out, ...(st.out && { out_of_service_detail: { reason: st.reason, by: st.by, since: st.since } }) };
  }

  /** Certifies `memberId` for the trainer if the ledger's rules allow it now; otherwise says why, signing nothing. */
  #certify(trainerId: string, memberId: string, uid: Buffer, now: number): void {
    const base = { machine: this.#cfg.id, resource: this.#cfg.resource, trainer_id: trainerId, member_id: memberId, at: iso(now) };
    const verdict = checkTrainee(this.#o.decider, { resource: this.#cfg.resource, trainerId, memberId, credential: uid, at: new Date(now) }, (err) => this.#onError(err));
    if (!verdict.ok) {
      this.#lastCertification = { at: base.at, trainer_id: trainerId, member_id: memberId, certified: false, reason: verdict.reason, detail: verdict.detail };
      this.#record('machine.certification_refused', { ...base, reason: verdict.reason, detail: verdict.detail });
      this.#feedback?.play(PATTERNS.denied);
      return;
    }
    const logged = this.#record('machine.certification', base);
    this.#lastCertification = {
      at: base.at, trainer_id: trainerId, member_id: memberId, certified: logged,
      ...(!logged && { reason: 'ledger_fault', detail: 'the certification could not be recorded' }),
    };
    // Not logged means not certified: the denied pattern tells the trainer to try again later.
    this.#feedback?.play(logged ? PATTERNS.certify : PATTERNS.denied);
  }

  #openTrainerWindow(trainerId: string): void {
    this.#closeTrainerWindow();
    const timer = this.#clock.setTimeout(() => { this.#trainer = undefined; }, this.#cfg.certify_window_ms);
    this.#trainer = { id: trainerId, timer };
  }

  #closeTrainerWindow(): void {
    if (this.#trainer) this.#clock.clearTimeout(this.#trainer.timer);
    this.#trainer = undefined;
  }

  #clearHold(): void {
    if (this.#holdTimer !== undefined) this.#clock.clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  #setFault(fault: MachineFault, on: boolean, detail?: string): void {
    if (on === this.#faults.has(fault)) {
      if (on && detail) this.#faults.set(fault, detail); // keep the latest reason for status()
      return;
    }
    const at = iso(this.#clock.now());
    if (on) {
      this.#enterFault(fault, detail ?? fault);
      this.#record('machine.fault', { machine: this.#cfg.id, fault, ...(detail && { detail }), at });
    } else {
      this.#faults.delete(fault);
      this.#record('machine.fault_cleared', { machine: this.#cfg.id, fault, at });
    }
  }

  /** Marks the fault first (so a failing sink cannot recurse here), then ends the session: relay off. */
  #enterFault(fault: MachineFault, detail: string): void {
    this.#faults.set(fault, detail);
    this.#endSession(fault === 'reader' ? 'reader_fault' : 'ledger_fault');
    this.#closeTrainerWindow();
    this.safeNow();
  }

  /** Every event goes through here: a throwing sink is reported and becomes a ledger fault, never a crash. */
  #record(kind: string, body: Record<string, unknown>): boolean {
    try {
      this.#o.sink.record(kind, body);
      return true;
    } catch (err) {
      this.#onError(err);
      if (!this.#faults.has('ledger')) {
        this.#enterFault('ledger', `event sink failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      return false;
    }
  }
}
