// Machine (tool lockout) blocks. Limits and defaults mirror agent/controllers/machine-config.ts, which
// parses each block after this schema has checked its shape.
import { c, type Node } from '../schema.ts';
import { ID_PATTERN, ID_TEXT, inputPin, outputPin } from './pins.ts';

export const machineSchema = c.obj('One machine lockout: interlock relay, optional LED, buzzer and maintainer button.', {
  id: c.str('Machine name, used in events, status and the resource name.', undefined, { pattern: ID_PATTERN, patternText: ID_TEXT }),
  resource: c.str('Resource name the access rules use for this machine.', undefined, { minLength: 1, derived: '"machine:<id>"' }),
  reader: c.str('Id of the reader at this machine.', undefined, { pattern: ID_PATTERN, patternText: ID_TEXT, derived: 'the first reader' }),
  mode: c.oneOf('card-present: runs while the card stays on the reader. session: runs for session_ms after a badge, extended by badging again.',
    ['card-present', 'session'], 'session'),
  session_ms: c.int('Session length (docs/design-notes.md: 300 s).', 10_000, 86_400_000, 300_000),
  warning_ms: c.int('Warning (buzzer, blinking LED) before a session ends; 0 for none; at most session_ms/2.',
    0, 43_200_000, undefined, { derived: 'min(30000, session_ms/2)' }),
  badge_out_hold_ms: c.int('Session mode: holding the card this long ends the session.', 500, 10_000, 2_000),
  certify_window_ms: c.int('After a trainer badges, the next member badging within this window is certified.', 5_000, 600_000, 60_000),
  pins: c.obj('Wiring (BCM numbers); every line used once.', {
    relay: outputPin('Lockout relay / interlock; on = energised = machine enabled.', true),
    led: outputPin('Status LED.', false),
    buzzer: outputPin('Buzzer.', false),
    button: inputPin('Maintainer button at the machine (hold it and badge to toggle out-of-service).'),
  }, ['relay']),
}, ['id', 'pins']);

export const machinesSchema: Node = c.list('Machines this node locks out.', machineSchema, { maxItems: 4 });
