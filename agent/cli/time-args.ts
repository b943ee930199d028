// Times as staff type them on the command line: dates, durations, local wall times and weekly
// windows. Every parse error is a UsageError naming the option and what was expected (exit 2).
import { DAYS, HHMM, type Day, type Window } from '../../dapps/door/schedule.ts';
import { UsageError } from './args.ts';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function dateParts(flag: string, text: string): [number, number, number] {
  const m = DATE_RE.exec(text);
  const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (!m || t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) {
    throw new UsageError(`--${flag} '${text}' is not a date YYYY-MM-DD`);
  }
  return [y, mo, d];
}

/** A calendar date, checked (2025-02-30 is refused). */
export function parseDate(flag: string, text: string): string {
  dateParts(flag, text);
  return text;
}

/** The instant a wall-clock time in `tz` names; see parseWhen for clocks that go back or forward. */
function wallToUtc(y: number, mo: number, d: number, h: number, mi: number, tz: string, sec = 0): number {
  // The offsets in force a day either side; a wall time that both read as itself is ambiguous
  // (clocks went back) and takes the earlier instant; one that neither does is in a gap (clocks went
  // forward) and moves forward by the gap, like a clock that was not yet changed.
  const guess = Date.UTC(y, mo - 1, d, h, mi, sec);
  const before = offsetAt(guess - 86_400_000, tz);
  const fits = [before, offsetAt(guess + 86_400_000, tz)].map((o) => guess - o).filter((t) => guess - offsetAt(t, tz) === t);
  return fits.length ? Math.min(...fits) : guess - before;
}

/**
 * The end of a day in `tz` (the site's zone; UTC by default), in epoch ms: the last millisecond
 * before the next day starts there. What `until` means for members and certificates.
 */
export function endOfDay(flag: string, text: string, tz = 'UTC'): number {
  const [y, mo, d] = dateParts(flag, text);
  const next = new Date(Date.UTC(y, mo - 1, d + 1));
  return wallToUtc(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, tz) - 1;
}

/**
 * An end time as staff type it for --until: a date (the end of that day in `tz`), a wall time
 * 'YYYY-MM-DD HH:MM' in `tz`, or an ISO time with its own offset.
 */
export function parseUntil(flag: string, text: string, tz: string): number {
  return DATE_RE.test(text) ? endOfDay(flag, text, tz) : parseWhen(flag, text, tz);
}

/** The date of an instant in `tz` (UTC by default); endOfDay(dateOf(t, tz), tz) is t for times endOfDay made. */
export function dateOf(ms: number | null, tz = 'UTC'): string {
  return ms === null ? '' : formatLocal(ms, tz).slice(0, 10);
}

export function isoOf(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** '2h', '90m', '1d12h', '1h30m' in ms. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(text);
  const ms = m ? (Number(m[1] ?? 0) * 24 * 60 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 60_000 : 0;
  if (!m || ms <= 0) throw new UsageError(`--${flag} '${text}' is not a duration (e.g. 2h, 90m, 1d, 1h30m)`);
  return ms;
}

/** An IANA zone this computer knows, in the shape the ledger accepts (dapps/org/index.ts tzSchema). */
export function checkTz(flag: string, tz: string): string {
  try {
    if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/.test(tz)) throw new RangeError(tz);
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
  } catch {
    throw new UsageError(`--${flag} '${tz}' is not a time zone (expected an IANA name such as Europe/Berlin)`);
  }
  return tz;
}

