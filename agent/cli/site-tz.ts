// The site's time zone as commands read and show times in it: recorded in the organisation's
// genesis by `gdo init --tz` (dapps/org/index.ts), overridden per command by --tz. A ledger made
// before the zone was recorded reads and shows UTC, and the output says so.
import type { Ledger } from '../ledger/ledger.ts';
import type { OrgMeta } from '../../dapps/org/index.ts';
import { str, type Args } from './args.ts';
import type { Output } from './output.ts';
import { readLedger } from './staff-session.ts';
import { checkTz } from './time-args.ts';

export interface Zone {
  tz: string;
  /** Where it came from: the ledger, --tz, or the UTC fallback of a ledger that records none. */
  source: 'site' | 'option' | 'fallback';
}

export function zoneOf(a: Args, l: Ledger): Zone {
  if (a.flags.has('tz')) return { tz: checkTz('tz', str(a, 'tz')), source: 'option' };
  const tz = l.get<OrgMeta>('org/meta')?.tz;
  return tz === undefined ? { tz: 'UTC', source: 'fallback' } : { tz, source: 'site' };
}

/** The zone, reading the ledger once (for commands that parse times before they sign). */
export function readZone(a: Args): Zone {
  return readLedger(a, (l) => zoneOf(a, l));
}

const FALLBACK = 'this ledger records no site time zone (made before gdo init --tz)';

/** The label for listings: 'times in Europe/Zurich'. */
export function zoneHeader(z: Zone): string {
  return z.source === 'fallback' ? `times in UTC (${FALLBACK})` : `times in ${z.tz}`;
}

/** Says once, as a warning, that a time typed without an offset was read in UTC for want of a site zone. */
export function noteFallback(z: Zone, out: Output, flag: string): void {
  if (z.source === 'fallback') out.warn(`--${flag} read in UTC: ${FALLBACK}; give --tz ZONE or a time with an offset`);
}
