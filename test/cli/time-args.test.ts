// Times as staff type them: weekly windows, durations, dates and wall times in a zone, across
// daylight-saving changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { list, parseArgs, UsageError } from '../../agent/cli/args.ts';
import { checkTz, dateOf, endOfDay, formatLocal, formatUntil, formatWindow, formatZoned, parseDate, parseDuration, parseUntil, parseWhen, parseWindow } from '../../agent/cli/time-args.ts';

test('weekly windows: ranges, lists, wrap-around, names; formatting reads back the same', () => {
  assert.deepEqual(parseWindow('w', 'mon-fri 08:00-20:00'), { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' });
  assert.deepEqual(parseWindow('w', 'Sat,Sun 10:00 - 16:00').days, ['sat', 'sun']);
  assert.deepEqual(parseWindow('w', 'fri-mon 10:00-12:00').days, ['mon', 'fri', 'sat', 'sun']);
  assert.deepEqual(parseWindow('w', 'daily 00:00-24:00').days.length, 7);
  assert.deepEqual(parseWindow('w', 'weekends,wednesday 09:00-10:00').days, ['wed', 'sat', 'sun']);
  for (const text of ['mon-fri 08:00-20:00', 'mon,wed 08:00-09:00', 'mon-wed,fri-sun 07:30-24:00', 'daily 00:00-24:00', 'sun 10:00-11:00']) {
    const w = parseWindow('w', text);
    assert.equal(formatWindow(w), text);
    assert.deepEqual(parseWindow('w', formatWindow(w)), w);
  }
  const bad: Array<[string, RegExp]> = [
    ['mon-fri 8-20', /is not a window/], ['mon-fry 08:00-20:00', /'fry' is not a day/], ['mon-tue-wed 08:00-09:00', /is not a day range/],
    ['mon 20:00-08:00', /20:00 is not before 08:00/], ['mon 08:00-25:00', /'25:00' is not a time/], ['mon 09:60-10:00', /'09:60' is not a time/],
    ['mon 10:00-10:00', /is not before/], [', 08:00-09:00', /names no days/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseWindow('window', text), (e: unknown) => e instanceof UsageError && re.test(e.message) && e.message.startsWith('--window'), text);
});

test('durations and dates', () => {
  assert.equal(parseDuration('for', '2h'), 7_200_000);
  assert.equal(parseDuration('for', '1h30m'), 5_400_000);
  assert.equal(parseDuration('for', '1d'), 86_400_000);
  assert.equal(parseDuration('for', '90m'), 5_400_000);
  for (const bad of ['', '0h', '2 hours', '1.5h', '30s', 'h']) assert.throws(() => parseDuration('for', bad), /--for '.*' is not a duration/, bad);
  assert.equal(endOfDay('until', '2030-12-31'), Date.UTC(2030, 11, 31, 23, 59, 59, 999));
  assert.equal(parseDate('holiday', '2032-02-29'), '2032-02-29');
  for (const bad of ['2031-02-29', '2030-13-01', '2030-1-1', '31.12.2030']) assert.throws(() => parseDate('holiday', bad), /--holiday '.*' is not a date YYYY-MM-DD/, bad);
});

test('wall times in a zone, across daylight-saving changes, and ISO times with a zone', () => {
  const at = (t: string, tz = 'Europe/Berlin') => new Date(parseWhen('from', t, tz)).toISOString();
  assert.equal(at('2030-06-01 18:00'), '2030-06-01T16:00:00.000Z');
  assert.equal(at('2030-01-15T18:00'), '2030-01-15T17:00:00.000Z');
  assert.equal(at('2030-03-31 01:59'), '2030-03-31T00:59:00.000Z');
  assert.equal(at('2030-03-31 03:00'), '2030-03-31T01:00:00.000Z');
  // 02:30 does not exist that night (clocks jump 02:00 -> 03:00): it moves forward by the gap.
  assert.equal(at('2030-03-31 02:30'), '2030-03-31T01:30:00.000Z');
  assert.equal(at('2030-03-10 02:30', 'America/New_York'), '2030-03-10T07:30:00.000Z');
  // 02:30 happens twice when clocks go back: the earlier one, in both hemispheres of offsets.
  assert.equal(at('2030-10-27 02:30'), '2030-10-27T00:30:00.000Z');
  assert.equal(at('2030-11-03 01:30', 'America/New_York'), '2030-11-03T05:30:00.000Z');
  assert.equal(at('2030-06-01T18:00+02:00', 'UTC'), '2030-06-01T16:00:00.000Z');
  assert.equal(at('2030-06-01T18:00Z'), '2030-06-01T18:00:00.000Z');
  for (const bad of ['2030-06-01', '18:00', '2030-06-01 24:00', '2030-02-30 10:00', 'tomorrow']) assert.throws(() => parseWhen('from', bad, 'UTC'), UsageError, bad);
  assert.equal(formatLocal(Date.UTC(2030, 5, 1, 16, 0), 'Europe/Berlin'), '2030-06-01 18:00');
});

test('repeatable options keep every value in order', () => {
  const a = parseArgs(['--window', 'mon 08:00-09:00', '--x', '--window=tue 08:00-09:00', 'pos'], ['x']);
  assert.deepEqual(list(a, 'window'), ['mon 08:00-09:00', 'tue 08:00-09:00']);
  assert.equal(a.flags.get('window'), 'tue 08:00-09:00', 'flags still holds the last value');
  assert.deepEqual(list(a, 'holiday'), []);
  assert.deepEqual(a.pos, ['pos']);
  assert.throws(() => list(parseArgs(['--window']), 'window'), /--window needs a value/);
});

test('the end of a day, --until and labels in a zone, midnight in a daylight-saving gap included', () => {
  assert.equal(new Date(endOfDay('until', '2030-06-30', 'Europe/Zurich')).toISOString(), '2030-06-30T21:59:59.999Z');
  assert.equal(new Date(endOfDay('until', '2030-12-31', 'Europe/Zurich')).toISOString(), '2030-12-31T22:59:59.999Z');
  assert.equal(endOfDay('until', '2030-06-30'), Date.UTC(2030, 5, 30, 23, 59, 59, 999), 'UTC without a zone');
  // Santiago skipped 2024-09-08 00:00 (clocks went from 00:00 to 01:00): the 7th ends at the first instant of the 8th, less 1 ms.
  assert.equal(new Date(endOfDay('until', '2024-09-07', 'America/Santiago')).toISOString(), '2024-09-08T03:59:59.999Z');
  assert.equal(new Date(parseUntil('until', '2030-01-15 18:30', 'Europe/Zurich')).toISOString(), '2030-01-15T17:30:00.000Z');
  assert.equal(new Date(parseUntil('until', '2030-01-15T18:30+05:00', 'Europe/Zurich')).toISOString(), '2030-01-15T13:30:00.000Z');
  assert.equal(new Date(parseWhen('at', '2030-01-15 18:30:15', 'UTC')).toISOString(), '2030-01-15T18:30:15.000Z', 'seconds');
  assert.equal(dateOf(endOfDay('until', '2030-06-30', 'Asia/Tokyo'), 'Asia/Tokyo'), '2030-06-30');
  assert.equal(formatZoned(Date.UTC(2026, 11, 8, 13, 3), 'Europe/Zurich'), '2026-12-08 14:03 CET');
  assert.equal(formatZoned(Date.UTC(2026, 6, 8, 13, 3), 'America/New_York'), '2026-07-08 09:03 GMT-4');
  assert.equal(formatUntil(endOfDay('until', '2030-06-30', 'Europe/Zurich'), 'Europe/Zurich'), '2030-06-30', 'an end of day is shown as its date');
  assert.equal(formatUntil(Date.UTC(2030, 5, 30, 12), 'Europe/Zurich'), '2030-06-30 14:00 CEST');
  assert.throws(() => checkTz('tz', 'Mars/Olympus'), UsageError);
  assert.throws(() => checkTz('tz', '+01:00'), /is not a time zone/, 'an offset is not a zone the ledger accepts');
  assert.equal(checkTz('tz', 'America/Argentina/Buenos_Aires'), 'America/Argentina/Buenos_Aires');
});
