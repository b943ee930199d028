// Door controller: strike pulses on grants and REX, early relock when the door opens, a hard energised cap,
// forced-open and held-open alarms, lockdown and held-unlocked periods, and safe outputs at start, stop and
// faults (docs/design-notes.md "Doors and machines", "Power-up and crash behaviour").
//
// Fail modes. The safe output level is always de-energised: that is what the hardware does when the Pi is
// off, crashed or rebooting, so the agent's safe state must agree with it.
// - fail-secure strike: energised = unlocked. Safe = locked. Resting (normal, lockdown) = de-energised.
// - fail-safe maglock: energised = locked. Safe = released (unlocked). Resting = energised; an unlock
//   de-energises. The maglock must also be released in hardware by REX / fire system (docs/design-notes.md).
// The de-energised level is driven at start before anything else and whenever the process goes away (stop(),
// safeNow() from the exit handlers, `gdo gpio safe` from ExecStopPost): then a maglock releases, by the
// installer's choice of fail-safe hardware, exactly as it would on a power cut.
// A reader or ledger fault while the agent runs is different: the door rests LOCKED in both modes (a
// maglock stays energised), grant pulses end, LED and buzzer go quiet, badges are refused. Otherwise
// cutting the reader's cable outside the door, or filling the disk, would release a maglock. REX keeps
// working in every state, for egress. An event sink that throws counts as a ledger fault: a grant that
// cannot be logged is not given.
import type { GpioBackend, InputLine, OutputLine } from '../../drivers/gpio/types.ts';
import { systemClock } from '../../drivers/gpio/clock.ts';
import type { DoorConfig } from './door-config.ts';
import { DoorPositionMonitor, iso } from './door-position.ts';
import { EnergiseGuard } from './energise-guard.ts';
import { Feedback, Indicator, PATTERNS } from './indicator.ts';
import { openSafeOutput } from './safe-outputs.ts';
import type {
  AccessDecider, CardEvent, CardSource, Clock, Decision, DoorMode, DoorPolicy, EventSink, TimerHandle,
} from './types.ts';

export type DoorFault = 'reader' | 'ledger';

export interface DoorControllerOptions {
  config: DoorConfig;
  gpio: GpioBackend;
  decider: AccessDecider;
  sink: EventSink;
  policy: DoorPolicy;
  cards: CardSource;
  clock?: Clock;
  /** Errors that must not stop the door (GPIO writes, policy or decider exceptions); the agent logs them. */
  onError?: (err: unknown) => void;
}

export interface DoorStatus {
  id: string;
  started: boolean;
  mode: DoorMode;
  unlocked: boolean;
  energised: boolean;
  open: boolean;
  alarms: { forced_open: boolean; held_open: boolean };
  faults: DoorFault[];
  /** Why each fault is up, e.g. { reader: 'PN532_TIMEOUT: ...' }. Never carries a badge UID. */
  fault_detail: Partial<Record<DoorFault, string>>;
}

interface Lines {
  strike: OutputLine;
  guard: EnergiseGuard;
  feedback: Feedback;
  outputs: OutputLine[];
  inputs: InputLine[];
}

export class DoorController {
  readonly #o: DoorControllerOptions;
  readonly #cfg: DoorConfig;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  readonly #position: DoorPositionMonitor;
  #lines: Lines | undefined;
  #mode: DoorMode = 'normal';
  #pulse: { by: 'grant' | 'rex'; timer: TimerHandle } | undefined;
  #unlocked = false;
  #lastUnlockEnd = Number.NEGATIVE_INFINITY;
  #faults = new Map<DoorFault, string>();
  /** Set when the energise guard tripped during a held-unlocked period: stay locked until it ends. */
  #heldBlocked = false;
  #pollTimer: TimerHandle | undefined;
  #unsubscribe: (() => void)[] = [];

  constructor(opts: DoorControllerOptions) {
    this.#o = opts;
    this.#cfg = opts.config;
    this.#clock = opts.clock ?? systemClock;
    this.#onError = opts.onError ?? (() => {});
    this.#position = new DoorPositionMonitor({
      doorId: opts.config.id,
      clock: this.#clock,
      sink: { record: (kind, body) => { this.#record(kind, body); } },
      heldOpenMs: opts.config.held_open_ms,
      isAuthorised: () => this.#unlocked || this.#clock.now() - this.#lastUnlockEnd <= this.#cfg.open_grace_ms,
      suppressHeldOpen: () => this.#mode === 'held-unlocked' && this.#faults.size === 0,
    });
  }

