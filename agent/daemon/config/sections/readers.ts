// PN532 readers on a serial port (drivers/pn532), or simulated ones for the simulated site.
import { c, type Node } from '../schema.ts';
import { ID_PATTERN, ID_TEXT } from './pins.ts';

export const readerSchema = c.obj('One PN532 reader.', {
  id: c.str('Reader name; doors and machines refer to it.', 'main', { pattern: ID_PATTERN, patternText: ID_TEXT }),
  transport: c.oneOf('serial: a PN532 on a UART or USB adapter. simulated: a PN532 simulator inside the agent, badged through the status endpoint (simulated site and tests only).',
    ['serial', 'simulated'], 'serial'),
  path: c.str('Serial device (Pi 5: /dev/ttyAMA0; Pi 3/4: /dev/serial0 with a fixed core clock; USB adapters: /dev/ttyUSB0).',
    '/dev/ttyAMA0', { minLength: 1 }),
  baud: c.int('Serial speed; a PN532 on HSU runs at 115200 after reset.', 9_600, 1_288_000, 115_200),
  poll_ms: c.int('Pause between polls for a card (docs/design-notes.md: 100-250 ms).', 50, 1_000, 150),
  health_check_ms: c.int('How often an idle reader is asked for its firmware version.', 500, 60_000, 5_000),
  reset_line: c.int('BCM line wired to the PN532\'s RSTPDN, pulsed as a last resort when the reader stops answering; null when not wired.',
    0, 53, null, { nullable: true }),
});

export const readersSchema: Node = c.list('Badge readers. Each door or machine uses one reader of its own.', readerSchema, { maxItems: 8 });
