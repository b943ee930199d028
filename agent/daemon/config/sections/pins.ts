// Pin blocks shared by the door and machine fragments (BCM numbering, docs/design-notes.md "GPIO on Raspberry Pi
// OS"); the controllers' parsers (agent/controllers/*-config.ts) hold the same limits.
import { c, type Node } from '../schema.ts';

export function outputPin(description: string, required: boolean): Node {
  return c.obj(`${description}${required ? '' : ' Leave out when not connected.'}`, {
    line: c.int('BCM GPIO line number.', 0, 53, undefined),
    active_low: c.bool('The driver switches on when the pin is low (an active-low relay board).', false),
  }, ['line']);
}

export function inputPin(description: string): Node {
  return c.obj(`${description} Leave out when not connected.`, {
    line: c.int('BCM GPIO line number.', 0, 53, undefined),
    active_low: c.bool('Active when the pin is low (a switch to ground with a pull-up).', false),
    debounce_ms: c.int('A new level must hold this long before it counts (switches bounce).', 0, 1000, 30),
  }, ['line']);
}

/** Names of letters, digits, - and _ (door, machine and reader ids). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
export const ID_TEXT = 'a name of letters, digits, - and _';
