// `gdo access check | log | anomalies | import` end to end: the real CLI as a child process on a
// data directory made by `gdo init`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSiteSecret } from '../../agent/enrol/site-secret.ts';
import { allDapps } from '../../agent/dapps.ts';
import { Staff } from '../../agent/access/staff.ts';
import { Signer } from '../../agent/ledger/crypto.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { readKeyFile } from '../../agent/cli/keyfile.ts';

const main = new URL('../../agent/cli/main.ts', import.meta.url).pathname;
const env = { ...process.env, GDO_PASSPHRASE: 'correct horse battery staple' };
const gdo = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', env });
/** With `input` on standard input, as a USB desk reader types a card's UID. */
const gdoIn = (input: string, ...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', env, input });

test('gdo access: import a CSV, check badges, read the log as CSV, list anomalies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-cli-access-'));
  try {
    const init = gdo('init', '--name', 'Test Space', '--admin-name', 'ada', '--data', dir);
    assert.equal(init.status, 0, init.stderr);
    ensureSiteSecret(dir);
    // A door for the members, set up by staff (the door commands have their own tests).
    const l = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps });
    new Staff(l, new Signer(readKeyFile(join(dir, 'operator.key'), env.GDO_PASSPHRASE))).addDoor({ id: 'front', name: 'Front', rules: [{ group: 'members' }] });
    l.close();

    const csv = join(dir, 'members.csv');
    writeFileSync(csv, 'id,name,groups,badge\nalice,Alice,members,04:a2:19:c3:11:22:33\nbob,Bob,,04a219c3112234\n');
    const imp = gdo('access', 'import', csv, '--data', dir, '--json');
    assert.equal(imp.status, 0, imp.stderr);
    assert.deepEqual(JSON.parse(imp.stdout), { members_added: 2, members_updated: 0, badges_assigned: 2, events: 4 });

    const ok = gdo('access', 'check', '--uid', '04:A2:19:C3:11:22:33', '--resource', 'door:front', '--data', dir, '--json');
    assert.equal(ok.status, 0, ok.stderr);
    const d = JSON.parse(ok.stdout) as Record<string, unknown>;
    assert.deepEqual([d['allow'], d['reason'], d['memberId']], [true, 'allowed', 'alice']);
    const no = gdo('access', 'check', '--uid', '04a219c3112234', '--resource', 'door:front', '--data', dir);
    assert.equal(no.status, 1);
    assert.match(no.stdout, /^DENY  door:front .*: no access rule for this member\nmember: bob/);
    assert.ok(!no.stdout.toLowerCase().includes('04a219c3'), 'the UID is never printed');

    const bad = gdo('access', 'check', '--uid', 'zz', '--resource', 'door:front', '--data', dir);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^gdo: --uid is not a card UID/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    // --uid -: the UID comes from standard input (a desk reader types it), never the command line.
    const typed = gdoIn('04:A2:19:C3:11:22:33\r\n', 'access', 'check', '--uid', '-', '--resource', 'door:front', '--data', dir, '--json');
    assert.equal(typed.status, 0, typed.stderr);
    assert.equal((JSON.parse(typed.stdout) as { memberId: string }).memberId, 'alice');
    const nothing = gdoIn('', 'access', 'check', '--uid', '-', '--resource', 'door:front', '--data', dir);
    assert.equal(nothing.status, 2);
    assert.match(nothing.stderr, /^gdo: --uid -: no card UID on standard input/);
    const typo = gdoIn('07:b3:5d:c3:11:22:3x\n', 'access', 'check', '--uid', '-', '--resource', 'door:front', '--data', dir);
    assert.equal(typo.status, 2);
    assert.ok(!typo.stderr.includes('07:b3:5d'), 'a near miss of a UID is not repeated');

    const badCsv = join(dir, 'bad.csv');
    writeFileSync(badCsv, 'id,name,badge\ncarol,Carol,04:a2:19:c3:11:22:33\n');
    const refused = gdo('access', 'import', badCsv, '--data', dir);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /line 2: badge is already assigned to member 'alice'/);

    const log = gdo('access', 'log', '--csv', '--data', dir);
    assert.equal(log.status, 0, log.stderr);
    assert.equal(log.stdout.split('\n')[0], 'time,node,kind,resource,allow,reason,member,rule,detail,id,local');

    const an = gdo('access', 'anomalies', '--data', dir, '--json');
    assert.equal(an.status, 0, an.stderr);
    assert.deepEqual(JSON.parse(an.stdout), { offline_grants: [], soft_failed: [], equivocations: [] });
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
