// `gdo door ...`, `gdo machine ...`, `gdo certify`, `gdo decertify` and `gdo site` on a data directory:
// schedules, rules, lockdown per door and site-wide, held-unlocked periods, roles, certificates,
// out of service; malformed input is exit 2 before any event, refusals exit 3.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { scheduleKey } from '../../dapps/door/index.ts';
import type { Schedule } from '../../dapps/door/schedule.ts';
import { batch, json, refused, tempDir, type Run } from './helpers.ts';

interface DoorRow { id: string; fail: string; node: string | null; rules: Array<{ group: string; schedule: string | null }>; lockdown: { door: string; exempt: string[]; reason: string | null } | null; holds: Array<{ from: string; to: string }> }
interface DoorList { doors: DoorRow[]; schedules: Schedule[]; site_lockdown: { exempt: string[]; reason: string | null } | null }
interface MachineRow { id: string; out: boolean; out_reason: string | null; trainers: string[]; maintainers: string[]; cert_required: boolean; cert_days: number | null; certified: number }

const HOUR = 3_600_000;

describe('gdo door, gdo machine, gdo certify, gdo site', () => {
  const t = tempDir('doors');
  const data = join(t.dir, 'site');
  const d = ['--data', data];
  let r: Record<string, Run>;
  let started = 0;

  before(() => {
    started = Date.now();
    r = batch(t.dir, [
      ['init', ['init', '--name', 'Test Space', ...d]],
      ['alice', ['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members,staff', ...d]],
      ['bob', ['member', 'add', 'bob', '--name', 'Bob', '--groups', 'members', ...d]],
      ['carol', ['member', 'add', 'carol', '--name', 'Carol', '--groups', 'members', ...d]],
      ['schedule', ['door', 'schedule', 'open-hours', '--name', 'Open hours', '--tz', 'Europe/Berlin', '--window', 'mon-fri 08:00-20:00', '--window', 'sat,sun 10:00-16:00', '--holiday', '2030-12-25', '--holiday', '2030-12-26', ...d, '--json']],
      ['scheduleBadTz', ['door', 'schedule', 'x', '--tz', 'Mars/Olympus', '--window', 'mon 08:00-09:00', ...d]],
      ['scheduleNoWindow', ['door', 'schedule', 'x', '--tz', 'UTC', ...d]],
      ['scheduleBadWindow', ['door', 'schedule', 'x', '--tz', 'UTC', '--window', 'mon-fri 8-20', ...d]],
      ['scheduleBadDay', ['door', 'schedule', 'x', '--tz', 'UTC', '--window', 'mon-fry 08:00-20:00', ...d]],
      ['scheduleMidnight', ['door', 'schedule', 'x', '--tz', 'UTC', '--window', 'fri 22:00-02:00', ...d]],
      ['scheduleBadHoliday', ['door', 'schedule', 'x', '--tz', 'UTC', '--window', 'daily 00:00-24:00', '--holiday', '2030-13-01', ...d]],
      ['doorAdd', ['door', 'add', 'front', '--name', 'Front door', '--node', 'front-door', '--rule', 'members@open-hours', '--rule', 'staff', ...d, '--json']],
      ['doorAddBadRule', ['door', 'add', 'x', '--name', 'X', '--rule', 'Members', ...d]],
      ['doorAddNoSchedule', ['door', 'add', 'x', '--name', 'X', '--rule', 'members@nope', ...d]],
      ['doorAddBadFail', ['door', 'add', 'x', '--name', 'X', '--fail', 'open', ...d]],
      ['workshop', ['door', 'add', 'workshop', '--name', 'Workshop', '--fail', 'safe', ...d]],
      ['doorUpdate', ['door', 'update', 'workshop', '--rule', 'woodshop@open-hours', ...d, '--json']],
      ['doorUpdateNothing', ['door', 'update', 'workshop', ...d]],
      ['lockdownNeither', ['door', 'lockdown', ...d]],
      ['lockdownBoth', ['door', 'lockdown', '--door', 'front', '--site', ...d]],
      ['lockdownFront', ['door', 'lockdown', '--door', 'front', '--exempt', 'staff', '--reason', 'drill', ...d, '--json']],
      ['lockdownAgain', ['door', 'lockdown', '--door', 'front', ...d]],
      ['listLocked', ['door', 'list', ...d, '--json']],
      ['liftFront', ['door', 'lift', '--door', 'front', ...d, '--json']],
      ['liftAgain', ['door', 'lift', 'front', ...d]],
      ['lockdownSite', ['door', 'lockdown', '--site', ...d, '--json']],
      ['listSite', ['door', 'list', ...d, '--json']],
      ['siteDuring', ['site', ...d, '--json']],
      ['liftSite', ['door', 'lift', '--site', ...d]],
      ['unlockFor', ['door', 'unlock', 'front', '--for', '2h', ...d, '--json']],
      ['unlockRange', ['door', 'unlock', '--door', 'workshop', '--from', '2030-06-01 18:00', '--to', '2030-06-01 22:00', '--tz', 'Europe/Berlin', ...d, '--json']],
      ['unlockNoPeriod', ['door', 'unlock', 'front', ...d]],
      ['unlockPast', ['door', 'unlock', 'front', '--from', '2020-01-01 10:00', '--to', '2020-01-01T12:00Z', ...d]],
      ['unlockTooLong', ['door', 'unlock', 'front', '--for', '32d', ...d]],
      ['unlockBadDuration', ['door', 'unlock', 'front', '--for', '2 hours', ...d]],
      ['unlockUnknownDoor', ['door', 'unlock', 'back', '--for', '1h', ...d]],
      ['listHeld', ['door', 'list', ...d, '--json']],
      ['cancel', ['door', 'unlock', 'front', '--cancel', ...d, '--json']],
      ['listAfterCancel', ['door', 'list', ...d, '--json']],
      ['doorListText', ['door', 'list', '--tz', 'Europe/Berlin', ...d]],
      ['laser', ['machine', 'add', 'laser', '--name', 'Laser cutter', '--node', 'laser-node', '--cert-days', '365', ...d, '--json']],
      ['drill', ['machine', 'add', 'drill', '--name', 'Drill press', '--no-cert', ...d, '--json']],
      ['machineBadDays', ['machine', 'add', 'x', '--name', 'X', '--cert-days', '0', ...d]],
      ['trainerAdd', ['machine', 'trainer', 'add', '--machine', 'laser', '--member', 'alice', ...d, '--json']],
      ['trainerAgain', ['machine', 'trainer', 'add', '--machine', 'laser', '--member', 'alice', ...d]],
      ['trainerNoVerb', ['machine', 'trainer', '--machine', 'laser', '--member', 'alice', ...d]],
      ['maintainerAdd', ['machine', 'maintainer', 'add', '--machine', 'laser', '--member', 'bob', ...d]],
      ['maintainerAdd2', ['machine', 'maintainer', 'add', '--machine', 'laser', '--member', 'carol', ...d]],
      ['maintainerRemove', ['machine', 'maintainer', 'remove', '--machine', 'laser', '--member', 'carol', ...d, '--json']],
      ['maintainerRemoveAgain', ['machine', 'maintainer', 'remove', '--machine', 'laser', '--member', 'carol', ...d]],
      ['certify', ['certify', '--machine', 'laser', '--member', 'bob', ...d, '--json']],
      ['certifyUntil', ['certify', '--machine', 'laser', '--member', 'carol', '--until', '2031-01-31', ...d, '--json']],
      ['certifyNoMachine', ['certify', '--machine', 'lathe', '--member', 'bob', ...d]],
      ['certifyNoMember', ['certify', '--machine', 'laser', ...d]],
      ['decertify', ['decertify', '--machine', 'laser', '--member', 'carol', '--reason', 'unsafe', ...d, '--json']],
      ['decertifyAgain', ['decertify', '--machine', 'laser', '--member', 'carol', ...d]],
      ['suspendCarol', ['member', 'suspend', 'carol', ...d]],
      ['certifySuspended', ['certify', '--machine', 'drill', '--member', 'carol', ...d]],
      ['out', ['machine', 'out', 'laser', '--reason', 'lens cracked', ...d, '--json']],
      ['outNoReason', ['machine', 'out', 'drill', ...d]],
      ['outAgain', ['machine', 'out', '--machine', 'laser', '--reason', 'again', ...d]],
      ['listOut', ['machine', 'list', ...d, '--json']],
      ['show', ['machine', 'show', 'laser', ...d, '--json']],
      ['in', ['machine', 'in', 'laser', ...d, '--json']],
      ['inAgain', ['machine', 'in', 'laser', ...d]],
      ['machineListText', ['machine', 'list', ...d]],
      ['memberShow', ['member', 'show', 'alice', ...d, '--json']],
      ['site', ['site', ...d, '--json']],
      ['siteText', ['site', ...d]],
      ['doorHelp', ['door', '--help']],
    ]);
  });
  after(() => t.cleanup());

  it('sets a weekly schedule in a time zone, with holidays; malformed schedules are usage errors', () => {
    const sc = json<{ schedule: Schedule }>(r['schedule']!).schedule;
    const expected: Schedule = {
      id: 'open-hours', name: 'Open hours', tz: 'Europe/Berlin', holidays: ['2030-12-25', '2030-12-26'],
      windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' }, { days: ['sat', 'sun'], from: '10:00', to: '16:00' }],
    };
    assert.deepEqual(sc, expected);
    const l = Ledger.open({ path: join(data, 'ledger.db'), dapps: allDapps, readonly: true });
    try { assert.deepEqual(l.get(scheduleKey('open-hours')), expected, 'the ledger holds what was printed'); } finally { l.close(); }
    refused(r['scheduleBadTz']!, 2, /^gdo: --tz 'Mars\/Olympus' is not a time zone/);
    refused(r['scheduleNoWindow']!, 2, /^gdo: missing --window/);
    refused(r['scheduleBadWindow']!, 2, /^gdo: --window 'mon-fri 8-20' is not a window \(expected DAYS HH:MM-HH:MM/);
    refused(r['scheduleBadDay']!, 2, /^gdo: --window 'mon-fry 08:00-20:00': 'fry' is not a day/);
    refused(r['scheduleMidnight']!, 2, /^gdo: --window 'fri 22:00-02:00': 22:00 is not before 02:00 \(a window past midnight is two windows/);
    refused(r['scheduleBadHoliday']!, 2, /^gdo: --holiday '2030-13-01' is not a date YYYY-MM-DD$/);
  });

  it('adds and updates doors with access rules', () => {
    const front = json<{ door: DoorRow }>(r['doorAdd']!).door;
    assert.deepEqual([front.node, front.fail, front.rules], ['front-door', 'secure', [{ group: 'members', schedule: 'open-hours' }, { group: 'staff', schedule: null }]]);
    refused(r['doorAddBadRule']!, 2, /^gdo: --rule 'Members': 'Members' is not a group/);
    refused(r['doorAddNoSchedule']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?.*schedule 'nope' does not exist$/);
    refused(r['doorAddBadFail']!, 2, /^gdo: --fail must be secure .* or safe .*, got 'open'$/);
    const ws = json<{ door: DoorRow }>(r['doorUpdate']!).door;
    assert.deepEqual([ws.fail, ws.rules], ['safe', [{ group: 'woodshop', schedule: 'open-hours' }]]);
    refused(r['doorUpdateNothing']!, 2, /^gdo: nothing to change/);
  });

  it('declares and lifts a lockdown for a door and for the whole site', () => {
    refused(r['lockdownNeither']!, 2, /^gdo: give --door ID or --site$/);
    refused(r['lockdownBoth']!, 2, /^gdo: give --door ID or --site, not both$/);
    assert.deepEqual(json(r['lockdownFront']!)['exempt'], ['staff']);
    refused(r['lockdownAgain']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?door 'front' is already in lockdown$/);
    const locked = json<DoorList>(r['listLocked']!);
    assert.deepEqual(locked.doors.map((x) => [x.id, x.lockdown]), [['front', { door: 'front', exempt: ['staff'], reason: 'drill' }], ['workshop', null]]);
    assert.equal(locked.site_lockdown, null);
    assert.equal(json(r['liftFront']!)['lockdown'], false);
    refused(r['liftAgain']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?.*door 'front' is not in lockdown$/);
    const site = json<DoorList>(r['listSite']!);
    assert.deepEqual(site.doors.map((x) => x.lockdown?.door), ['*', '*'], 'a site lockdown covers every door');
    assert.deepEqual(site.site_lockdown, { exempt: [], reason: null });
    assert.deepEqual(json(r['siteDuring']!)['lockdowns'], ['*']);
    assert.equal(r['liftSite']!.code, 0, r['liftSite']!.stderr);
    assert.deepEqual(json(r['site']!)['lockdowns'], []);
  });

  it('holds a door unlocked for a duration or a period in a time zone, and cancels it', () => {
    const f = json(r['unlockFor']!) as { from: string; to: string };
    assert.equal(Date.parse(f.to) - Date.parse(f.from), 2 * HOUR);
    assert.ok(Date.parse(f.from) >= started - 1000 && Date.parse(f.from) <= Date.now(), 'from defaults to now');
    assert.deepEqual(json(r['unlockRange']!), { event: json(r['unlockRange']!)['event'], door: 'workshop', from: '2030-06-01T16:00:00.000Z', to: '2030-06-01T20:00:00.000Z' });
    refused(r['unlockNoPeriod']!, 2, /^gdo: give --for DURATION .* or --from and --to$/);
    refused(r['unlockPast']!, 2, /^gdo: the period ends in the past/);
    refused(r['unlockTooLong']!, 2, /^gdo: a held-unlocked period lasts at most 31 days$/);
    refused(r['unlockBadDuration']!, 2, /^gdo: --for '2 hours' is not a duration/);
    refused(r['unlockUnknownDoor']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?door 'back' does not exist$/);
    const held = json<DoorList>(r['listHeld']!);
    assert.deepEqual(held.doors.map((x) => [x.id, x.holds.length]), [['front', 1], ['workshop', 1]]);
    assert.equal(json(r['cancel']!)['cancelled'], true);
    const after = json<DoorList>(r['listAfterCancel']!);
    assert.deepEqual(after.doors.map((x) => [x.id, x.holds]), [['front', []], ['workshop', [{ from: '2030-06-01T16:00:00.000Z', to: '2030-06-01T20:00:00.000Z' }]]]);
    assert.match(r['doorListText']!.stdout, /^workshop +Workshop +- +safe +woodshop@open-hours +held unlocked 2030-06-01 18:00 CEST\.\.2030-06-01 22:00 CEST$/m, 'times in --tz');
    assert.match(r['doorListText']!.stdout, /^\(times in Europe\/Berlin\)$/m, 'labelled with the zone');
    assert.match(r['doorListText']!.stdout, /^open-hours +Europe\/Berlin +mon-fri 08:00-20:00; sat,sun 10:00-16:00 +2030-12-25,2030-12-26$/m);
  });

  it('adds machines, trainers and maintainers; refuses doubled grants and missing roles', () => {
    const laser = json<{ machine: MachineRow }>(r['laser']!).machine;
    assert.deepEqual([laser.cert_required, laser.cert_days], [true, 365]);
    assert.deepEqual(json<{ machine: MachineRow }>(r['drill']!).machine.cert_required, false);
    refused(r['machineBadDays']!, 2, /^gdo: --cert-days must be at least 1/);
    assert.deepEqual(json(r['trainerAdd']!), { event: json(r['trainerAdd']!)['event'], machine: 'laser', member: 'alice', role: 'trainer', on: true });
    refused(r['trainerAgain']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?member 'alice' is already a trainer of 'laser'$/);
    refused(r['trainerNoVerb']!, 2, /^gdo: usage: gdo machine trainer add\|remove --machine ID --member ID$/);
    assert.equal(r['maintainerAdd2']!.code, 0);
    assert.equal(json(r['maintainerRemove']!)['on'], false);
    refused(r['maintainerRemoveAgain']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?member 'carol' is not a maintainer of 'laser'$/);
  });

  it('certifies with the machine default or an explicit end, decertifies, and refuses suspended members', () => {
    const c = json(r['certify']!) as { until: string };
    const expect = Date.now() + 365 * 24 * HOUR;
    assert.ok(Math.abs(Date.parse(c.until) - expect) < 10 * 60_000, `the machine's 365 days: ${c.until}`);
    assert.equal(json(r['certifyUntil']!)['until'], '2031-01-31T23:59:59.999Z');
    refused(r['certifyNoMachine']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?machine 'lathe' does not exist$/);
    refused(r['certifyNoMember']!, 2, /^gdo: missing --member$/);
    assert.equal(json(r['decertify']!)['certified'], false);
    refused(r['decertifyAgain']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?member 'carol' holds no certificate for 'laser'$/);
    refused(r['certifySuspended']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?member 'carol' is suspended$/);
    const show = json<{ certified: Array<{ member: string; until: string | null }> }>(r['show']!);
    assert.deepEqual(show.certified.map((x) => x.member), ['bob']);
    const alice = json<{ roles: Array<{ machine: string; role: string }> }>(r['memberShow']!);
    assert.deepEqual(alice.roles, [{ machine: 'laser', role: 'trainer' }]);
  });

  it('takes a machine out of service and back', () => {
    assert.deepEqual(json(r['out']!), { event: json(r['out']!)['event'], machine: 'laser', out: true, reason: 'lens cracked' });
    refused(r['outNoReason']!, 2, /^gdo: missing --reason$/);
    refused(r['outAgain']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?machine 'laser' is already out of service$/);
    const rows = json<MachineRow[]>(r['listOut']!);
    assert.deepEqual(rows.map((m) => [m.id, m.out, m.out_reason, m.trainers, m.maintainers, m.certified]),
      [['drill', false, null, [], [], 0], ['laser', true, 'lens cracked', ['alice'], ['bob'], 1]]);
    assert.equal(json(r['in']!)['out'], false);
    refused(r['inAgain']!, 3, /^gdo: INVALID_BODY: (?:[a-z]+\/[a-z.]+: )?machine 'laser' is in service$/);
    assert.match(r['machineListText']!.stdout, /^laser +Laser cutter +laser-node +365d +in service +alice +bob +1$/m);
  });

  it('gdo site counts what the ledger holds', () => {
    const s = json(r['site']!);
    const counts = ['name', 'members', 'suspended', 'badges', 'doors', 'schedules', 'machines', 'out_of_service', 'admins', 'nodes', 'anomalies', 'site_secret'].map((k) => s[k]);
    assert.deepEqual(counts, ['Test Space', 3, 1, 0, 2, 1, 2, 0, 1, 0, 0, true]);
    assert.match(String(s['state_hash']), /^[0-9a-f]{64}$/);
    assert.equal((s['heads'] as string[]).length, 1);
    assert.equal(typeof s['events'], 'number');
    assert.match(r['siteText']!.stdout, /^site +Test Space\n/);
    assert.match(r['siteText']!.stdout, /^machines +2 \(0 out of service\)$/m);
  });

  it('documents every door subcommand in --help', () => {
    for (const sub of ['add', 'update', 'list', 'schedule', 'lockdown', 'lift', 'unlock']) assert.match(r['doorHelp']!.stdout, new RegExp(`^  ${sub} `, 'm'));
  });
});
