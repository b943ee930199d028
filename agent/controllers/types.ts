// What the door and machine controllers need from the rest of the agent. Everything is injected so the
// controllers run unchanged on a Pi, in the simulated site and in tests with fake time.
export type { Clock, TimerHandle } from '../../drivers/gpio/clock.ts';

/** Answers from the local SQLite replica, synchronously, so a badge never waits on the network. */
export interface AccessDecider {
  decide(req: { credential: Buffer; resource: string; at: Date }): Decision;
  /**
   * Whether this node may certify `memberId` on the machine for `trainerId` now, by the machine dapp's
   * own rules (agent/access/certify-check.ts); without it nobody is certified at the machine.
   */
  checkCertification?(req: { resource: string; trainerId: string; memberId: string; credential: Buffer; at: Date }): CertificationVerdict;
  /**
   * Whether the ledger has the machine out of service, who took it out and why (agent/access/machine-state.ts);
   * undefined when the ledger does not know the machine. Without it the controller keeps the state itself.
   */
  machineState?(machineId: string): MachineServiceState | undefined;
}

export interface MachineServiceState {
  out: boolean;
  reason: string | null;
  /** The maintainer's member id, or the admin's name. */
  by: string | null;
  /** ISO time of the tag-out. */
  since: string | null;
}

export type CertificationVerdict = { ok: true } | { ok: false; reason: string; detail: string };

export type Decision = {
  allow: boolean;
  reason: string;
  rule?: string;
  memberId?: string;
  /** Roles the member holds for this resource, e.g. 'trainer', 'maintainer'. */
  roles?: string[];
};

/**
 * Access events, alarms, sessions, certifications. The agent turns each into a signed ledger event, so
 * bodies hold member ids from decisions and never a badge UID (a UID is a bearer secret on cheap cards,
 * docs/design-notes.md "Credentials").
 */
export interface EventSink {
  record(kind: string, body: Record<string, unknown>): void;
}

export type DoorMode = 'normal' | 'lockdown' | 'held-unlocked';

/** Schedules and lockdown, decided by the agent (e.g. from the ledger's door dapp). */
export interface DoorPolicy {
  mode(doorId: string, at: Date): DoorMode;
}

export interface CardEvent {
  uid: Buffer;
}

/**
 * The PN532 poller: 'card' once when a card arrives, 'card-removed' when it leaves. A plain EventEmitter
 * fits.
 */
export interface CardSource {
  on(event: 'card' | 'card-removed', listener: (ev: CardEvent) => void): unknown;
  off(event: 'card' | 'card-removed', listener: (ev: CardEvent) => void): unknown;
}

/** One output or input pin in node configuration (BCM numbering). */
export interface PinConfig {
  line: number;
  /** Electrical low = on (or, for inputs, low = active). */
  active_low?: boolean;
}

export interface InputPinConfig extends PinConfig {
  /** Default 30 ms for switches and buttons. */
  debounce_ms?: number;
}
