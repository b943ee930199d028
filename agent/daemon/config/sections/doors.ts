// Door blocks. Limits and defaults mirror agent/controllers/door-config.ts, which parses each block after
// this schema has checked its shape; test/daemon/config-controllers.test.ts keeps the two in step.
import { c, type Node } from '../schema.ts';
import { ID_PATTERN, ID_TEXT, inputPin, outputPin } from './pins.ts';

export const doorSchema = c.obj('One door: strike or maglock, optional door switch, exit button, LED and buzzer.', {
  id: c.str('Door name, used in events, status and the resource name.', undefined, { pattern: ID_PATTERN, patternText: ID_TEXT }),
  resource: c.str('Resource name the access rules use for this door.', undefined, { minLength: 1, derived: '"door:<id>"' }),
  reader: c.str('Id of the reader at this door.', undefined, { pattern: ID_PATTERN, patternText: ID_TEXT, derived: 'the first reader' }),
  fail_mode: c.oneOf('fail-secure: a strike that unlocks while energised. fail-safe: a maglock that locks while energised (it must also be released by the fire system in hardware).',
    ['fail-secure', 'fail-safe'], 'fail-secure'),
  unlock_ms: c.int('Unlock time after a granted badge (docs/design-notes.md: 3-5 s); ends early when the door opens.', 500, 10_000, 5_000),
  rex_unlock_ms: c.int('Unlock time after the exit button.', 500, 10_000, undefined, { derived: 'unlock_ms' }),
  max_energised_ms: c.int('Hard cap on one energised stretch of a fail-secure strike (solenoids overheat); set it to the strike\'s rated on-time. At least the longer unlock time.',
    500, 86_400_000, undefined, { derived: 'max(15000, unlock_ms, rex_unlock_ms)' }),
  held_open_ms: c.int('Held-open alarm after the door stays open this long.', 1_000, 3_600_000, 30_000),
  open_grace_ms: c.int('An opening this soon after an unlock ended still counts as authorised.', 0, 10_000, 1_000),
  policy_poll_ms: c.int('How often schedules and lockdown are re-read.', 250, 60_000, 1_000),
  pins: c.obj('Wiring (BCM numbers); every line used once.', {
    strike: outputPin('Strike or maglock relay; on = energised.', true),
    door_switch: inputPin('Door-position (reed) switch; active = door open. Without it: no early relock, no alarms.'),
    rex: inputPin('Request-to-exit button; active = pressed.'),
    led: outputPin('Status LED.', false),
    buzzer: outputPin('Buzzer.', false),
  }, ['strike']),
}, ['id', 'pins']);

export const doorsSchema: Node = c.list('Doors this node drives.', doorSchema, { maxItems: 4 });
