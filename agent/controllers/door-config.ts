// Door node configuration: defaults and limits, validated once at start so a bad value stops the agent
// with a message naming the key instead of misbehaving at the door.
import { ControllerConfigError, fieldReader, isRecord } from './config-error.ts';

export type FailMode = 'fail-secure' | 'fail-safe';

export interface DoorPins {
  /** Strike or maglock relay; logical on = energised. */
  strike: { line: number; active_low: boolean };
  /** Door-position (reed) switch; logical on = door open. Optional: without it no early relock, no alarms. */
  door_switch?: { line: number; active_low: boolean; debounce_ms: number };
  /** Request-to-exit button; logical on = pressed. */
  rex?: { line: number; active_low: boolean; debounce_ms: number };
  led?: { line: number; active_low: boolean };
  buzzer?: { line: number; active_low: boolean };
}

export interface DoorConfig {
  id: string;
  /** Resource name handed to the AccessDecider. Default "door:<id>". */
  resource: string;
  /**
   * fail-secure: a strike that unlocks while energised (locked when unpowered).
   * fail-safe: a maglock that locks while energised (released when unpowered).
   * Either way the safe output level is de-energised; see door.ts for what that means at the door.
   */
  fail_mode: FailMode;
  /** Unlock pulse after a grant, 500..10000 ms, default 5000 (docs/design-notes.md: 3-5 s). */
  unlock_ms: number;
  /** Unlock pulse after a request-to-exit, 500..10000 ms, default unlock_ms. */
  rex_unlock_ms: number;
  /**
   * Hard cap on one continuous energised stretch of a fail-secure strike, enforced by a guard that ignores
   * everything else (solenoids overheat, docs/design-notes.md "Doors and machines"). Default 15000. Set it to the
   * strike's rated on-time; held-unlocked periods longer than this need a continuous-duty strike and a
   * larger value. Not used for fail-safe maglocks, which are energised whenever locked.
   */
  max_energised_ms: number;
  /** Held-open alarm after the door stays open this long, 1000..3600000 ms, default 30000. */
  held_open_ms: number;
  /** An opening this soon after an unlock ended still counts as authorised, 0..10000 ms, default 1000. */
  open_grace_ms: number;
  /** How often the DoorPolicy is asked for the mode, 250..60000 ms, default 1000. */
  policy_poll_ms: number;
  pins: DoorPins;
}

export const UNLOCK_MS = { min: 500, max: 10_000, dflt: 5_000 } as const;
const MAX_ENERGISED_LIMIT = 86_400_000;

export function parseDoorConfig(raw: unknown): DoorConfig {
  if (!isRecord(raw) || typeof raw['id'] !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(raw['id'])) {
    throw new ControllerConfigError('door.id', `door: id must be a name of letters, digits, - and _, got ${
      JSON.stringify(isRecord(raw) ? raw['id'] : raw) ?? 'nothing'}`);
  }
  const id = raw['id'];
  const f = fieldReader(`door '${id}'`, `door.${id}`, raw);
  const resource = raw['resource'] === undefined ? `door:${id}` : raw['resource'];
  if (typeof resource !== 'string' || resource === '') f.fail('resource', 'a non-empty string', resource);
  const unlock_ms = f.int('unlock_ms', UNLOCK_MS.min, UNLOCK_MS.max, UNLOCK_MS.dflt);
  const rex_unlock_ms = f.int('rex_unlock_ms', UNLOCK_MS.min, UNLOCK_MS.max, unlock_ms);
  const longest = Math.max(unlock_ms, rex_unlock_ms);
  const cfg: DoorConfig = {
    id,
    resource: resource as string,
    fail_mode: f.oneOf('fail_mode', ['fail-secure', 'fail-safe'] as const, 'fail-secure'),
    unlock_ms,
    rex_unlock_ms,
    max_energised_ms: f.int('max_energised_ms', longest, MAX_ENERGISED_LIMIT, Math.max(15_000, longest)),
    held_open_ms: f.int('held_open_ms', 1_000, 3_600_000, 30_000),
    open_grace_ms: f.int('open_grace_ms', 0, 10_000, 1_000),
    policy_poll_ms: f.int('policy_poll_ms', 250, 60_000, 1_000),
    pins: {
      strike: f.pin('pins.strike', true),
      door_switch: f.inputPin('pins.door_switch', 30),
      rex: f.inputPin('pins.rex', 30),
      led: f.pin('pins.led', false),
      buzzer: f.pin('pins.buzzer', false),
    },
  };
  checkDistinctLines(`door '${id}'`, `door.${id}`, cfg.pins);
  return cfg;
}

/** Two roles on one pin would make a button press drive a relay: refuse it at start. */
export function checkDistinctLines(what: string, path: string, pins: object): void {
  const seen = new Map<number, string>();
  for (const [name, pin] of Object.entries(pins) as [string, { line: number } | undefined][]) {
    if (!pin) continue;
    const other = seen.get(pin.line);
    if (other) {
      throw new ControllerConfigError(`${path}.pins.${name}.line`,
        `${what}: pins.${name}.line must differ from pins.${other}.line, got ${pin.line} for both`);
    }
    seen.set(pin.line, name);
  }
}
