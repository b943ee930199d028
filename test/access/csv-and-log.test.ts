// CSV import (all or nothing, the offending line named) and the group-committed access log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessLog } from '../../agent/access/access-log.ts';
import { CsvImportError, importCsv, parseCsv } from '../../agent/access/csv-import.ts';
import { decodeEvent } from '../../agent/ledger/event.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { memberKey, type Member } from '../../dapps/member/index.ts';
import { signerFor } from '../ledger/helpers.ts';
import { buildSite, badgeOf, SECRET, uid } from './site.ts';

const hexUid = (name: string): string => uid(name).toString('hex').match(/../g)!.join(':');

test('CSV parsing: quotes, doubled quotes, commas and newlines in fields, CRLF, line numbers', () => {
  const rows = parseCsv('id,name\r\n"a1","Smith, Jo"\n"a2","say ""hi""\nthere"\n\na3,x\n');
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 3, 6]);
  assert.deepEqual(rows[1]!.fields, ['a1', 'Smith, Jo']);
  assert.deepEqual(rows[2]!.fields, ['a2', 'say "hi"\nthere']);
  assert.throws(() => parseCsv('id\n"open'), /line 2: a quoted field is not closed/);
});

test('CSV import adds and updates members with badges in one atomic batch', () => {
  const site = buildSite();
  try {
    const before = site.ledger.count();
    const csv = `id,name,email,groups,until,badge\nfrank,Frank,frank@example.org,members;woodshop,2027-06-30,${hexUid('frank')}\nalice,Alice A.,,members,,${hexUid('alice')}\n`;
    const summary = importCsv(site.ledger, signerFor('ada'), csv, SECRET);
    assert.deepEqual(summary, { members_added: 1, members_updated: 1, badges_assigned: 1, events: 3 });
    assert.equal(site.ledger.count(), before + 3);
    const frank = site.ledger.get<Member>(memberKey('frank'))!;
    assert.deepEqual(frank.groups, ['members', 'woodshop']);
    assert.equal(frank.until, Date.UTC(2027, 5, 30, 23, 59, 59, 999));
    assert.equal(site.ledger.get<Badge>(badgeKey(badgeOf('frank')))!.member, 'frank');
    assert.equal(site.ledger.get<Member>(memberKey('alice'))!.name, 'Alice A.');
    assert.equal(site.service().decide({ credential: uid('frank'), resource: 'door:front', at: new Date(site.clock.now) }).allow, true);
  } finally { site.close(); }
});

test('CSV import: one bad line refuses the whole file and names the line', () => {
  const site = buildSite();
  try {
    const hash = site.ledger.stateHash();
    const count = site.ledger.count();
    const cases: Array<[string, RegExp]> = [
      [`id,name,badge\ng1,G1,${hexUid('g1')}\ng2,G2,zz:zz\n`, /line 3: not a card UID \(expected 4 to 10 bytes in hex/],
      [`id,name,badge\ng1,G1,${hexUid('g1')}\ng2,G2,${hexUid('alice')}\n`, /line 3: badge is already assigned to member 'alice'/],
      ['id,name,until\ng1,G1,2027-02-30x\n', /line 2: until '2027-02-30x' is not a date/],
      ['id,name\ng1,G1\ng1,Again\n', /line 3: member 'g1' is also on line 2/],
      ['id,name,shoe\n', /line 1: unknown column 'shoe'/],
      ['id,name\ng1,G1,extra\n', /line 2: 3 fields, the header has 2/],
      // Refused by the dapp, not the parser: the whole batch is rolled back.
      ['id,name,email\ng1,G1,ok@example.org\ng2,G2,not-an-email\n', /line 3: INVALID_BODY: .*email/],
    ];
    for (const [csv, msg] of cases) {
      assert.throws(() => importCsv(site.ledger, signerFor('ada'), csv, SECRET), (e: unknown) => e instanceof CsvImportError && msg.test(e.message), String(msg));
      assert.equal(site.ledger.stateHash(), hash, 'nothing was imported');
      assert.equal(site.ledger.count(), count);
    }
  } finally { site.close(); }
});

test('the access log commits everything recorded in one turn in one transaction, and maps controller reports', async () => {
  const site = buildSite();
  try {
    const svc = site.service();
    const errors: string[] = [];
    const log = new AccessLog({ ledger: site.ledger, signer: site.nodes.front, service: svc, onError: (m) => errors.push(m) });
    const before = site.ledger.count();
    for (const who of ['alice', 'bob', 'mallory', 'erin', 'alice']) {
      const d = svc.decide({ credential: uid(who), resource: 'door:front', at: new Date(site.clock.now) });
      log.record('door.access', { door: 'front', resource: 'door:front', allow: d.allow, reason: d.reason, rule: d.rule, ...(d.memberId && { member_id: d.memberId }), at: new Date(site.clock.now).toISOString() });
    }
    log.record('door.forced_open', { door: 'front', at: new Date(site.clock.now).toISOString() });
    log.record('door.rex', { door: 'front', at: new Date(site.clock.now).toISOString() });
    assert.equal(site.ledger.count(), before, 'nothing written before the turn ends');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(errors, []);
    assert.equal(site.ledger.count(), before + 7);
    assert.deepEqual({ transactions: log.stats.transactions, committed: log.stats.committed }, { transactions: 1, committed: 7 });
    const events = [...site.ledger.events()].slice(-7).map((raw) => site.ledger.getEvent(rawIdOf(raw))!);
    const decisions = events.filter((e) => e.type === 'decision').map((e) => e.body as Record<string, unknown>);
    assert.equal(decisions.length, 5);
    assert.equal(decisions[0]!['badge'], badgeOf('alice'));
    assert.equal(decisions[2]!['reason'], 'unknown_badge');
    // No UID anywhere in what was logged.
    const all = events.map((e) => e.raw.toString('hex')).join('');
    for (const who of ['alice', 'bob', 'mallory']) assert.ok(!all.includes(uid(who).toString('hex')));
    // A refused item (a door of another node) costs only itself.
    log.record('door.access', { door: 'front', resource: 'machine:laser', allow: false, reason: 'unknown_badge' });
    log.record('door.rex', { door: 'front' });
    await new Promise((r) => setImmediate(r));
    assert.equal(log.stats.committed, 8);
    assert.equal(log.stats.rejected, 1);
    assert.match(errors[0]!, /NOT_AUTHORIZED/);
    log.close();
  } finally { site.close(); }
});

function rawIdOf(raw: Buffer): Buffer { return decodeEvent(raw).id; }
