// Plain TCP only where a key says so (docs/sync-protocol.md, "TLS"): the agent's config refuses mqtt:// and
// ws:// to a host off this machine and an embedded listener without TLS on a network address, naming the key
// to change; TLS is the default. The bootstrap's tls field is checked before first boot writes any file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../agent/daemon/config/index.ts';
import { ConfigError } from '../../agent/daemon/config/errors.ts';
import { validateBootstrap } from '../../agent/enrol/bootstrap.ts';
import { issueServerCert } from '../../agent/enrol/site-ca.ts';
import { bootstrapFor, expectError, foundOrg, tempDir } from '../enrol/helpers.ts';
import { gdo, writeJson } from '../daemon/helpers.ts';
import { newCa } from './helpers.ts';

function refused(sync: Record<string, unknown>, key: string, pattern: RegExp): void {
  assert.throws(() => parseConfig({ sync }), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.key, key);
    assert.match(err.message, pattern);
    return true;
  });
}

test('TLS by default: the embedded broker on 0.0.0.0:8883 with broker.crt and broker.key from the state directory', () => {
  const cfg = parseConfig({ state_dir: '/var/lib/gdo', sync: { broker: 'embedded' } });
  assert.equal(cfg.sync.embedded_listen, '0.0.0.0:8883');
  assert.equal(cfg.sync.tls_cert_file, '/var/lib/gdo/broker.crt');
  assert.equal(cfg.sync.tls_key_file, '/var/lib/gdo/broker.key');
  assert.equal(cfg.sync.ca_file, '');
  assert.equal(cfg.sync.allow_plain, false);
  assert.equal(parseConfig({ state_dir: '/s', sync: { broker: 'mqtts://hub.local:8883', ca_file: 'ca.crt' } }).sync.ca_file, '/s/ca.crt');
});

test('plain TCP across a network is a config error naming the key, unless sync.allow_plain', () => {
  refused({ broker: 'mqtt://hub.local:1883' }, 'sync.broker', /^sync\.broker is plain TCP to hub\.local, which crosses a network; use mqtts:\/\/ \(with sync\.ca_file\) or set sync\.allow_plain to true$/);
  refused({ broker: 'ws://10.0.0.2:8080/mqtt' }, 'sync.broker', /plain TCP to 10\.0\.0\.2.*use wss:\/\//);
  refused({ broker: 'embedded', tls_cert_file: '' }, 'sync.tls_cert_file', /sync\.tls_cert_file is "" \(plain TCP\) while the broker listens on 0\.0\.0\.0:8883, off this machine/);
  refused({ broker: 'embedded', tls_key_file: '' }, 'sync.tls_key_file', /must name the key of sync\.tls_cert_file/);
  // Loopback never crosses a network; allow_plain lifts the rule where a site chooses it.
  for (const broker of ['mqtt://127.0.0.1:1883', 'mqtt://localhost:1883', 'mqtt://[::1]:1883', 'ws://127.0.0.5:9001']) assert.equal(parseConfig({ sync: { broker } }).sync.broker, broker);
  assert.equal(parseConfig({ sync: { broker: 'embedded', tls_cert_file: '', embedded_listen: '127.0.0.1:1883' } }).sync.tls_cert_file, '');
  assert.equal(parseConfig({ sync: { broker: 'mqtt://hub.local:1883', allow_plain: true } }).sync.allow_plain, true);
  assert.equal(parseConfig({ sync: { broker: 'embedded', tls_cert_file: '', allow_plain: true } }).sync.tls_cert_file, '');
});

test('gdo config check names sync.broker for plain TCP to the hub (exit 78)', (t) => {
  const { dir, cleanup } = tempDir('tls-config');
  t.after(cleanup);
  const r = gdo(['config', 'check', writeJson(`${dir}/agent.json`, { sync: { broker: 'mqtt://hub.local:1883', username: 'door', password_file: 'p' } })]);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /sync\.broker is plain TCP to hub\.local/);
});

test('bootstrap tls: the CA must be a CA, the certificate issued by it and the key its own; only a hub gets a certificate; the key is never echoed', (t) => {
  const { dir, cleanup } = tempDir('tls-bootstrap');
  t.after(cleanup);
  const org = foundOrg(dir);
  t.after(() => org.ledger.close());
  const ca = newCa();
  const leaf = issueServerCert(ca, { commonName: 'hub.local', dnsNames: ['hub.local', 'hub'] });
  const hub = { ...bootstrapFor(org), node: { name: 'hub', roles: ['hub' as const], hostname: 'hub' }, broker: { url: 'embedded', secret: 'ab'.repeat(32) } };
  assert.deepEqual(validateBootstrap({ ...hub, tls: { ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem } }, 'b').tls, { ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem });
  assert.deepEqual(validateBootstrap({ ...bootstrapFor(org), tls: { ca: ca.certPem } }, 'b').tls, { ca: ca.certPem });
  expectError('ENROL_BAD_BOOTSTRAP', /^b: tls\.ca is not a CA certificate/, () => validateBootstrap({ ...bootstrapFor(org), tls: { ca: leaf.certPem } }, 'b'));
  expectError('ENROL_BAD_BOOTSTRAP', /^b: tls\.ca must be the site CA certificate in PEM/, () => validateBootstrap({ ...bootstrapFor(org), tls: { ca: 'not a pem' } }, 'b'));
  expectError('ENROL_BAD_BOOTSTRAP', /^b: unknown field tls\.extra/, () => validateBootstrap({ ...bootstrapFor(org), tls: { ca: ca.certPem, extra: 1 } }, 'b'));
  expectError('ENROL_BAD_BOOTSTRAP', /^b: tls\.cert and tls\.key are for a hub running the embedded broker/, () =>
    validateBootstrap({ ...bootstrapFor(org), tls: { ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem } }, 'b'));
  const other = newCa('Elsewhere');
  expectError('ENROL_BAD_BOOTSTRAP', /^b: tls\.cert is not issued by tls\.ca$/, () => validateBootstrap({ ...hub, tls: { ca: other.certPem, cert: leaf.certPem, key: leaf.keyPem } }, 'b'));
  const otherLeaf = issueServerCert(ca, { commonName: 'hub', dnsNames: ['hub'] });
  assert.throws(() => validateBootstrap({ ...hub, tls: { ca: ca.certPem, cert: leaf.certPem, key: otherLeaf.keyPem } }, 'b'), (err: Error) => {
    assert.match(err.message, /^b: tls\.key is not the key of tls\.cert$/);
    assert.ok(!err.message.includes(otherLeaf.keyPem.slice(30, 60)), 'the key is not in the message');
    return true;
  });
  assert.throws(() => validateBootstrap({ ...hub, tls: { ca: ca.certPem, cert: leaf.certPem, key: `${leaf.keyPem.slice(0, 60)}garbage` } }, 'b'), (err: Error) => {
    assert.match(err.message, /tls\.key does not parse as a private key/);
    assert.ok(!err.message.includes('garbage') && !err.message.includes(leaf.keyPem.slice(28, 60)), 'the key is not in the message');
    return true;
  });
});
