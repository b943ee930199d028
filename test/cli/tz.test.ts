// The site's time zone: `gdo init --tz` records it in the genesis, and a later process reads and
// shows times in it (--until, --at, --from/--to, --since; listings labelled), --tz overrides it, a
// time with an offset keeps its own, and a ledger made without one reads UTC and says so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import type { OrgMeta } from '../../dapps/org/index.ts';
import { signerFor } from '../ledger/helpers.ts';
import { batch, gdo, json, refused, tempDir, type Run } from './helpers.ts';

describe('times in the site zone', () => {
  const t = tempDir('tz');
  const data = join(t.dir, 'site');
  const old = join(t.dir, 'old');
  const d = ['--data', data];
  let init: Run;
  let badTz: Run;
  let r: Record<string, Run>;

  before(() => {
    badTz = gdo(['init', '--name', 'Zoned', '--tz', 'Mars/Olympus', '--data', join(t.dir, 'bad')]);
    init = gdo(['init', '--name', 'Zoned', '--tz', 'Europe/Zurich', ...d, '--json']);
    // A ledger made before the zone was recorded: a genesis without tz.
    const admin = signerFor('old admin');
    mkdirSync(old);
    const l = Ledger.open({ path: join(old, 'ledger.db'), dapps: allDapps });
    l.append(admin, 'org', 'genesis', { name: 'Old Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] });
    l.close();
    // A new process: the zone comes from the ledger, not from this one's TZ (UTC in tests).
    r = batch(t.dir, [
      ['alice', ['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members', '--until', '2030-06-30', ...d, '--json']],
      ['bob', ['member', 'add', 'bob', '--name', 'Bob', '--until', '2030-06-30', '--tz', 'Asia/Tokyo', ...d, '--json']],
      ['carol', ['member', 'add', 'carol', '--name', 'Carol', '--until', '2030-06-30T12:00+00:00', ...d, '--json']],
      ['dan', ['member', 'add', 'dan', '--name', 'Dan', '--until', '2030-01-15 18:30', ...d, '--json']],
      ['showAlice', ['member', 'show', 'alice', ...d]],
      ['showDan', ['member', 'show', 'dan', ...d]],
      ['list', ['member', 'list', ...d]],
      ['badge', ['badge', 'assign', '--member', 'alice', '--uid', '04:12:34:56', ...d]],
      ['door', ['door', 'add', 'front', '--name', 'Front', '--rule', 'members', ...d]],
      ['checkAt', ['access', 'check', '--uid', '04:12:34:56', '--resource', 'door:front', '--at', '2030-01-15 09:00', ...d, '--json']],
      ['checkText', ['access', 'check', '--uid', '04:12:34:56', '--resource', 'door:front', '--at', '2030-01-15 09:00', ...d]],
      ['checkTokyo', ['access', 'check', '--member', 'alice', '--resource', 'door:front', '--at', '2030-01-15 09:00', '--tz', 'Asia/Tokyo', ...d, '--json']],
      ['checkAfter', ['access', 'check', '--member', 'alice', '--resource', 'door:front', '--at', '2030-07-01 00:30', ...d]],
      ['schedule', ['door', 'schedule', 'hours', '--window', 'mon-fri 08:00-20:00', ...d, '--json']],
      ['unlock', ['door', 'unlock', 'front', '--from', '2030-03-01 10:00', '--to', '2030-03-01 12:00', ...d, '--json']],
      ['doorList', ['door', 'list', ...d]],
      ['site', ['site', ...d, '--json']],
      ['oldSite', ['site', '--data', old]],
      ['oldSince', ['access', 'log', '--since', '2030-01-01 00:00', '--data', old]],
      ['oldSinceOffset', ['access', 'log', '--since', '2030-01-01T00:00Z', '--data', old]],
    ]);
  });
  after(() => t.cleanup());

  it('gdo init --tz checks the zone before anything is written and records it in the genesis', () => {
    refused(badTz, 2, /^gdo: --tz 'Mars\/Olympus' is not a time zone/);
    assert.ok(!existsSync(join(t.dir, 'bad', 'ledger.db')), 'no ledger');
    assert.equal(json(init, 'init')['tz'], 'Europe/Zurich');
    const l = Ledger.open({ path: join(data, 'ledger.db'), dapps: allDapps });
    try { assert.equal(l.get<OrgMeta>('org/meta')?.tz, 'Europe/Zurich'); } finally { l.close(); }
  });

  it('reads --until in the site zone, unless --tz or an offset says otherwise', () => {
    const until = (k: string): unknown => (json(r[k]!, k)['member'] as { until: string }).until;
    assert.equal(until('alice'), '2030-06-30T21:59:59.999Z', 'end of the day in Zurich (CEST)');
    assert.equal(until('bob'), '2030-06-30T14:59:59.999Z', 'end of the day in Tokyo');
    assert.equal(until('carol'), '2030-06-30T12:00:00.000Z', 'its own offset');
    assert.equal(until('dan'), '2030-01-15T17:30:00.000Z', 'a wall time in Zurich (CET)');
  });

  it('shows times in the site zone, labelled', () => {
    assert.match(r['showAlice']!.stdout, /^until {6}2030-06-30$/m);
    assert.match(r['showAlice']!.stdout, /^\(times in Europe\/Zurich\)$/m);
    assert.match(r['showDan']!.stdout, /^until {6}2030-01-15 18:30 CET$/m);
    assert.match(r['list']!.stdout, /^carol +Carol +- +2030-06-30 14:00 CEST +active/m);
    assert.match(r['doorList']!.stdout, /held unlocked 2030-03-01 10:00 CET\.\.2030-03-01 12:00 CET/);
    assert.deepEqual(json(r['unlock']!), { ...json(r['unlock']!), from: '2030-03-01T09:00:00.000Z', to: '2030-03-01T11:00:00.000Z' });
    assert.equal((json(r['schedule']!)['schedule'] as { tz: string }).tz, 'Europe/Zurich', 'a schedule without --tz is in the site zone');
  });

  it('gdo access check reads --at in the zone and checks a member without the card', () => {
    const at = json(r['checkAt']!);
    assert.equal(at['at'], '2030-01-15T08:00:00.000Z');
    assert.equal(at['allow'], true);
    assert.match(r['checkText']!.stdout, /^ALLOW {2}door:front at 2030-01-15 09:00 CET: allowed$/m);
    const tokyo = json(r['checkTokyo']!);
    assert.equal(tokyo['at'], '2030-01-15T00:00:00.000Z', '--tz overrides the site zone');
    assert.equal(tokyo['allow'], true);
    assert.equal((tokyo['decisions'] as unknown[]).length, 1);
    assert.equal(r['checkAfter']!.code, 1, 'the membership ended at midnight in Zurich');
    assert.match(r['checkAfter']!.stdout, /^DENY {2}door:front at 2030-07-01 00:30 CEST: membership expired$/m);
    assert.ok(!r['checkAfter']!.stdout.includes('041234'), 'no UID in the output');
  });

  it('a ledger without a recorded zone reads UTC and says so', () => {
    assert.equal(r['oldSince']!.code, 0);
    assert.match(r['oldSince']!.stderr, /^gdo: warning: --since read in UTC: this ledger records no site time zone \(made before gdo init --tz\)/);
    assert.equal(r['oldSinceOffset']!.stderr, '', 'a time with an offset needs no zone');
    assert.equal(json(r['site']!)['tz'], 'Europe/Zurich');
    assert.match(r['oldSite']!.stdout, /^time zone +UTC \(this ledger records no site time zone: made before gdo init --tz\)$/m);
  });
});
