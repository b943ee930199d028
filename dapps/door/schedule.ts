// Weekly schedules in a site's local time. A schedule is a set of weekly windows plus holiday
// dates on which it grants nothing; it is evaluated in its IANA time zone, so a door opens at
// 09:00 local time on both sides of a daylight-saving change.
import { reject } from '../../agent/ledger/errors.ts';

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];

export interface Window { days: Day[]; from: string; to: string }
export interface Schedule { id: string; name: string; tz: string; windows: Window[]; holidays: string[] }

export const HHMM = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;
export const DATE = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$/;

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function checkTimeZone(tz: string, path: string): void {
  try { new Intl.DateTimeFormat('en-GB', { timeZone: tz }); } catch {
    reject('INVALID_BODY', `${path}: unknown time zone '${tz}' (expected an IANA name such as Europe/Berlin)`);
  }
}

export function checkWindows(ws: Window[]): void {
  ws.forEach((w, i) => {
    if (minutes(w.from) >= minutes(w.to)) reject('INVALID_BODY', `body.windows[${i}]: from ${w.from} is not before to ${w.to}`);
  });
}

export interface LocalTime { date: string; day: Day; minute: number }

// Intl formatters are costly to build and cheap to reuse: one per zone, for the decision hot path.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

export function localTime(at: Date, tz: string): LocalTime {
  const p: Record<string, string> = {};
  for (const part of formatter(tz).formatToParts(at)) p[part.type] = part.value;
  return {
    date: `${p['year']}-${p['month']}-${p['day']}`,
    day: p['weekday']!.toLowerCase().slice(0, 3) as Day,
    minute: Number(p['hour']) * 60 + Number(p['minute']),
  };
}

/** The window that admits `at`, or null (a holiday admits nothing). */
export function matchSchedule(sc: Schedule, at: Date): { window: number } | { holiday: string } | null {
  const t = localTime(at, sc.tz);
  if (sc.holidays.includes(t.date)) return { holiday: t.date };
  const i = sc.windows.findIndex((w) => w.days.includes(t.day) && t.minute >= minutes(w.from) && t.minute < minutes(w.to));
  return i < 0 ? null : { window: i };
}
