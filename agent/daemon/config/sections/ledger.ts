// The ledger replica (agent/ledger): an SQLite file under state_dir.
import { c, type Node } from '../schema.ts';

export const ledgerSchema: Node = c.obj('The local replica of the signed ledger.', {
  file: c.str('SQLite database file.', 'ledger.db', { minLength: 1 }),
  synchronous: c.oneOf('SQLite durability: FULL makes every access record durable before the door reacts to the next badge (an SD card loses power without warning); NORMAL may lose the last commits on power loss.',
    ['FULL', 'NORMAL'], 'FULL'),
  health_check_ms: c.int('How often the database is checked (a read of its metadata and the file\'s identity); a failed check makes outputs safe.',
    500, 60_000, 5_000),
  max_skew_ms: c.int('Events dated further than this ahead of this node\'s clock wait instead of being applied (docs/design-notes.md lesson 5). At most access.clock_tolerance_ms, so an event this node accepts cannot make its own clock look behind.',
    0, 86_400_000, 120_000),
});