export function localTz(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** How far `tz`'s wall clock is ahead of UTC at instant `ms`. */
function offsetAt(ms: number, tz: string): number {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']!, p['minute']!, p['second']!) - Math.floor(ms / 1000) * 1000;
}

/**
 * An instant: an ISO time with a zone ('2025-06-01T18:00Z', '...+02:00'), or a wall time
 * 'YYYY-MM-DD HH:MM' (or with 'T') read in `tz`.
 */
export function parseWhen(flag: string, text: string, tz: string): number {
  const wall = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (wall) {
    const [y, mo, d] = dateParts(flag, wall[1]!);
    const h = Number(wall[2]);
    const mi = Number(wall[3]);
    const sec = Number(wall[4] ?? 0);
    if (h > 23 || mi > 59 || sec > 59) throw new UsageError(`--${flag} '${text}' has no such time of day`);
    return wallToUtc(y, mo, d, h, mi, tz, sec);
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const t = Date.parse(text);
    if (Number.isFinite(t)) return t;
  }
  throw new UsageError(`--${flag} '${text}' is not a time (expected 'YYYY-MM-DD HH:MM' in ${tz}, or ISO with a zone such as 2025-06-01T18:00Z)`);
}

const DAY_WORDS: Record<string, readonly Day[]> = { daily: DAYS, all: DAYS, weekdays: DAYS.slice(0, 5), weekends: DAYS.slice(5) };

const FULL = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

function dayIndex(flag: string, window: string, word: string): number {
  const i = Math.max((DAYS as readonly string[]).indexOf(word), FULL.indexOf(word));
  if (i < 0) throw new UsageError(`--${flag} '${window}': '${word}' is not a day (mon..sun, a range such as mon-fri, or daily)`);
  return i;
}

/** 'mon-fri 08:00-20:00', 'sat,sun 10:00-16:00', 'daily 00:00-24:00'; ranges may wrap (fri-mon). */
export function parseWindow(flag: string, text: string): Window {
  const m = /^\s*(\S+)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$/.exec(text.toLowerCase());
  if (!m) throw new UsageError(`--${flag} '${text}' is not a window (expected DAYS HH:MM-HH:MM, e.g. 'mon-fri 08:00-20:00')`);
  const picked = new Set<number>();
  for (const item of m[1]!.split(',').filter(Boolean)) {
    const named = DAY_WORDS[item];
    if (named) { for (const d of named) picked.add(DAYS.indexOf(d)); continue; }
    const [a, b, extra] = item.split('-');
    if (extra !== undefined) throw new UsageError(`--${flag} '${text}': '${item}' is not a day range`);
    const from = dayIndex(flag, text, a!);
    const to = b === undefined ? from : dayIndex(flag, text, b);
    for (let i = from; ; i = (i + 1) % 7) { picked.add(i); if (i === to) break; }
  }
  const [from, to] = [m[2]!, m[3]!];
  for (const t of [from, to]) if (!HHMM.test(t)) throw new UsageError(`--${flag} '${text}': '${t}' is not a time HH:MM (00:00 to 24:00)`);
  if (from >= to) throw new UsageError(`--${flag} '${text}': ${from} is not before ${to} (a window past midnight is two windows: ..-24:00 and 00:00-..)`);
  if (picked.size === 0) throw new UsageError(`--${flag} '${text}' names no days`);
  return { days: [...picked].sort((x, y) => x - y).map((i) => DAYS[i]!), from, to };
}

/** A window as staff typed it, for listings. */
export function formatWindow(w: Window): string {
  const idx = w.days.map((d) => DAYS.indexOf(d)).sort((x, y) => x - y);
  const runs: string[] = [];
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j++;
    runs.push(j - i >= 2 ? `${DAYS[idx[i]!]}-${DAYS[idx[j]!]}` : idx.slice(i, j + 1).map((k) => DAYS[k]).join(','));
    i = j + 1;
  }
  return `${idx.length === 7 ? 'daily' : runs.join(',')} ${w.from}-${w.to}`;
}

/** The zone's short name at an instant, as a label: 'CET', 'BST', 'UTC', or 'GMT-4' where it has none in English. */
export function zoneAbbr(ms: number, tz: string): string {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, timeZoneName: 'short' });
  return f.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? tz;
}

/** 'YYYY-MM-DD HH:MM CET': a time as people read it, labelled with its zone. */
export function formatZoned(ms: number, tz: string): string {
  return `${formatLocal(ms, tz)} ${zoneAbbr(ms, tz)}`;
}

/**
 * An end of membership or certificate for people: the date alone when it is the end of a day in
 * `tz` (what --until DATE makes), the labelled time otherwise.
 */
export function formatUntil(ms: number, tz: string): string {
  const date = dateOf(ms, tz);
  return endOfDay('until', date, tz) === ms ? date : formatZoned(ms, tz);
}

/** 'YYYY-MM-DD HH:MM' on `tz`'s wall clock. */
export function formatLocal(ms: number, tz: string): string {
  const p: Record<string, string> = {};
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  for (const part of f.formatToParts(new Date(ms))) p[part.type] = part.value;
  return `${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']}`;
}
