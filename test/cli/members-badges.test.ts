// `gdo member ...` and `gdo badge ...` on a data directory made by `gdo init`: JSON for scripts,
// refusals with exit 3, usage errors with exit 2, each one line; the CSV export reads back through
// the importer; badges only ever by hash.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importCsv } from '../../agent/access/csv-import.ts';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { memberKey, type Member } from '../../dapps/member/index.ts';
import { signerFor } from '../ledger/helpers.ts';
import { batch, hashIn, json, refused, tempDir, type Run } from './helpers.ts';

const ALICE_UID = '04:a2:19:c3:11:22:33';
const BOB_UID = '04 b0 b0 b0 b0 b0 01';
const NEW_UID = '04c1c1c1c1c1c1';

interface Row { id: string; name: string; email: string | null; groups: string[]; until: string | null; suspended: boolean; reason: string | null; badges: number }
interface BadgeRow { badge: string; member: string; revoked: boolean; reason: string | null }

describe('gdo member and gdo badge', () => {
  const t = tempDir('members');
  const data = join(t.dir, 'site');
  const csvFile = join(t.dir, 'members.csv');
  const d = ['--data', data];
  let r: Record<string, Run>;
  let r2: Record<string, Run>;

  before(() => {
    r = batch(t.dir, [
      ['init', ['init', '--name', 'Test Space', '--admin-name', 'ada', ...d, '--json']],
      ['addAlice', ['member', 'add', 'alice', '--name', 'Alice A', '--email', 'alice@example.org', '--groups', 'members,woodshop', '--until', '2030-12-31', ...d, '--json']],
      ['addBob', ['member', 'add', '--id', 'bob', '--name', 'Bob', '--groups', 'members', ...d, '--json']],
      ['addDup', ['member', 'add', 'alice', '--name', 'Another Alice', ...d]],
      ['addNoName', ['member', 'add', 'carol', ...d]],
      ['addBadDate', ['member', 'add', 'carol', '--name', 'Carol', '--until', '2030-02-30', ...d]],
      ['addBadEmail', ['member', 'add', 'carol', '--name', 'Carol', '--email', 'not-an-address', ...d]],
      ['addUnknownOpt', ['member', 'add', 'carol', '--name', 'Carol', '--colour', 'red', ...d]],
      ['update', ['member', 'update', 'bob', '--add-group', 'laser-users', '--email', 'bob@example.org', ...d, '--json']],
      ['updateNothing', ['member', 'update', 'bob', ...d]],
      ['updateUnknown', ['member', 'update', 'zed', '--name', 'Zed', ...d]],
      ['suspend', ['member', 'suspend', 'bob', '--reason', 'unpaid', ...d, '--json']],
      ['suspendAgain', ['member', 'suspend', 'bob', ...d]],
      ['listSuspended', ['member', 'list', '--suspended', ...d, '--json']],
      ['reinstate', ['member', 'reinstate', 'bob', ...d, '--json']],
      ['reinstateAgain', ['member', 'reinstate', 'bob', ...d]],
      ['assignAlice', ['badge', 'assign', '--member', 'alice', '--uid', ALICE_UID, ...d, '--json']],
      ['assignTaken', ['badge', 'assign', '--member', 'bob', '--uid', '04A219C3112233', ...d]],
      ['assignBadUid', ['badge', 'assign', '--member', 'bob', '--uid', '04:a2:19:zz', ...d]],
      ['assignNoMember', ['badge', 'assign', '--member', 'zed', '--uid', '04:00:00:00:00:00:01', ...d]],
      ['assignBob', ['badge', 'assign', '--member', 'bob', '--uid', BOB_UID, ...d, '--json']],
      ['revokeTwoWays', ['badge', 'revoke', '--uid', BOB_UID, '--badge', '0123456789ab', ...d]],
      ['revokeBob', ['badge', 'revoke', '--uid', BOB_UID, '--reason', 'lost', ...d, '--json']],
      ['revokeAgain', ['badge', 'revoke', '--uid', BOB_UID, ...d]],
      ['listBob', ['badge', 'list', '--member', 'bob', ...d, '--json']],
      ['reassignBob', ['badge', 'assign', '--member', 'bob', '--uid', BOB_UID, ...d, '--json']],
      ['list', ['member', 'list', ...d, '--json']],
      ['listText', ['member', 'list', ...d]],
      ['listGroup', ['member', 'list', '--group', 'woodshop', ...d, '--json']],
      ['showAlice', ['member', 'show', 'alice', ...d, '--json']],
      ['showUnknown', ['member', 'show', 'zed', ...d]],
      ['exportStdout', ['member', 'export', ...d]],
      ['exportJsonNoOut', ['member', 'export', ...d, '--json']],
      ['exportFile', ['member', 'export', '--out', csvFile, ...d, '--json']],
      ['help', ['member', '--help']],
      ['badgeHelp', ['badge', '--help']],
    ]);
    const alicePrefix = hashIn(data, ALICE_UID).slice(0, 10);
    r2 = batch(t.dir, [
      ['shortPrefix', ['badge', 'replace', '--old-badge', 'abc', '--uid', NEW_UID, ...d]],
      ['noSuchPrefix', ['badge', 'replace', '--old-badge', alicePrefix.startsWith('0000') ? 'ffffffff' : '00000000', '--uid', NEW_UID, ...d]],
      ['replace', ['badge', 'replace', '--old-badge', alicePrefix, '--uid', NEW_UID, ...d, '--json']],
      ['listAlice', ['badge', 'list', 'alice', ...d, '--json']],
      ['listAll', ['badge', 'list', ...d]],
    ]);
  });
  after(() => t.cleanup());

  it('adds members and lists them with --json for scripts', () => {
    const added = json<{ event: string; member: Row }>(r['addAlice']!);
    assert.match(added.event, /^[0-9a-f]{64}$/);
    assert.deepEqual(added.member, { id: 'alice', name: 'Alice A', email: 'alice@example.org', groups: ['members', 'woodshop'], until: '2030-12-31T23:59:59.999Z', suspended: false, reason: null, badges: 0 });
    const rows = json<Row[]>(r['list']!);
    assert.deepEqual(rows.map((m) => [m.id, m.groups.join(','), m.badges, m.suspended]), [['alice', 'members,woodshop', 1, false], ['bob', 'laser-users,members', 1, false]]);
    assert.deepEqual(json<Row[]>(r['listGroup']!).map((m) => m.id), ['alice']);
    assert.match(r['listText']!.stdout, /^ID +NAME +GROUPS +UNTIL +STATUS +BADGES\nalice +Alice A +members,woodshop +2030-12-31 +active +1\nbob +Bob +laser-users,members +- +active +1\n\(times in UTC\)\n$/);
  });

  it('refuses bad input with exit 2 and ledger refusals with exit 3, one line each', () => {
    refused(r['addDup']!, 3, /^gdo: INVALID_BODY: .*member 'alice' already exists/);
    refused(r['addNoName']!, 2, /^gdo: missing --name$/);
    refused(r['addBadDate']!, 2, /^gdo: --until '2030-02-30' is not a date YYYY-MM-DD$/);
    refused(r['addBadEmail']!, 3, /^gdo: INVALID_BODY: .*email/);
    refused(r['addUnknownOpt']!, 2, /^gdo: unknown option --colour$/);
    refused(r['updateNothing']!, 2, /^gdo: nothing to change/);
    refused(r['updateUnknown']!, 1, /^gdo: member 'zed' does not exist/);
    refused(r['showUnknown']!, 1, /^gdo: member 'zed' does not exist/);
  });

  it('updates, suspends and reinstates; suspending twice and reinstating an active member are refused', () => {
    assert.deepEqual(json<{ member: Row }>(r['update']!).member.groups, ['laser-users', 'members']);
    assert.deepEqual(json(r['suspend']!), { event: json<{ event: string }>(r['suspend']!).event, member: 'bob', suspended: true, reason: 'unpaid' });
    refused(r['suspendAgain']!, 3, /^gdo: INVALID_BODY: member 'bob' is already suspended$/);
    assert.deepEqual(json<Row[]>(r['listSuspended']!).map((m) => [m.id, m.reason]), [['bob', 'unpaid']]);
    assert.equal(json(r['reinstate']!)['suspended'], false);
    refused(r['reinstateAgain']!, 3, /^gdo: INVALID_BODY: .*member 'bob' is not suspended$/);
  });

  it('assigns, revokes and re-assigns badges by UID, showing hash prefixes only', () => {
    const aliceHash = hashIn(data, ALICE_UID);
    const bobHash = hashIn(data, BOB_UID);
    assert.deepEqual(json(r['assignAlice']!), { event: json<{ event: string }>(r['assignAlice']!).event, badge: aliceHash.slice(0, 12), member: 'alice' });
    refused(r['assignTaken']!, 3, /^gdo: INVALID_BODY: .*is already assigned to member 'alice'$/);
    refused(r['assignBadUid']!, 2, /^gdo: --uid is not a card UID \(4 to 10 bytes in hex/);
    assert.doesNotMatch(r['assignBadUid']!.stderr, /19:zz|zz/, 'a malformed UID is not echoed either');
    refused(r['assignNoMember']!, 3, /^gdo: INVALID_BODY: .*member 'zed' does not exist$/);
    refused(r['revokeTwoWays']!, 2, /^gdo: give exactly one of --uid HEX or --badge HASH-PREFIX$/);
    assert.deepEqual(json(r['revokeBob']!), { event: json<{ event: string }>(r['revokeBob']!).event, badge: bobHash.slice(0, 12), member: 'bob', revoked: true, reason: 'lost' });
    refused(r['revokeAgain']!, 3, /^gdo: INVALID_BODY: badge [0-9a-f]{8} is already revoked$/);
    assert.deepEqual(json<BadgeRow[]>(r['listBob']!).map((b) => [b.badge, b.member, b.revoked, b.reason]), [[bobHash.slice(0, 12), 'bob', true, 'lost']]);
    assert.equal(json(r['reassignBob']!)['member'], 'bob', 'a re-assignment after the revocation follows it and is accepted');
  });

  it('replaces a lost card named by its hash prefix; the old one is revoked', () => {
    refused(r2['shortPrefix']!, 2, /^gdo: --old-badge 'abc' is not a badge hash prefix/);
    refused(r2['noSuchPrefix']!, 1, /^gdo: no badge hash starts with [0-9a-f]{8}/);
    const aliceHash = hashIn(data, ALICE_UID);
    const newHash = hashIn(data, NEW_UID);
    const rep = json(r2['replace']!);
    assert.deepEqual([rep['old'], rep['badge'], rep['member']], [aliceHash.slice(0, 12), newHash.slice(0, 12), 'alice']);
    const rows = json<BadgeRow[]>(r2['listAlice']!);
    assert.deepEqual(rows.map((b) => [b.badge, b.revoked, b.reason]).sort(), [[aliceHash.slice(0, 12), true, 'replaced'], [newHash.slice(0, 12), false, null]].sort());
    assert.match(r2['listAll']!.stdout, /^BADGE +MEMBER +STATUS +SINCE\n/);
    const lines = r2['listAll']!.stdout.trim().split('\n');
    assert.equal(lines.pop(), '(times in UTC)');
    for (const line of lines.slice(1)) assert.match(line, /^[0-9a-f]{12} /, 'only 12-digit hash prefixes are listed');
  });

  it('shows a member with badges, certificates and roles', () => {
    const show = json<{ id: string; badges: Array<{ badge: string; revoked: boolean }>; certificates: unknown[]; roles: unknown[]; version: string }>(r['showAlice']!);
    assert.deepEqual([show.id, show.badges, show.certificates, show.roles], ['alice', [{ badge: hashIn(data, ALICE_UID).slice(0, 12), revoked: false, reason: null }], [], []]);
    assert.match(show.version, /^[0-9a-f]{64}$/);
  });

  it('exports the CSV the importer reads, with the badge column empty', () => {
    // With --json the refusal is itself the JSON document (README, "The CLI").
    assert.equal(r['exportJsonNoOut']!.code, 2);
    assert.equal(r['exportJsonNoOut']!.stderr, '');
    assert.match(JSON.parse(r['exportJsonNoOut']!.stdout).error.message, /^--json needs --out FILE/);
    assert.deepEqual(json(r['exportFile']!), { file: csvFile, members: 2 });
    const csv = readFileSync(csvFile, 'utf8');
    assert.equal(csv, r['exportStdout']!.stdout);
    assert.equal(csv, 'id,name,email,groups,until,badge\nalice,Alice A,alice@example.org,members;woodshop,2030-12-31,\nbob,Bob,bob@example.org,laser-users;members,,\n');
    // Read back into a fresh ledger: the same members.
    const admin = signerFor('csv admin');
    const l = Ledger.open({ path: ':memory:', dapps: allDapps });
    try {
      l.append(admin, 'org', 'genesis', { name: 'Elsewhere', admins: [{ key: admin.publicKey.toString('hex'), name: 'ada' }] });
      assert.deepEqual(importCsv(l, admin, csv, Buffer.alloc(32, 7)), { members_added: 2, members_updated: 0, badges_assigned: 0, events: 2 });
      const pick = (m: Member) => [m.id, m.name, m.email, m.groups, m.until];
      assert.deepEqual(pick(l.get<Member>(memberKey('alice'))!), ['alice', 'Alice A', 'alice@example.org', ['members', 'woodshop'], Date.UTC(2030, 11, 31, 23, 59, 59, 999)]);
      assert.deepEqual(pick(l.get<Member>(memberKey('bob'))!), ['bob', 'Bob', 'bob@example.org', ['laser-users', 'members'], null]);
    } finally { l.close(); }
  });

  it('has help text for scripts and people', () => {
    assert.equal(r['help']!.code, 0);
    assert.match(r['help']!.stdout, /export \[--out FILE\] .*\n +The badge column is left empty/);
    assert.match(r['badgeHelp']!.stdout, /replace \(--old HEX \| --old-badge HASH\) --uid HEX/);
  });
});
