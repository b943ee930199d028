// TLS from `gdo init` to a running hub, every step a separate process as README and provisioning/README.md
// type them: init makes the site CA and the broker secret and says what to back up; `gdo provision` puts the
// CA into every bootstrap and a broker certificate for the hub's names into the hub's; `gdo firstboot` writes
// ca.crt, broker.crt and broker.key with their modes and points agent.json at them; the hub's agent then
// listens with TLS, and the door's config verifies the hub against the CA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { derivePassword, parseBrokerSecret } from '../../agent/sync/broker-auth.ts';
import { spawnAgent, writeJson } from '../daemon/helpers.ts';
import { gdoCli, tempDir, TEST_PASSPHRASE } from '../enrol/helpers.ts';
import { verifyAs } from './helpers.ts';

const mode = (p: string): number => statSync(p).mode & 0o777;

function pi(root: string, listen?: string): void {
  mkdirSync(join(root, 'boot/firmware'), { recursive: true });
  mkdirSync(join(root, 'etc/gdo'), { recursive: true });
  // What the image ships (image-build/payload.ts), plus a loopback port so the test can run several hubs.
  writeFileSync(join(root, 'etc/gdo/agent.json'), JSON.stringify({ state_dir: '/var/lib/gdo', log: { level: 'info' }, ...(listen && { sync: { embedded_listen: listen } }) }));
}

