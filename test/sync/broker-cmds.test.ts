// `gdo broker` end to end on a data directory: a secret, the password and ACL files from the
// ledger's node list (revoked nodes left out), one node's password, and clear usage errors.
// A real mosquitto then accepts the generated files (it refuses to start on a bad one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { allDapps } from '../../agent/dapps.ts';
import { parseAclFile, parsePasswordFile, verifyPassword } from '../../agent/sync/broker-auth.ts';
import { batch } from '../cli/helpers.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { signerFor } from '../ledger/helpers.ts';
import { OrgFixture, tempDir } from './helpers.ts';

void test('gdo broker: secret, passwd, acl, password on a data dir; mosquitto takes the files', { timeout: 60_000 }, async () => {
  const t = tempDir();
  try {
    const f = new OrgFixture(['front-door', 'laser']);
    const rev = f.make(f.admin, [f.head], 'org', 'key.revoke', { key: signerFor('laser').publicKey.toString('hex') });
    const l = Ledger.open({ path: join(t.dir, 'ledger.db'), dapps: allDapps });
    const res = await l.ingestAsync([...f.genesis, rev.raw]);
    assert.ok(res.every((r) => r.status === 'accepted'));
    l.close();
    const d = ['--data', t.dir];
    const secret = join(t.dir, 'broker.secret');
    const pw = join(t.dir, 'passwd');
    const acl = join(t.dir, 'acl');
    const r = batch(t.dir, [
      ['secret', ['broker', 'secret', '--out', secret]],
      ['again', ['broker', 'secret', '--out', secret]],
      ['passwd', ['broker', 'passwd', ...d, '--secret-file', secret, '--out', pw, '--operators', 'alice', '--enrolling', 'new-door', '--json']],
      ['acl', ['broker', 'acl', ...d, '--out', acl, '--operators', 'alice', '--enrolling', 'new-door']],
      ['aclStdout', ['broker', 'acl', ...d]],
      ['password', ['broker', 'password', ...d, '--secret-file', secret, '--name', 'front-door']],
      ['noSecret', ['broker', 'passwd', ...d, '--out', pw]],
      ['badSecret', ['broker', 'passwd', ...d, '--secret-file', acl]],
      ['badName', ['broker', 'acl', ...d, '--operators', 'Alice!']],
      ['clash', ['broker', 'acl', ...d, '--operators', 'front-door']],
      ['noSub', ['broker']],
      ['help', ['broker', '--help']],
    ]);
    assert.equal(r.secret.code, 0, r.secret.stderr);
    assert.equal(statSync(secret).mode & 0o777, 0o600);
    assert.equal(r.again.code, 2);
    assert.match(r.again.stderr, /exists.*--force/);
    assert.equal(r.passwd.code, 0, r.passwd.stderr);
    assert.deepEqual(JSON.parse(r.passwd.stdout).users, [
      { name: 'alice', kind: 'operator' }, { name: 'front-door', kind: 'node' }, { name: 'new-door', kind: 'enrolling' },
    ]);
    assert.equal(statSync(pw).mode & 0o777, 0o600);
    assert.equal(r.acl.code, 0, r.acl.stderr);
    // Without --out the file goes to stdout; without --operators, nodes only.
    assert.match(r.aclStdout.stdout, /user front-door\n/);
    assert.doesNotMatch(r.aclStdout.stdout, /user alice|user laser/);
    const hashes = parsePasswordFile(readFileSync(pw, 'utf8'));
    assert.deepEqual([...hashes.keys()], ['alice', 'front-door', 'new-door'], 'the revoked laser has no account');
    const password = r.password.stdout.trim();
    assert.equal(verifyPassword(password, hashes.get('front-door')!), true);
    assert.deepEqual(parseAclFile(readFileSync(acl, 'utf8')).get('new-door'), [{ access: 'write', topic: `gdo/${f.org.toString('hex')}/enrol/new-door` }]);
    assert.equal(r.noSecret.code, 2);
    assert.match(r.noSecret.stderr, /missing --secret-file/);
    assert.equal(r.badSecret.code, 2);
    assert.match(r.badSecret.stderr, /at least 16 bytes written as hex/);
    assert.equal(r.badName.code, 2);
    assert.match(r.badName.stderr, /operator name must be/);
    assert.equal(r.clash.code, 2);
    assert.match(r.clash.stderr, /already a node name/);
    assert.equal(r.noSub.code, 2);
    assert.match(r.help.stdout, /usage: gdo broker/);

    const broker = await startMosquitto({ passwordFile: pw, aclFile: acl });
    try {
      const c = await mqtt.connectAsync(broker.url, { username: 'front-door', password, reconnectPeriod: 0 });
      await c.endAsync();
      await assert.rejects(mqtt.connectAsync(broker.url, { username: 'laser', password, reconnectPeriod: 0 }), /Not authorized|Bad username|password/i);
    } finally {
      await broker.stop();
    }
  } finally {
    t.cleanup();
  }
});
