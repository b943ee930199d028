// Machine (tool lockout) node configuration, validated at start like door-config.ts.
import { ControllerConfigError, fieldReader, isRecord } from './config-error.ts';
import { checkDistinctLines } from './door-config.ts';

export type MachineMode = 'card-present' | 'session';

export interface MachinePins {
  /** Lockout relay / interlock; logical on = energised = machine enabled (docs/design-notes.md: de-energised disables). */
  relay: { line: number; active_low: boolean };
  led?: { line: number; active_low: boolean };
  buzzer?: { line: number; active_low: boolean };
  /** Maintainer button at the machine; logical on = pressed. Needed for the out-of-service gesture. */
  button?: { line: number; active_low: boolean; debounce_ms: number };
}

export interface MachineConfig {
  id: string;
  /** Resource name handed to the AccessDecider. Default "machine:<id>". */
  resource: string;
  /** card-present: runs while the card stays on the reader. session: runs for session_ms after a badge. */
  mode: MachineMode;
  /** Session length, 10000..86400000 ms, default 300000 (docs/design-notes.md: 300 s). */
  session_ms: number;
  /** Warning before a session ends, 0..session_ms/2 ms, default min(30000, session_ms/2); 0 = none. */
  warning_ms: number;
  /** Session mode: holding the card this long ends the session (badge-out), 500..10000 ms, default 2000. */
  badge_out_hold_ms: number;
  /** After a trainer badges, a member badging within this window is certified, 5000..600000, default 60000. */
  certify_window_ms: number;
  pins: MachinePins;
}

export function parseMachineConfig(raw: unknown): MachineConfig {
  if (!isRecord(raw) || typeof raw['id'] !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(raw['id'])) {
    throw new ControllerConfigError('machine.id', `machine: id must be a name of letters, digits, - and _, got ${
      JSON.stringify(isRecord(raw) ? raw['id'] : raw) ?? 'nothing'}`);
  }
  const id = raw['id'];
  const f = fieldReader(`machine '${id}'`, `machine.${id}`, raw);
  const resource = raw['resource'] === undefined ? `machine:${id}` : raw['resource'];
  if (typeof resource !== 'string' || resource === '') f.fail('resource', 'a non-empty string', resource);
  const session_ms = f.int('session_ms', 10_000, 86_400_000, 300_000);
  const halfSession = Math.floor(session_ms / 2);
  const cfg: MachineConfig = {
    id,
    resource: resource as string,
    mode: f.oneOf('mode', ['card-present', 'session'] as const, 'session'),
    session_ms,
    warning_ms: f.int('warning_ms', 0, halfSession, Math.min(30_000, halfSession)),
    badge_out_hold_ms: f.int('badge_out_hold_ms', 500, 10_000, 2_000),
    certify_window_ms: f.int('certify_window_ms', 5_000, 600_000, 60_000),
    pins: {
      relay: f.pin('pins.relay', true),
      led: f.pin('pins.led', false),
      buzzer: f.pin('pins.buzzer', false),
      button: f.inputPin('pins.button', 30),
    },
  };
  checkDistinctLines(`machine '${id}'`, `machine.${id}`, cfg.pins);
  return cfg;
}