void test('gdo init, gdo provision, gdo firstboot: the site CA reaches every node, the hub listens with a certificate for its names', { timeout: 120_000 }, async (t) => {
  const { dir, cleanup } = tempDir('provision-tls');
  t.after(cleanup);
  const data = join(dir, 'space');
  const pass = join(dir, 'pass');
  writeFileSync(pass, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
  const init = gdoCli(['init', '--name', 'Our Space', '--data', data, '--tz', 'Europe/London', '--passphrase-file', pass]);
  assert.equal(init.code, 0, init.stderr);
  // One message: the four files to back up, then the next three commands.
  assert.match(init.stdout, /Back these up now[^\n]*\n {2}\S+operator\.key [^\n]+\n {2}\S+site-secret [^\n]+\n {2}\S+broker\.secret [^\n]+\n {2}\S+ca\.key [^\n]+\nNext:\n {2}gdo member add [^\n]+\n {2}gdo provision [^\n]+--broker embedded[^\n]+\n {2}gdo site connect --broker mqtts:\/\/hub\.local:8883 [^\n]+--ca \S+ca\.crt/);
  for (const [f, m] of [['ca.crt', 0o644], ['ca.key', 0o600], ['broker.secret', 0o600], ['site-secret', 0o600]] as const) assert.equal(mode(join(data, f)), m, f);
  const secret = parseBrokerSecret(readFileSync(join(data, 'broker.secret'), 'utf8'));
  assert.ok(!init.stdout.includes(secret.toString('hex')), 'no secret on the screen');
  const json = gdoCli(['init', '--name', 'Other', '--data', join(dir, 'other'), '--passphrase-file', pass, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const j = JSON.parse(json.stdout) as { ca: string; backup: Record<string, string> };
  assert.deepEqual(Object.keys(j.backup), ['operator_key', 'site_secret', 'broker_secret', 'ca_key']);

  // The hub: --broker embedded, a certificate for hub.local, hub and the extra name and address.
  const hubRoot = join(dir, 'hub-pi');
  pi(hubRoot, '127.0.0.1:0');
  const hubConfig = writeJson(join(dir, 'hub-node.json'), { sync: { broker_operators: ['desk'] } });
  const prov = gdoCli(['provision', '--target', hubRoot, '--node', 'hub', '--role', 'hub', '--broker', 'embedded', '--broker-secret-file', join(data, 'broker.secret'),
    '--broker-name', 'hub.space.example,127.0.0.1', '--config', hubConfig, '--data', data]);
  assert.equal(prov.code, 0, prov.stderr);
  const boot = JSON.parse(readFileSync(join(hubRoot, 'boot/firmware/gdo/bootstrap.json'), 'utf8')) as { tls: { ca: string; cert: string; key: string } };
  assert.equal(boot.tls.ca, readFileSync(join(data, 'ca.crt'), 'utf8'));
  const cert = new X509Certificate(boot.tls.cert);
  assert.equal(cert.subjectAltName, 'DNS:hub.local, DNS:hub, DNS:hub.space.example, IP Address:127.0.0.1');
  assert.ok(cert.verify(new X509Certificate(boot.tls.ca).publicKey));
  assert.ok(!prov.stdout.includes('PRIVATE KEY') && !prov.stderr.includes('PRIVATE KEY'));

  const fb = gdoCli(['firstboot', '--bootstrap', join(hubRoot, 'boot/firmware/gdo/bootstrap.json'), '--state', join(hubRoot, 'var/lib/gdo'),
    '--config', join(hubRoot, 'etc/gdo/agent.json'), '--root', hubRoot]);
  assert.equal(fb.code, 0, fb.stderr);
  const state = join(hubRoot, 'var/lib/gdo');
  assert.equal(mode(join(state, 'ca.crt')), 0o644);
  assert.equal(mode(join(state, 'broker.crt')), 0o600);
  assert.equal(mode(join(state, 'broker.key')), 0o600);
  const agentJson = readFileSync(join(hubRoot, 'etc/gdo/agent.json'), 'utf8');
  assert.doesNotMatch(agentJson, /PRIVATE KEY|BEGIN CERTIFICATE/, 'files, not PEM, in the world-readable config');
  const sync = (JSON.parse(agentJson) as { sync: Record<string, unknown> }).sync;
  assert.equal(sync['ca_file'], join(state, 'ca.crt'));
  assert.equal(sync['tls_cert_file'], join(state, 'broker.crt'));
  assert.equal(sync['tls_key_file'], join(state, 'broker.key'));
  const check = gdoCli(['config', 'check', join(hubRoot, 'etc/gdo/agent.json')]);
  assert.equal(check.code, 0, check.stderr);

  // A door: the CA only, and its URL is mqtts:// (plain mqtt:// to the hub is refused at provision time).
  const doorRoot = join(dir, 'door-pi');
  pi(doorRoot);
  const plain = gdoCli(['provision', '--target', doorRoot, '--node', 'front-door', '--role', 'door', '--broker', 'mqtt://hub.local:1883', '--broker-secret-file', join(data, 'broker.secret'), '--data', data]);
  assert.equal(plain.code, 1, plain.stderr);
  assert.match(plain.stderr, /sync\.broker is plain TCP to hub\.local, which crosses a network; use mqtts:\/\/ \(with sync\.ca_file\) or set sync\.allow_plain to true/);
  assert.ok(!existsSync(join(doorRoot, 'boot/firmware/gdo/bootstrap.json')) && !existsSync(join(data, 'provisioned/front-door.json')), 'nothing written');
  const door = gdoCli(['provision', '--target', doorRoot, '--node', 'front-door', '--role', 'door', '--broker', 'mqtts://hub.local:8883', '--broker-secret-file', join(data, 'broker.secret'), '--data', data]);
  assert.equal(door.code, 0, door.stderr);
  const doorBoot = JSON.parse(readFileSync(join(doorRoot, 'boot/firmware/gdo/bootstrap.json'), 'utf8')) as { tls: Record<string, string> };
  assert.deepEqual(Object.keys(doorBoot.tls), ['ca'], 'a door gets the CA, no certificate or key');
  const names = gdoCli(['provision', '--target', join(dir, 'x'), '--node', 'laser', '--role', 'machine', '--broker', 'mqtts://hub.local:8883', '--broker-name', 'laser.local', '--data', data]);
  assert.notEqual(names.code, 0);
  assert.match(names.stderr, /--broker-name is for a hub running the embedded broker/);

  // The node beside the site's own Mosquitto (--config with sync.mosquitto_dir): its own password to log in,
  // and the secret it writes every account's hash from; first boot keeps the secret 0600 and names it.
  const mqRoot = join(dir, 'mq-pi');
  pi(mqRoot);
  const mqConfig = writeJson(join(dir, 'mq-node.json'), { sync: { mosquitto_dir: '/etc/mosquitto/gdo', broker_operators: ['desk'] } });
  const mqProv = gdoCli(['provision', '--target', mqRoot, '--node', 'broker-host', '--role', 'hub', '--broker', 'mqtts://broker.local:8883',
    '--broker-secret-file', join(data, 'broker.secret'), '--config', mqConfig, '--data', data]);
  assert.equal(mqProv.code, 0, mqProv.stderr);
  const mqBoot = JSON.parse(readFileSync(join(mqRoot, 'boot/firmware/gdo/bootstrap.json'), 'utf8')) as { broker: Record<string, string>; tls: Record<string, string> };
  assert.equal(mqBoot.broker['secret'], secret.toString('hex'));
  assert.equal(mqBoot.broker['username'], 'broker-host');
  assert.deepEqual(Object.keys(mqBoot.tls), ['ca']);
  const mqFb = gdoCli(['firstboot', '--bootstrap', join(mqRoot, 'boot/firmware/gdo/bootstrap.json'), '--state', join(mqRoot, 'var/lib/gdo'),
    '--config', join(mqRoot, 'etc/gdo/agent.json'), '--root', mqRoot]);
  assert.equal(mqFb.code, 0, mqFb.stderr);
  assert.equal(mode(join(mqRoot, 'var/lib/gdo/broker.secret')), 0o600);
  const mqSync = (JSON.parse(readFileSync(join(mqRoot, 'etc/gdo/agent.json'), 'utf8')) as { sync: Record<string, unknown> }).sync;
  assert.equal(mqSync['broker_secret_file'], join(mqRoot, 'var/lib/gdo/broker.secret'));
  assert.equal(mqSync['mosquitto_dir'], '/etc/mosquitto/gdo');
  assert.equal(mqSync['ca_file'], join(mqRoot, 'var/lib/gdo/ca.crt'));

  // The hub's agent listens with TLS; a client with the site CA gets in as the hub's name or address.
  const org = (JSON.parse(agentJson) as { org: string }).org;
  const hub = spawnAgent(join(hubRoot, 'etc/gdo/agent.json'));
  t.after(async () => { await hub.stop('SIGKILL'); });
  const up = await hub.waitForLog((l) => /^embedded broker listening on /.test(l.msg), 'the embedded broker', 30_000);
  assert.equal(up['tls'], 'hub.local');
  const port = Number(/:(\d+)$/.exec(String(up['listen']))![1]);
  const login = { username: 'desk', password: derivePassword(secret, org, 'desk') };
  const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...login, ...verifyAs(readFileSync(join(data, 'ca.crt'), 'utf8'), '127.0.0.1') }, false);
  await c.endAsync();
  const byName = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...login, ...verifyAs(readFileSync(join(data, 'ca.crt'), 'utf8'), 'hub.local') }, false);
  await byName.endAsync();
  // The desk's commands verify the hub with DATA/ca.crt by default: the hub's own enrolment request, which
  // its agent published over loopback TLS, is read through the same listener.
  const deskPass = join(dir, 'desk.pass');
  writeFileSync(deskPass, login.password, { mode: 0o600 });
  let listed: { name: string }[] = [];
  for (let i = 0; i < 50 && !listed.some((r) => r.name === 'hub'); i++) {
    const rq = gdoCli(['node', 'requests', '--broker', `mqtts://127.0.0.1:${port}`, '--broker-user', 'desk', '--broker-pass-file', deskPass, '--data', data, '--json']);
    assert.equal(rq.code, 0, rq.stderr);
    listed = JSON.parse(rq.stdout) as { name: string }[];
    if (!listed.some((r) => r.name === 'hub')) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(listed.some((r) => r.name === 'hub'), JSON.stringify(listed));
  // The hub's own sync verifies its own certificate on loopback: it reaches "connected".
  let syncState: string | undefined;
  for (let i = 0; i < 100 && syncState !== 'connected'; i++) {
    syncState = ((await hub.get('/status')).json() as { sync: { state: string } | null }).sync?.state;
    if (syncState !== 'connected') await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(syncState, 'connected', 'the hub\'s sync over loopback TLS, checking hub.local');
  assert.equal((await hub.stop()).code, 0);
});

void test('gdo broker tls: a broker certificate from the data directory\'s CA; an older directory gets its CA by --make-ca', { timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir('broker-tls');
  t.after(cleanup);
  const data = join(dir, 'space');
  const pass = join(dir, 'pass');
  writeFileSync(pass, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
  assert.equal(gdoCli(['init', '--name', 'Our Space', '--data', data, '--passphrase-file', pass]).code, 0);
  const r = gdoCli(['broker', 'tls', '--name', 'broker.local,broker,10.0.0.2', '--out', join(dir, 'tls'), '--data', data]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /for broker\.local, broker, 10\.0\.0\.2/);
  assert.equal(mode(join(dir, 'tls/broker.key')), 0o600);
  const cert = new X509Certificate(readFileSync(join(dir, 'tls/broker.crt')));
  assert.equal(cert.subjectAltName, 'DNS:broker.local, DNS:broker, IP Address:10.0.0.2');
  assert.ok(cert.checkIssued(new X509Certificate(readFileSync(join(data, 'ca.crt')))));
  const bad = gdoCli(['broker', 'tls', '--name', 'hub_1', '--out', join(dir, 'tls2'), '--data', data]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"hub_1" is not a DNS name/);

  // A data directory from before gdo init made a CA: a clear refusal, then --make-ca.
  unlinkSync(join(data, 'ca.crt'));
  unlinkSync(join(data, 'ca.key'));
  const none = gdoCli(['broker', 'tls', '--name', 'hub.local', '--out', join(dir, 'tls3'), '--data', data]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /has no site CA \(ca\.crt, ca\.key; gdo init makes one\): pass --make-ca to make it now/);
  const made = gdoCli(['broker', 'tls', '--make-ca', '--name', 'hub.local', '--out', join(dir, 'tls3'), '--data', data]);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stderr, /made the site CA/);
  assert.equal(mode(join(data, 'ca.key')), 0o600);
  assert.match(new X509Certificate(readFileSync(join(data, 'ca.crt'))).subject, /O=Our Space/);
});
