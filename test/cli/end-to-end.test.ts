// The staff CLI end to end: `gdo init` as a real process, a maker space set up and run through the
// staff commands, every stage checked against the real decision engine (AccessService) on the
// ledger the commands wrote; the entry point's exit codes and one-line errors as real processes;
// and no card UID anywhere in what was printed or written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccessService } from '../../agent/access/decide.ts';
import { parseUid } from '../../agent/access/badge-hash.ts';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { batch, gdo, json, PASSPHRASE, refused, tempDir, uidSpellings, type Run } from './helpers.ts';

const UIDS = { alice: '04:11:22:33:44:55:66', bob: '04:77:88:99:aa:bb:cc', dave: '04:dd:ee:ff:01:02:03', aliceNew: '04:a1:b2:c3:d4:e5:f6' } as const;
// Europe/Berlin wall times in 2030 (CEST, UTC+2): a Monday inside the window, a Monday night, Christmas.
const MON_NOON = Date.UTC(2030, 5, 3, 10, 0);
const MON_NIGHT = Date.UTC(2030, 5, 3, 21, 0);
const CHRISTMAS = Date.UTC(2030, 11, 25, 11, 0);

describe('the staff CLI end to end', () => {
  const t = tempDir('e2e');
  const data = join(t.dir, 'site');
  const d = ['--data', data];
  const printed: Run[] = [];
  const keep = <T extends Record<string, Run>>(r: T): T => { printed.push(...Object.values(r)); return r; };
  let init: Run;

  /** What the decision engine says about a card at a resource, from the staff desk's view of the ledger. */
  function decide(uid: string, resource: string, at: number): string {
    const l = Ledger.open({ path: join(data, 'ledger.db'), dapps: allDapps, readonly: true });
    try {
      const svc = new AccessService({ ledger: l, nodeKey: null, siteSecret: readFileSync(join(data, 'site-secret')), now: () => at, policy: { maxOfflineMs: null, clockToleranceMs: 10 * 365 * 86_400_000 } });
      const r = svc.decide({ credential: parseUid(uid), resource, at: new Date(at) });
      return r.allow ? 'allow' : r.reason;
    } finally { l.close(); }
  }

  before(() => {
    init = gdo(['init', '--name', 'Maker Space', '--admin-name', 'ada', ...d, '--json']);
    printed.push(init);
  });
  after(() => t.cleanup());

  it('gdo init makes the ledger, the operator key and a 32-byte site secret, all private', () => {
    const r = json<{ org: string; admin: string; key: string }>(init, 'init');
    assert.match(r.org, /^[0-9a-f]{64}$/);
    assert.equal(r.key, join(data, 'operator.key'));
    const secret = statSync(join(data, 'site-secret'));
    assert.equal(secret.size, 32);
    assert.equal(secret.mode & 0o777, 0o600);
    assert.equal(statSync(join(data, 'operator.key')).mode & 0o777, 0o600);
    assert.equal(readdirSync(data).filter((f) => f.includes('.tmp')).length, 0, 'no temporary file left behind');
  });

  it('sets up a site, then suspends, replaces, locks down and takes out of service, as the decisions show', () => {
    const setup = keep(batch(t.dir, [
      ['schedule', ['door', 'schedule', 'open-hours', '--tz', 'Europe/Berlin', '--window', 'mon-fri 08:00-20:00', '--window', 'sat 10:00-16:00', '--holiday', '2030-12-25', ...d]],
      ['door', ['door', 'add', 'front', '--name', 'Front door', '--rule', 'members@open-hours', '--rule', 'staff', ...d]],
      ['alice', ['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members,staff', ...d]],
      ['bob', ['member', 'add', 'bob', '--name', 'Bob', '--groups', 'members', ...d]],
      ['dave', ['member', 'add', 'dave', '--name', 'Dave', '--groups', 'members', '--until', '2030-12-31', ...d]],
      ['badgeAlice', ['badge', 'assign', '--member', 'alice', '--uid', UIDS.alice, ...d, '--json']],
      ['badgeBob', ['badge', 'assign', '--member', 'bob', '--uid', UIDS.bob, ...d, '--json']],
      ['badgeDave', ['badge', 'assign', '--member', 'dave', '--uid', UIDS.dave, ...d, '--json']],
      ['laser', ['machine', 'add', 'laser', '--name', 'Laser cutter', ...d]],
      ['trainer', ['machine', 'trainer', 'add', '--machine', 'laser', '--member', 'alice', ...d]],
      ['certify', ['certify', '--machine', 'laser', '--member', 'bob', ...d, '--json']],
    ]));
    for (const [name, r] of Object.entries(setup)) assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(decide(UIDS.bob, 'door:front', MON_NOON), 'allow');
    assert.equal(decide(UIDS.bob, 'door:front', MON_NIGHT), 'outside_schedule');
    assert.equal(decide(UIDS.bob, 'door:front', CHRISTMAS), 'outside_schedule');
    assert.equal(decide(UIDS.alice, 'door:front', MON_NIGHT), 'allow', 'staff may enter at any time');
    assert.equal(decide(UIDS.dave, 'door:front', Date.UTC(2031, 0, 6, 10, 0)), 'membership_expired');
    assert.equal(decide(UIDS.bob, 'machine:laser', MON_NOON), 'allow');
    assert.equal(decide(UIDS.dave, 'machine:laser', MON_NOON), 'not_certified');

    const trouble = keep(batch(t.dir, [
      ['suspend', ['member', 'suspend', 'bob', '--reason', 'unpaid', ...d]],
      ['replace', ['badge', 'replace', '--old', UIDS.alice, '--uid', UIDS.aliceNew, ...d, '--json']],
      ['lockdown', ['door', 'lockdown', '--site', '--exempt', 'staff', '--reason', 'incident', ...d]],
      ['out', ['machine', 'out', 'laser', '--reason', 'lens cracked', ...d]],
      ['site', ['site', ...d, '--json']],
    ]));
    for (const [name, r] of Object.entries(trouble)) assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(decide(UIDS.bob, 'door:front', MON_NOON), 'member_suspended');
    assert.equal(decide(UIDS.alice, 'door:front', MON_NOON), 'badge_revoked');
    assert.equal(decide(UIDS.aliceNew, 'door:front', MON_NOON), 'allow', 'staff are exempt from the lockdown');
    assert.equal(decide(UIDS.dave, 'door:front', MON_NOON), 'lockdown');
    assert.equal(decide(UIDS.aliceNew, 'machine:laser', MON_NOON), 'out_of_service', 'a trainer is not a maintainer');
    const s = json(trouble['site']!);
    assert.deepEqual([s['suspended'], s['badges'], s['revoked_badges'], s['out_of_service'], s['lockdowns']], [1, 3, 1, 1, ['*']]);

    const recovery = keep(batch(t.dir, [
      ['reinstate', ['member', 'reinstate', 'bob', ...d]],
      ['lift', ['door', 'lift', '--site', ...d]],
      ['in', ['machine', 'in', 'laser', ...d]],
      ['decertify', ['decertify', '--machine', 'laser', '--member', 'bob', ...d]],
      ['export', ['member', 'export', ...d]],
      ['badges', ['badge', 'list', ...d]],
      ['badgesJson', ['badge', 'list', ...d, '--json']],
      ['members', ['member', 'list', ...d]],
      ['show', ['member', 'show', 'alice', ...d]],
      ['ledgerShow', ['ledger', 'show', '--limit', '1000', ...d, '--json']],
    ]));
    for (const [name, r] of Object.entries(recovery)) assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(decide(UIDS.bob, 'door:front', MON_NOON), 'allow');
    assert.equal(decide(UIDS.dave, 'door:front', MON_NOON), 'allow');
    assert.equal(decide(UIDS.bob, 'machine:laser', MON_NOON), 'not_certified');
    const events = json<Array<{ dapp: string; type: string }>>(recovery['ledgerShow']!);
    assert.equal(events.filter((e) => e.dapp === 'badge').length, 4, 'three assignments and one replacement');
  });

  it('exit codes and one-line errors from the real entry point', () => {
    const ok = gdo(['badge', 'list', '--member', 'bob', ...d, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).length, 1);
    const usage = gdo(['member', 'add', 'erin', ...d]);
    refused(usage, 2, /^gdo: missing --name$/);
    const notFound = gdo(['member', 'show', 'nobody', ...d]);
    refused(notFound, 1, /^gdo: member 'nobody' does not exist/);
    const refusal = gdo(['member', 'reinstate', 'bob', ...d]);
    refused(refusal, 3, /^gdo: INVALID_BODY: member\/reinstate: member 'bob' is not suspended$/);
    const wrongPass = gdo(['member', 'suspend', 'bob', ...d], { GDO_PASSPHRASE: 'not the passphrase' });
    refused(wrongPass, 3, /^gdo: wrong passphrase for .*operator\.key$/);
    const passFile = join(t.dir, 'pass');
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const viaFile = gdo(['member', 'add', 'erin', '--name', 'Erin', '--passphrase-file', passFile, ...d, '--json'], { GDO_PASSPHRASE: '' });
    assert.equal(json<{ member: { id: string } }>(viaFile).member.id, 'erin');
    const help = gdo(['--help']);
    assert.equal(help.code, 0);
    for (const c of ['site', 'member', 'badge', 'door', 'machine', 'certify', 'decertify']) assert.match(help.stdout, new RegExp(`^  ${c} +\\S`, 'm'), c);
    printed.push(ok, usage, notFound, refusal, wrongPass, viaFile);
  });

  it('no card UID appears in any output or in any file of the data directory', () => {
    assert.ok(printed.length > 25);
    const out = printed.map((r) => r.stdout + r.stderr).join('\n');
    const files = readdirSync(data).filter((f) => f !== 'site-secret').map((f) => readFileSync(join(data, f)));
    assert.ok(files.some((f) => f.length > 10_000), 'the ledger file is among them');
    for (const uid of Object.values(UIDS)) {
      const raw = parseUid(uid);
      for (const spelling of uidSpellings(uid)) assert.ok(!out.includes(spelling), `${spelling} printed`);
      for (const f of files) {
        assert.equal(f.indexOf(raw), -1, 'UID bytes in a file');
        for (const spelling of uidSpellings(uid)) assert.equal(f.indexOf(spelling), -1, `${spelling} in a file`);
      }
    }
  });
});
