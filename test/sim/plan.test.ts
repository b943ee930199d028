// The demo site's time zone choice (agent/sim/plan.ts): at any instant of the year, daylight saving
// either side, some zone is mid-afternoon (within 2.5 h of 14:00), so Alice is inside open hours and Frank outside his evening
// pass whenever the demo runs, and the scripted answers in site.test.ts hold at any hour.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { localTime, matchSchedule, type Schedule } from '../../dapps/door/schedule.ts';
import { schedules, siteZone } from '../../agent/sim/plan.ts';

it('every 20 minutes of a year: a zone within 2.5 h of 14:00, open hours admit, the evening pass does not', () => {
  const start = Date.UTC(2026, 0, 1);
  let checked = 0;
  for (let t = start; t < start + 366 * 86_400_000; t += 20 * 60_000) {
    const at = new Date(t);
    const { tz, local } = siteZone(at);
    const minute = localTime(at, tz).minute;
    assert.ok(Math.abs(minute - 14 * 60) <= 150, `${at.toISOString()}: ${tz} at ${local}, not within 2.5 h of 14:00`);
    const [open, evenings] = schedules(tz).map((s) => ({ ...s, holidays: [] }) as Schedule);
    assert.ok(matchSchedule(open!, at), `${at.toISOString()}: open hours in ${tz}`);
    assert.equal(matchSchedule(evenings!, at), null, `${at.toISOString()}: evening pass in ${tz}`);
    // A demo lasts minutes: an hour later the answers are still the same.
    const later = new Date(t + 3_600_000);
    assert.ok(matchSchedule(open!, later) && matchSchedule(evenings!, later) === null, `${later.toISOString()} in ${tz}`);
    checked += 1;
  }
  assert.equal(checked, 366 * 72);
});
