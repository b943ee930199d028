// Broker security (docs/sync-protocol.md 6): the password and ACL files made from the ledger's
// node list, checked against the real mosquitto (and mosquitto_passwd's own hashes), and the
// same model enforced by the embedded broker: one contract for both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  accessFromFiles, accessFromLedger, derivePassword, formatAclFile, formatPasswordFile, hashPassword, maySubscribe,
  mayPublish, parseAclFile, parsePasswordFile, topicMatches, verifyPassword, type BrokerAccess,
} from '../../agent/sync/broker-auth.ts';
import { Topics } from '../../agent/sync/topics.ts';
import { collectEnrolmentRequests, publishEnrolmentRequest } from '../../agent/sync/enrol-topic.ts';
import type { Ledger } from '../../agent/ledger/ledger.ts';
import { signerFor } from '../ledger/helpers.ts';
import { BROKER_KINDS, OrgFixture, brokerTls, closeClient as close, collectUntil, ingestAll, startBroker, syncNode, tempDir, waitFor, type TestBroker, type TempDir } from './helpers.ts';

const SECRET = Buffer.alloc(32, 0x5a);

/** An org with two doors, a hub, and a revoked node. */
async function orgLedger(t: TempDir): Promise<{ f: OrgFixture; l: Ledger }> {
  const f = new OrgFixture(['node-a', 'node-b', 'old-door']);
  const hub = f.make(f.admin, [f.head], 'org', 'node.add', { key: signerFor('hub-1').publicKey.toString('hex'), name: 'hub-1', roles: ['hub'] });
  const rev = f.make(f.admin, [hub.id], 'org', 'key.revoke', { key: signerFor('old-door').publicKey.toString('hex') });
  f.head = rev.id;
  const l = t.ledger('org');
  await ingestAll(l, [...f.genesis, hub.raw, rev.raw]);
  return { f, l };
}

