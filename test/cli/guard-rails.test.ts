// Guard rails for staff (issue 12, item 6): member ids unique regardless of case, in the member
// dapp on every replica (forks that add 'alice' and 'Alice' concurrently merge to the same state,
// one of them applied) and early in the CLI; warnings for what may be meant and refusals for what
// can only be a mistake; the nearest command or option on a typo.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { CASE_UNIQUE_FROM_MS, memberKey, sameMemberId } from '../../dapps/member/index.ts';
import { nearest } from '../../agent/cli/suggest.ts';
import { signerFor } from '../ledger/helpers.ts';
import { batch, json, refused, tempDir, type Run } from './helpers.ts';

describe('member ids are unique regardless of case, in the ledger', () => {
  const t = tempDir('case');
  const admin = signerFor('admin');
  const open = (name: string): Ledger => Ledger.open({ path: join(t.dir, `${name}.db`), dapps: allDapps, synchronous: 'OFF' });
  after(() => t.cleanup());

  function founded(name: string, now: number): Ledger {
    const l = open(name);
    assert.equal(l.append(admin, 'org', 'genesis', { name: 'Case Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] }, { now }).result.status, 'accepted');
    return l;
  }

  it('refuses Alice while alice exists, and finds twins of long ids', () => {
    const l = founded('linear', Date.now());
    try {
      assert.equal(l.append(admin, 'member', 'add', { id: 'alice', name: 'Alice' }).result.status, 'accepted');
      const r = l.append(admin, 'member', 'add', { id: 'Alice', name: 'Other Alice' }).result;
      assert.equal(r.status, 'rejected');
      assert.match(r.status === 'rejected' ? r.message ?? '' : '', /member 'alice' already exists; member ids are unique regardless of case/);
      assert.equal(l.append(admin, 'member', 'add', { id: 'Ada.Lovelace@example.org', name: 'Ada' }).result.status, 'accepted');
      assert.equal(l.append(admin, 'member', 'add', { id: 'ada.lovelace@EXAMPLE.org', name: 'Ada 2' }).result.status, 'rejected');
      assert.equal(l.append(admin, 'member', 'add', { id: 'alice2', name: 'Alice 2' }).result.status, 'accepted', 'a longer id is another id');
      assert.deepEqual(sameMemberId(l, 'ALICE'), ['alice']);
      assert.deepEqual(sameMemberId(l, 'ADA.LOVELACE@example.ORG'), ['Ada.Lovelace@example.org']);
    } finally { l.close(); }
  });

  it('two forks adding alice and Alice concurrently merge to the same state on both sides, one of them applied', async () => {
    const now = Date.now();
    const a = founded('fork-a', now);
    const b = open('fork-b');
    try {
      // The same admin key on two desks would equivocate; a second admin signs fork B.
      const second = signerFor('second admin');
      assert.equal(a.append(admin, 'org', 'admin.add', { key: second.publicKey.toString('hex'), name: 'Bea' }, { now: now + 5 }).result.status, 'accepted');
      await b.ingestAsync([...a.events()]);
      assert.equal(a.append(admin, 'member', 'add', { id: 'alice', name: 'Alice (desk A)' }, { now: now + 10 }).result.status, 'accepted');
      const bAdd = b.append(second, 'member', 'add', { id: 'Alice', name: 'Alice (desk B)' }, { now: now + 20 });
      assert.equal(bAdd.result.status, 'accepted', 'accepted at its causal position: fork B had no alice');
      await a.ingestAsync([...b.events()]);
      await b.ingestAsync([...a.events()]);
      assert.equal(a.stateHash(), b.stateHash(), 'both replicas agree');
      for (const l of [a, b]) {
        const present = ['alice', 'Alice'].filter((id) => l.get(memberKey(id)) !== undefined);
        assert.equal(present.length, 1, 'exactly one of the two ids is a member');
        assert.ok(l.softFailed().some((f) => f.dapp === 'member' && f.type === 'add' && /unique regardless of case/.test(f.reason)), 'the other is kept, not applied');
      }
      assert.ok(a.get(memberKey('alice')), 'the first in fold order (the earlier hlc) is the one applied');
    } finally { a.close(); b.close(); }
  });

  it('adds dated before the rule keep the state they always had (existing ledgers fold as before)', () => {
    const then = CASE_UNIQUE_FROM_MS - 86_400_000;
    const l = founded('old', then);
    try {
      assert.equal(l.append(admin, 'member', 'add', { id: 'bob', name: 'Bob' }, { now: then + 1 }).result.status, 'accepted');
      assert.equal(l.append(admin, 'member', 'add', { id: 'Bob', name: 'Bob again' }, { now: then + 2 }).result.status, 'accepted');
      const before = l.stateHash();
      const fresh = open('old-refold');
      try {
        fresh.ingest([...l.events()]);
        assert.equal(fresh.stateHash(), before, 'a re-fold from scratch gives the same state');
        assert.deepEqual(fresh.softFailed(), []);
      } finally { fresh.close(); }
      // The first add after the rule indexes the members before it, twins included.
      assert.equal(l.append(admin, 'member', 'add', { id: 'carol', name: 'Carol' }).result.status, 'accepted');
      assert.equal(l.append(admin, 'member', 'add', { id: 'BOB', name: 'Bob thrice' }).result.status, 'rejected');
      assert.equal(l.append(admin, 'member', 'add', { id: 'Carol', name: 'Carol again' }).result.status, 'rejected');
      assert.deepEqual(sameMemberId(l, 'bOb'), ['Bob'], 'twins from before the rule share the entry of the first in key order');
      assert.deepEqual(sameMemberId(l, 'bob'), ['Bob', 'bob']);
      const refold = open('old-refold-2');
      try {
        refold.ingest([...l.events()]);
        assert.equal(refold.stateHash(), l.stateHash(), 'the index is the same on a re-fold');
      } finally { refold.close(); }
    } finally { l.close(); }
  });
});

describe('staff guard rails in the CLI', () => {
  const t = tempDir('guards');
  const data = join(t.dir, 'site');
  const d = ['--data', data];
  let r: Record<string, Run>;

  before(() => {
    r = batch(t.dir, [
      ['init', ['init', '--name', 'Guard Space', '--tz', 'Europe/Zurich', ...d]],
      ['alice', ['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members', ...d]],
      ['twin', ['member', 'add', 'Alice', '--name', 'Alice again', ...d]],
      ['twinJson', ['member', 'add', 'ALICE', '--name', 'Alice again', ...d, '--json']],
      ['showTwin', ['member', 'show', 'Alice', ...d]],
      ['addPast', ['member', 'add', 'carol', '--name', 'Carol', '--until', '2020-01-01', ...d]],
      ['carol', ['member', 'add', 'carol', '--name', 'Carol', ...d]],
      ['expire', ['member', 'update', 'carol', '--until', '2020-01-01', ...d]],
      ['expireJson', ['member', 'update', 'carol', '--until', '2020-01-02', ...d, '--json']],
      ['badgeExpired', ['badge', 'assign', '--member', 'carol', '--uid', '04:cc:cc:cc', ...d]],
      ['suspend', ['member', 'suspend', 'alice', '--reason', 'unpaid', ...d]],
      ['badgeSuspended', ['badge', 'assign', '--member', 'alice', '--uid', '04:aa:aa:aa', ...d, '--json']],
      ['reinstate', ['member', 'reinstate', 'alice', ...d]],
      ['badgeFine', ['badge', 'assign', '--member', 'alice', '--uid', '04:ab:ab:ab', ...d]],
      ['doorGuards', ['door', 'add', 'front', '--name', 'Front', '--rule', 'members', '--rule', 'wizards', '--node', 'frnt-door', ...d]],
      ['doorGuardsJson', ['door', 'update', 'front', '--rule', 'members', '--rule', 'wizards', ...d, '--json']],
      ['doorClean', ['door', 'update', 'front', '--rule', 'members', ...d, '--json']],
      ['machineNode', ['machine', 'add', 'laser', '--name', 'Laser', '--node', 'laser', ...d, '--json']],
      ['certifyPast', ['certify', '--machine', 'laser', '--member', 'alice', '--until', '2021-06-30', ...d]],
      ['certifyFuture', ['certify', '--machine', 'laser', '--member', 'alice', '--until', '2040-06-30', ...d, '--json']],
      ['typoCmd', ['membr', 'add', 'x', ...d]],
      ['typoSub', ['door', 'lockdwon', '--site', ...d]],
      ['typoOpt', ['member', 'add', 'dan', '--name', 'Dan', '--untill', '2040-01-01', ...d]],
      ['typoOptJson', ['certify', '--machine', 'laser', '--membr', 'alice', ...d, '--json']],
      ['typoVerb', ['machine', 'trainer', 'ad', '--machine', 'laser', '--member', 'alice', ...d]],
      ['farOff', ['member', 'add', 'dan', '--name', 'Dan', '--colour', 'red', ...d]],
    ]);
    assert.equal(r['init']!.code, 0, r['init']!.stderr);
  });
  after(() => t.cleanup());

  const warnings = (run: Run): string[] => run.stderr.split('\n').filter((l) => l.startsWith('gdo: warning: '));

  it('refuses a member id that differs from an existing one only in case, early, as the ledger does', () => {
    refused(r['twin']!, 3, /^gdo: INVALID_BODY: body\.id: member 'alice' already exists; member ids are unique regardless of case, so 'Alice' is refused/);
    assert.equal(r['twinJson']!.code, 3);
    assert.deepEqual(JSON.parse(r['twinJson']!.stdout).error.code, 'INVALID_BODY');
    refused(r['showTwin']!, 1, /^gdo: member 'Alice' does not exist \(did you mean 'alice'\?\)$/);
  });

  it('refuses an --until already past where it can only be a mistake, warns where it may be meant', () => {
    refused(r['addPast']!, 2, /^gdo: --until 2020-01-01 23:59 CET is in the past: the member would be expired from the start/);
    refused(r['certifyPast']!, 2, /^gdo: --until 2021-06-30 23:59 CEST is in the past: the certificate would have ended/);
    assert.equal(json(r['certifyFuture']!)['until'], '2040-06-30T21:59:59.999Z', 'the end of the day in the site zone');
    assert.equal(r['expire']!.code, 0);
    assert.deepEqual(warnings(r['expire']!), ["gdo: warning: --until 2020-01-01 23:59 CET is in the past: member 'carol''s membership ends at once (doors and machines refuse them from now on)"]);
    const doc = json(r['expireJson']!);
    assert.equal((doc['warnings'] as string[]).length, 1, 'with --json the warnings are in the document');
    assert.equal(r['expireJson']!.stderr, '');
  });

  it('warns about a badge for an expired or suspended member, not for one in good standing', () => {
    assert.equal(r['badgeExpired']!.code, 0);
    assert.match(warnings(r['badgeExpired']!).join('\n'), /member 'carol''s membership ended 2020-01-02 23:59 CET: the badge opens nothing/);
    assert.match((json(r['badgeSuspended']!)['warnings'] as string[])[0]!, /^member 'alice' is suspended \(unpaid\): the badge opens nothing until gdo member reinstate alice$/);
    assert.equal(r['badgeFine']!.code, 0);
    assert.equal(r['badgeFine']!.stderr, '');
  });

  it('warns about a rule group no member is in and a node no one has', () => {
    assert.equal(r['doorGuards']!.code, 0);
    assert.deepEqual(warnings(r['doorGuards']!), [
      "gdo: warning: --rule: no member is in group 'wizards' yet, so this rule lets nobody in (gdo member update ID --add-group wizards)",
      "gdo: warning: --node: no enrolled or provisioned node is called 'frnt-door'; the door works once a node of that name is approved",
    ]);
    assert.deepEqual(json(r['doorGuardsJson']!)['warnings'], ["--rule: no member is in group 'wizards' yet, so this rule lets nobody in (gdo member update ID --add-group wizards)"]);
    assert.equal(json(r['doorClean']!)['warnings'], undefined);
    assert.match((json(r['machineNode']!)['warnings'] as string[])[0]!, /no enrolled or provisioned node is called 'laser'/);
  });

  it('suggests the nearest command, subcommand or option on a typo, and nothing far off', () => {
    refused(r['typoCmd']!, 2, /^gdo: unknown command 'membr' \(did you mean 'member'\?\)$/);
    refused(r['typoSub']!, 2, /^gdo: unknown subcommand 'door lockdwon' \(did you mean 'door lockdown'\?\)$/);
    refused(r['typoOpt']!, 2, /^gdo: unknown option --untill \(did you mean --until\?\)$/);
    assert.equal(JSON.parse(r['typoOptJson']!.stdout).error.message, 'unknown option --membr (did you mean --member?)');
    refused(r['typoVerb']!, 2, /\(did you mean 'add'\?\)$/);
    refused(r['farOff']!, 2, /^gdo: unknown option --colour$/);
    assert.equal(nearest('in', ['id', 'out']), undefined, 'a two-letter word suggests nothing one edit away');
    assert.equal(nearest('lsit', ['list', 'show']), 'list', 'a swap of neighbours is one edit');
  });
});