  /** Opens the lines with every output at its safe level first, then starts listening. */
  start(): void {
    if (this.#lines) return;
    const { gpio, config: cfg } = this.#o;
    const outputs: OutputLine[] = [];
    const inputs: InputLine[] = [];
    try {
      const strike = openSafeOutput(gpio, cfg.pins.strike, `${cfg.id}.strike`);
      outputs.push(strike);
      const led = cfg.pins.led && openSafeOutput(gpio, cfg.pins.led, `${cfg.id}.led`);
      if (led) outputs.push(led);
      const buzzer = cfg.pins.buzzer && openSafeOutput(gpio, cfg.pins.buzzer, `${cfg.id}.buzzer`);
      if (buzzer) outputs.push(buzzer);
      const sw = cfg.pins.door_switch;
      const doorSwitch = sw && gpio.openInput(sw.line, {
        activeLow: sw.active_low, debounceMs: sw.debounce_ms, edge: 'both', label: `${cfg.id}.door_switch`,
      });
      if (doorSwitch) inputs.push(doorSwitch);
      const r = cfg.pins.rex;
      const rex = r && gpio.openInput(r.line, {
        activeLow: r.active_low, debounceMs: r.debounce_ms, edge: 'rising', label: `${cfg.id}.rex`,
      });
      if (rex) inputs.push(rex);
      const maxMs = cfg.fail_mode === 'fail-secure' ? cfg.max_energised_ms : Number.POSITIVE_INFINITY;
      const guard = new EnergiseGuard(strike, this.#clock, maxMs, (ms, err) => this.#onGuardTrip(ms, err));
      const feedback = new Feedback(new Indicator(led, this.#clock, this.#onError),
        new Indicator(buzzer, this.#clock, this.#onError));
      this.#lines = { strike, guard, feedback, outputs, inputs };
      if (doorSwitch) {
        this.#position.begin(doorSwitch.read());
        this.#unsubscribe.push(doorSwitch.watch((c) => this.#onDoorSwitch(c.value)));
      }
      if (rex) this.#unsubscribe.push(rex.watch(() => this.#onRex()));
    } catch (err) {
      for (const l of inputs) l.close();
      for (const l of outputs) l.close(); // still at their safe level
      this.#lines = undefined;
      throw err;
    }
    const onCard = (ev: CardEvent): void => this.#onCard(ev);
    this.#o.cards.on('card', onCard);
    this.#unsubscribe.push(() => this.#o.cards.off('card', onCard));
    this.#mode = this.#readPolicy() ?? 'normal';
    this.#apply();
    this.#position.recheck();
    this.#schedulePoll();
  }

  /** The SIGTERM path: safe outputs, then release the lines (they keep the safe level). */
  stop(): void {
    const lines = this.#lines;
    if (!lines) return;
    for (const u of this.#unsubscribe.splice(0)) u();
    if (this.#pollTimer !== undefined) this.#clock.clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#position.stop();
    this.safeNow();
    lines.guard.dispose();
    for (const l of lines.inputs) l.close();
    for (const l of lines.outputs) l.close();
    this.#lines = undefined;
  }

  /** Drives every output to its safe level synchronously, records nothing. For exit handlers. */
  safeNow(): void {
    this.#cancelPulse();
    const lines = this.#lines;
    if (!lines) return;
    lines.feedback.off();
    this.#drive(false, true);
  }

  onReaderFault(detail?: string): void { this.#setFault('reader', true, detail); }
  onReaderRecovered(): void { this.#setFault('reader', false); }
  onLedgerFault(detail?: string): void { this.#setFault('ledger', true, detail); }
  onLedgerRecovered(): void { this.#setFault('ledger', false); }

  /** Asks the policy now instead of at the next poll (the agent calls it when a schedule changes). */
  refreshPolicy(): void {
    if (!this.#lines) return;
    const mode = this.#readPolicy();
    if (mode === undefined || mode === this.#mode) return;
    const previous = this.#mode;
    this.#mode = mode;
    this.#record('door.mode', { door: this.#cfg.id, mode, previous, at: iso(this.#clock.now()) });
    if (previous === 'held-unlocked') this.#heldBlocked = false;
    if (mode === 'lockdown' && this.#pulse?.by === 'grant') this.#cancelPulse();
    this.#apply();
    this.#position.recheck();
  }

  status(): DoorStatus {
    return {
      id: this.#cfg.id,
      started: this.#lines !== undefined,
      mode: this.#mode,
      unlocked: this.#unlocked,
      energised: this.#lines?.strike.get() ?? false,
      open: this.#position.open,
      alarms: this.#position.alarms,
      faults: [...this.#faults.keys()],
      fault_detail: Object.fromEntries(this.#faults),
    };
  }

  #onCard(ev: CardEvent): void {
    const lines = this.#lines;
    if (!lines) return;
    this.refreshPolicy();
    const now = this.#clock.now();
    let decision: Decision;
    if (this.#faults.has('ledger')) {
      decision = { allow: false, reason: 'ledger_fault' }; // local answers cannot be trusted
    } else {
      try {
        decision = this.#o.decider.decide({ credential: ev.uid, resource: this.#cfg.resource, at: new Date(now) });
      } catch (err) {
        this.#onError(err);
        decision = { allow: false, reason: 'decider_error' };
      }
    }
    const lockdown = decision.allow && this.#mode === 'lockdown';
    let allow = decision.allow && !lockdown;
    const logged = this.#record('door.access', {
      door: this.#cfg.id,
      resource: this.#cfg.resource,
      allow,
      reason: lockdown ? 'lockdown' : decision.reason,
      ...(decision.rule !== undefined && { rule: decision.rule }),
      ...(decision.memberId !== undefined && { member_id: decision.memberId }),
      mode: this.#mode,
      at: iso(now),
    });
    if (!logged) allow = false; // the sink failed: now a ledger fault, and the grant is not given
    // The strike first, feedback after: each GPIO write costs a sysfs write, and the door is what the
    // member waits for (bench decide-e2e). Already held unlocked: a pulse would add nothing but a relock
    // surprise when the period ends.
    if (allow && !this.#restingUnlocked()) this.#startPulse('grant', this.#cfg.unlock_ms);
    lines.feedback.play(allow ? PATTERNS.granted : PATTERNS.denied);
  }

  #onDoorSwitch(open: boolean): void {
    this.#position.change(open); // judged against the lock state before the relock below
    // The door is open: the latch is clear of the strike, so relock now rather than at the pulse's end.
    if (open && this.#pulse) this.#endPulse();
  }

  #onRex(): void {
    if (!this.#lines) return;
    this.#startPulse('rex', this.#cfg.rex_unlock_ms); // egress first: it must not depend on the ledger
    this.#record('door.rex', { door: this.#cfg.id, at: iso(this.#clock.now()) });
  }

  #startPulse(by: 'grant' | 'rex', ms: number): void {
    this.#cancelPulse();
    this.#pulse = { by, timer: this.#clock.setTimeout(() => this.#endPulse(), ms) };
    this.#apply();
  }

  #endPulse(): void {
    this.#cancelPulse();
    this.#apply();
  }

  #cancelPulse(): void {
    if (this.#pulse) this.#clock.clearTimeout(this.#pulse.timer);
    this.#pulse = undefined;
  }

  /** Drives the strike from pulse, faults and mode. The only place that decides the lock state. */
  #apply(): void {
    if (!this.#lines) return;
    this.#drive(this.#pulse !== undefined || this.#restingUnlocked(), false);
  }

  /** The lock state without a pulse: locked during faults (both modes, see the header), else the mode's. */
  #restingUnlocked(): boolean {
    return this.#faults.size === 0 && this.#mode === 'held-unlocked' && !this.#heldBlocked;
  }

  #drive(unlocked: boolean, safe: boolean): void {
    const lines = this.#lines;
    if (!lines) return;
    if (this.#unlocked && !unlocked) this.#lastUnlockEnd = this.#clock.now();
    const energise = safe ? false : this.#cfg.fail_mode === 'fail-secure' ? unlocked : !unlocked;
    this.#unlocked = this.#cfg.fail_mode === 'fail-secure' ? energise : !energise;
    try {
      lines.guard.set(energise);
    } catch (err) {
      this.#onError(err);
    }
  }

  #onGuardTrip(energisedMs: number, writeError: unknown): void {
    if (writeError !== undefined) this.#onError(writeError);
    this.#record('door.fault', {
      door: this.#cfg.id, fault: 'max_energised', energised_ms: energisedMs,
      max_energised_ms: this.#cfg.max_energised_ms, at: iso(this.#clock.now()),
    });
    if (this.#mode === 'held-unlocked') this.#heldBlocked = true;
    this.#cancelPulse();
    this.#apply();
  }

  #setFault(fault: DoorFault, on: boolean, detail?: string): void {
    if (on === this.#faults.has(fault)) {
      if (on && detail) this.#faults.set(fault, detail); // keep the latest reason for status()
      return;
    }
    const at = iso(this.#clock.now());
    if (on) {
      this.#enterFault(fault, detail ?? fault);
      this.#record('door.fault', { door: this.#cfg.id, fault, ...(detail && { detail }), at });
    } else {
      this.#faults.delete(fault);
      this.#record('door.fault_cleared', { door: this.#cfg.id, fault, at });
      this.#apply();
      this.#position.recheck();
    }
  }

  /** Locks (both fail modes), ends a grant pulse and the feedback; a REX pulse runs on, for egress. */
  #enterFault(fault: DoorFault, detail: string): void {
    this.#faults.set(fault, detail);
    if (this.#pulse?.by === 'grant') this.#cancelPulse();
    this.#lines?.feedback.off();
    this.#apply();
    this.#position.recheck();
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

  #readPolicy(): DoorMode | undefined {
    try {
      return this.#o.policy.mode(this.#cfg.id, new Date(this.#clock.now()));
    } catch (err) {
      this.#onError(err); // keep the last known mode
      return undefined;
    }
  }

  #schedulePoll(): void {
    this.#pollTimer = this.#clock.setTimeout(() => {
      this.#pollTimer = undefined;
      this.refreshPolicy();
      if (this.#lines) this.#schedulePoll();
    }, this.#cfg.policy_poll_ms);
  }
}