void test('passwords: derived per org and name; $7$ hashes interoperate with mosquitto_passwd', () => {
  const org = 'ab'.repeat(32);
  const p = derivePassword(SECRET, org, 'node-a');
  assert.equal(p, derivePassword(SECRET, org, 'node-a'));
  assert.notEqual(p, derivePassword(SECRET, org, 'node-b'));
  assert.notEqual(p, derivePassword(SECRET, 'cd'.repeat(32), 'node-a'));
  assert.notEqual(p, derivePassword(Buffer.alloc(32, 1), org, 'node-a'));
  assert.throws(() => derivePassword(Buffer.alloc(8), org, 'node-a'), /at least 16 bytes/);
  const h = hashPassword('s3cret', Buffer.alloc(12, 3));
  assert.match(h, /^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  assert.equal(verifyPassword('s3cret', h), true);
  assert.equal(verifyPassword('s3cret!', h), false);
  // A hash written by the real tool verifies with ours (same algorithm, same encoding).
  const t = tempDir();
  try {
    const file = join(t.dir, 'pw');
    execFileSync('mosquitto_passwd', ['-c', '-b', file, 'door', 'open sesame'], { stdio: 'ignore' });
    const theirs = parsePasswordFile(readFileSync(file, 'utf8')).get('door')!;
    assert.match(theirs, /^\$7\$/);
    assert.equal(verifyPassword('open sesame', theirs), true);
    assert.equal(verifyPassword('open sesame ', theirs), false);
  } finally { t.cleanup(); }
  assert.equal(verifyPassword('x', 'plain'), false);
  assert.equal(verifyPassword('x', '$7$notanumber$a$b'), false);
});

void test('access model from the ledger: enrolled nodes, hub extras, revoked keys out, enrolling names and operators', async () => {
  const t = tempDir();
  try {
    const { f, l } = await orgLedger(t);
    const org = f.org.toString('hex');
    const a = accessFromLedger(l, { secret: SECRET, enrolling: ['new-door'], operators: ['alice'] });
    assert.deepEqual(a.users.map((u) => [u.name, u.kind]), [['alice', 'operator'], ['hub-1', 'node'], ['new-door', 'enrolling'], ['node-a', 'node'], ['node-b', 'node']]);
    const tp = new Topics(org);
    const rules = (n: string) => a.users.find((u) => u.name === n)!.rules;
    assert.ok(mayPublish(rules('node-a'), tp.events('node-a')));
    assert.ok(mayPublish(rules('node-a'), tp.direct('node-a', 'node-b')));
    assert.ok(!mayPublish(rules('node-a'), tp.events('node-b')), 'never another node\'s topics');
    assert.ok(!mayPublish(rules('node-a'), tp.enrol('node-b')));
    assert.ok(maySubscribe(rules('node-a'), `gdo/${org}/node/+/to/node-a`));
    assert.ok(!maySubscribe(rules('node-a'), `gdo/${org}/node/+/to/node-b`), 'nor read what is addressed to others');
    assert.ok(!maySubscribe(rules('node-a'), `gdo/${org}/#`));
    assert.ok(!maySubscribe(rules('node-a'), tp.enrolWildcard()));
    assert.ok(maySubscribe(rules('hub-1'), tp.enrolWildcard()), 'a hub collects enrolment requests');
    assert.deepEqual(rules('new-door'), [{ access: 'write', topic: tp.enrol('new-door') }]);
    // An operator (an office tool) collects requests and syncs under its own name, never a node's.
    assert.ok(maySubscribe(rules('alice'), tp.enrolWildcard()) && maySubscribe(rules('alice'), `gdo/${org}/node/+/events`));
    assert.ok(mayPublish(rules('alice'), tp.events('alice')) && !mayPublish(rules('alice'), tp.events('node-a')) && !mayPublish(rules('alice'), tp.enrol('node-a')));
    for (const u of a.users) assert.equal(verifyPassword(derivePassword(SECRET, org, u.name), u.passwordHash!), true, u.name);
    // The files say the same thing, and the output is stable (salts are derived, not random).
    const pw = formatPasswordFile(a);
    const acl = formatAclFile(a);
    assert.equal(formatPasswordFile(accessFromLedger(l, { secret: SECRET, enrolling: ['new-door'], operators: ['alice'] })), pw);
    assert.match(acl, new RegExp(`user node-a\\ntopic write gdo/${org}/node/node-a/status\\ntopic write gdo/${org}/node/node-a/events\\ntopic write gdo/${org}/node/node-a/to/\\+\\n`));
    assert.doesNotMatch(pw + acl, /old-door/);
    const back = accessFromFiles(org, pw, acl);
    assert.deepEqual(back.users.map((u) => [u.name, u.passwordHash, u.rules]), a.users.map((u) => [u.name, u.passwordHash, u.rules]));
    assert.deepEqual(parseAclFile('user x\ntopic gdo/#\n').get('x'), [{ access: 'readwrite', topic: 'gdo/#' }]);
    assert.throws(() => parseAclFile('pattern write %u/#'), /line 1: not understood/);
    assert.throws(() => accessFromLedger(l, { secret: SECRET, operators: ['node-a'] }), /already a node name/);
    assert.throws(() => accessFromLedger(l, { secret: SECRET, enrolling: ['Bad Name'] }), /enrolling node name/);
    // Without listing them (the embedded broker): any provisioned name is enrolling, except revoked ones.
    const any = accessFromLedger(l, { secret: SECRET, anyEnrolling: true });
    assert.deepEqual(any.users.map((u) => u.name), ['hub-1', 'node-a', 'node-b']);
    const fresh = any.lookup!('new-door')!;
    assert.deepEqual([fresh.kind, fresh.rules], ['enrolling', [{ access: 'write', topic: tp.enrol('new-door') }]]);
    assert.equal(verifyPassword(derivePassword(SECRET, org, 'new-door'), fresh.passwordHash!), true);
    assert.equal(verifyPassword(derivePassword(SECRET, org, 'node-a'), fresh.passwordHash!), false);
    assert.equal(any.lookup!('old-door'), null, 'a revoked name has no account');
    assert.equal(any.lookup!('node-a'), null, 'listed names are not looked up');
    assert.equal(any.lookup!('Bad Name'), null);
    assert.equal(a.lookup, undefined);
    assert.throws(() => accessFromLedger(l, { anyEnrolling: true }), /needs the broker secret/);
  } finally { t.cleanup(); }
});

void test('topic filters: + is one level, # the rest including the parent', () => {
  assert.ok(topicMatches('a/+/c', 'a/b/c'));
  assert.ok(!topicMatches('a/+/c', 'a/b/d/c'));
  assert.ok(topicMatches('a/#', 'a'));
  assert.ok(topicMatches('a/#', 'a/b/c'));
  assert.ok(!topicMatches('a/b', 'a/b/c'));
});

async function connect(b: TestBroker, username?: string, password?: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(b.url, { reconnectPeriod: 0, connectTimeout: 5000, ...brokerTls(b.url), ...(username ? { username } : {}), ...(password ? { password } : {}) }, false);
}


async function tryPublish(c: mqtt.MqttClient, topic: string, payload: string, retain = false): Promise<void> {
  // Mosquitto acknowledges and drops a forbidden publish; aedes drops the client. Either way, nothing is delivered.
  await Promise.race([c.publishAsync(topic, payload, { qos: 1, retain }).catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
}

for (const kind of BROKER_KINDS) {
  void test(`${kind}: generated credentials and ACL - right password in, wrong out, no writing on other nodes' topics, sync works`, { timeout: 90_000 }, async () => {
    const t = tempDir();
    let broker: TestBroker | undefined;
    const clients: mqtt.MqttClient[] = [];
    try {
      const { f, l } = await orgLedger(t);
      const org = f.org.toString('hex');
      const access: BrokerAccess = accessFromLedger(l, { secret: SECRET, enrolling: ['new-door'], operators: ['alice'] });
      const passwordFile = join(t.dir, 'passwd');
      const aclFile = join(t.dir, 'acl');
      writeFileSync(passwordFile, formatPasswordFile(access));
      writeFileSync(aclFile, formatAclFile(access));
      broker = await startBroker(kind, { passwordFile, aclFile, access });
      const pw = (n: string) => derivePassword(SECRET, org, n);
      const tp = new Topics(org);

      await assert.rejects(connect(broker, 'node-a', 'wrong'), /Not authorized|Bad username|refused|password/i);
      await assert.rejects(connect(broker, 'old-door', pw('old-door')), /Not authorized|Bad username|refused|password/i, 'a revoked node has no account');
      await assert.rejects(connect(broker), /Not authorized|Bad username|refused|password/i, 'anonymous clients are refused');

      const a = await connect(broker, 'node-a', pw('node-a'));
      const a2 = await connect(broker, 'node-a', pw('node-a'));
      const b = await connect(broker, 'node-b', pw('node-b'));
      clients.push(a, a2, b);
      await b.subscribeAsync([`gdo/${org}/node/+/events`, `gdo/${org}/node/+/to/node-b`], { qos: 1 });
      const seen = collectUntil(b, 'marker');
      await tryPublish(a, tp.events('node-b'), 'forged-by-a');
      await tryPublish(a, tp.direct('node-b', 'node-b'), 'forged-direct');
      await a2.publishAsync(tp.direct('node-a', 'node-b'), 'hello', { qos: 1 });
      await a2.publishAsync(tp.events('node-a'), 'marker', { qos: 1 });
      assert.deepEqual(await seen, [`${tp.direct('node-a', 'node-b')} hello`, `${tp.events('node-a')} marker`]);

      // What is addressed to another node never reaches it (aedes refuses the subscription,
      // mosquitto grants it and filters each message by the read rules).
      const spy = await connect(broker, 'node-a', pw('node-a'));
      clients.push(spy);
      await spy.subscribeAsync(`gdo/${org}/node/+/to/node-b`, { qos: 1 }).catch(() => undefined);
      await spy.subscribeAsync(tp.events('node-b'), { qos: 1 });
      const spied = collectUntil(spy, 'marker-2');
      await a2.publishAsync(tp.direct('node-a', 'node-b'), 'for b only', { qos: 1 });
      await b.publishAsync(tp.events('node-b'), 'marker-2', { qos: 1 });
      assert.deepEqual(await spied, [`${tp.events('node-b')} marker-2`]);

      // An enrolling node may write its own enrolment request and nothing else.
      const opts = { url: broker.url, orgId: org, tls: brokerTls(broker.url) };
      await publishEnrolmentRequest({ ...opts, username: 'new-door', password: pw('new-door'), name: 'new-door', payload: Buffer.from('signed request') });
      const n = await connect(broker, 'new-door', pw('new-door'));
      clients.push(n);
      await tryPublish(n, tp.enrol('node-b'), 'squat', true);
      await assert.rejects(publishEnrolmentRequest({ ...opts, username: 'new-door', password: pw('new-door'), name: 'node-b', payload: Buffer.from('x') }).then(async () => {
        // Mosquitto acknowledges a refused publish: the proof is that nothing was stored (below).
        throw new Error('acknowledged');
      }), /acknowledged|dropped the connection/);
      await tryPublish(n, tp.events('new-door'), 'not yet');
      const reqs = await collectEnrolmentRequests({ ...opts, username: 'alice', password: pw('alice'), waitMs: 500 });
      assert.deepEqual(reqs.map((r) => [r.name, r.payload.toString()]), [['new-door', 'signed request']]);
      // A door cannot read enrolment requests: refused (aedes) or nothing delivered (mosquitto).
      const peek = await collectEnrolmentRequests({ ...opts, username: 'node-a', password: pw('node-a'), waitMs: 300 }).catch((e: Error) => e);
      if (peek instanceof Error) assert.match(peek.message, /refused a subscription/);
      else assert.deepEqual(peek, []);

      // The protocol needs nothing beyond what the ACL grants: two nodes converge under it.
      for (const c of clients) await close(c);
      clients.length = 0;
      const la = t.ledger('a');
      const lb = t.ledger('b');
      await ingestAll(la, [...l.events()]);
      await ingestAll(lb, [...l.events()]);
      await ingestAll(la, f.notes('node-a', 40).map((e) => e.raw));
      await ingestAll(lb, f.notes('node-b', 30).map((e) => e.raw));
      const na = syncNode(la, broker.url, f.org, 'node-a', { username: 'node-a', password: pw('node-a') });
      const nb = syncNode(lb, broker.url, f.org, 'node-b', { username: 'node-b', password: pw('node-b') });
      try {
        await na.start();
        await na.waitConnected();
        await nb.start();
        await waitFor('both nodes converge under the ACL', () => la.count() === lb.count() && la.stateHash() === lb.stateHash());
        assert.equal(la.count(), l.count() + 70);
        la.append(signerFor('node-a'), 'note', 'set', { k: 'live', v: 1 });
        await waitFor('a live event crosses', () => lb.get('note/v/live') === 1);
      } finally {
        await na.stop();
        await nb.stop();
      }
    } finally {
      for (const c of clients) await close(c);
      await broker?.stop();
      t.cleanup();
    }
  });
}
