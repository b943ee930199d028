// A hub agent whose broker certificate is missing or wrong: the broker does not start (never a plain
// listener in its place), one line names sync.tls_cert_file or sync.tls_key_file, and once the files are
// right the supervisor's retry starts it with TLS, without a restart. Without sync.ca_file it says that its own
// sync cannot verify the site CA's certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { act } from '../../agent/access/staff.ts';
import { allDapps } from '../../agent/dapps.ts';
import { issueServerCert } from '../../agent/enrol/site-ca.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { derivePassword } from '../../agent/sync/broker-auth.ts';
import { spawnAgent, tempDir, writeJson } from '../daemon/helpers.ts';
import { signerFor } from '../ledger/helpers.ts';
import { newCa, verifyAs } from './helpers.ts';
import { freePort } from '../helpers/free-port.ts';

const refusedTcp = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = connect({ host: '127.0.0.1', port });
  s.once('connect', () => { s.destroy(); resolve(false); });
  s.once('error', () => resolve(true));
});

void test('hub agent without its broker certificate: no broker, one line naming the key; it starts with TLS once the files are right', { timeout: 90_000 }, async (t) => {
  const tmp = tempDir('gdo-hub-cert-');
  t.after(() => tmp.dispose());
  const hubDir = join(tmp.dir, 'hub');
  mkdirSync(hubDir);
  const admin = signerFor('admin');
  const l = Ledger.open({ path: join(hubDir, 'ledger.db'), dapps: allDapps });
  const g = act(l, admin, 'org', 'genesis', { name: 'Hub Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] });
  l.close();
  const org = g.id.toString('hex');
  const secret = randomBytes(32);
  writeFileSync(join(hubDir, 'broker.secret'), `${secret.toString('hex')}\n`, { mode: 0o600 });
  const ca = newCa();
  writeFileSync(join(hubDir, 'ca.crt'), ca.certPem);
  const port = await freePort();
  const hub = spawnAgent(writeJson(`${hubDir}.json`, {
    node: { name: 'hub', roles: ['hub'] }, org, state_dir: hubDir, http: { listen: '127.0.0.1:0' },
    // No sync.ca_file: the hub says its own sync cannot verify the site CA's certificate that way.
    sync: { broker: 'embedded', embedded_listen: `127.0.0.1:${port}`, broker_operators: ['office'] },
  }));
  t.after(async () => { await hub.stop('SIGKILL'); });
  const failed = (re: RegExp) => (x: { part?: unknown; msg: string }): boolean => x.part === 'broker' && re.test(x.msg);
  const missing = await hub.waitForLog(failed(/^broker failed: /), 'the broker part failing');
  assert.match(missing.msg, /^broker failed: sync\.tls_cert_file: cannot read \S+broker\.crt \(ENOENT\); the embedded broker listens with TLS: issue its certificate with 'gdo broker tls/);
  assert.ok(!missing.msg.includes('\n'));
  assert.ok(await refusedTcp(port), 'nothing listens: no plain broker in its place');

  // A key readable by others is refused; another certificate's key too; then the right pair starts it.
  const leaf = issueServerCert(ca, { commonName: 'hub.local', dnsNames: ['hub.local', 'hub'] });
  const other = issueServerCert(ca, { commonName: 'hub.local', dnsNames: ['hub.local'] });
  writeFileSync(join(hubDir, 'broker.crt'), leaf.certPem);
  writeFileSync(join(hubDir, 'broker.key'), other.keyPem, { mode: 0o644 });
  chmodSync(join(hubDir, 'broker.key'), 0o644);
  const open = await hub.waitForLog(failed(/sync\.tls_key_file: .*readable by others/), 'the world-readable key refused', 30_000);
  assert.match(open.msg, /run chmod 600/);
  chmodSync(join(hubDir, 'broker.key'), 0o600);
  await hub.waitForLog(failed(/sync\.tls_key_file: \S+ is not the key of /), 'a key of another certificate refused', 30_000);
  writeFileSync(join(hubDir, 'broker.key'), leaf.keyPem, { mode: 0o600 });
  const up = await hub.waitForLog((x) => x.msg === `embedded broker listening on 127.0.0.1:${port}`, 'the broker once the files are right', 30_000);
  assert.equal(up['tls'], 'hub.local');
  await hub.waitForLog((x) => x.part === 'broker' && x.level === 'warn' && /^sync\.ca_file is "": this hub's own sync checks/.test(x.msg), 'the missing sync.ca_file named');
  const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
    reconnectPeriod: 0, connectTimeout: 5000, username: 'office', password: derivePassword(secret, org, 'office'), ...verifyAs(ca),
  }, false);
  await c.endAsync();
  assert.ok(!hub.stdout().includes('PRIVATE KEY'), 'no key in the log');
  assert.equal((await hub.stop()).code, 0);
});
