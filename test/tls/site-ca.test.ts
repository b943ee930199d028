// The site CA against node's own X.509 parser, the real openssl, and a real TLS handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync, readFileSync, chmodSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, connect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createSiteCa, issueServerCert, readSiteCa } from '../../agent/enrol/site-ca.ts';
import { expectError, tempDir } from '../enrol/helpers.ts';

function openssl(args: string[]): { code: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

test('createSiteCa writes ca.crt 0644 and ca.key 0600, a CA certificate by node and openssl, and refuses to overwrite', (t) => {
  const { dir, cleanup } = tempDir('ca');
  t.after(cleanup);
  assert.equal(readSiteCa(dir), null);
  const { certFile, keyFile } = createSiteCa(dir, 'Our Space');
  assert.equal(statSync(certFile).mode & 0o777, 0o644);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.match(readFileSync(keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
  const ca = readSiteCa(dir);
  assert.ok(ca);
  const cert = new X509Certificate(ca.certPem);
  assert.equal(cert.ca, true);
  assert.ok(cert.verify(cert.publicKey), 'self-signed');
  assert.match(cert.subject, /O=Our Space/);
  const text = openssl(['x509', '-in', certFile, '-noout', '-text']);
  assert.equal(text.code, 0, text.out);
  assert.match(text.out, /Version: 3/);
  assert.match(text.out, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(text.out, /NIST CURVE: P-256/);
  assert.match(text.out, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(text.out, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(text.out, /Subject Key Identifier/);
  const selfCheck = openssl(['verify', '-x509_strict', '-CAfile', certFile, certFile]);
  assert.equal(selfCheck.code, 0, selfCheck.out);
  expectError('ENROL_SITE_CA', /already exists/, () => createSiteCa(dir, 'Other'));
  assert.equal(readFileSync(certFile, 'utf8'), ca.certPem, 'the old CA is untouched');
});

test('readSiteCa refuses a readable key, a missing key, and a key of another certificate', (t) => {
  const { dir, cleanup } = tempDir('ca-bad');
  t.after(cleanup);
  const { keyFile, certFile } = createSiteCa(dir, 'Our Space');
  chmodSync(keyFile, 0o644);
  expectError('ENROL_SITE_CA', /readable by others.*chmod 600/, () => readSiteCa(dir));
  chmodSync(keyFile, 0o600);
  const other = tempDir('ca-other');
  t.after(other.cleanup);
  createSiteCa(other.dir, 'Elsewhere');
  writeFileSync(keyFile, readFileSync(join(other.dir, 'ca.key')), { mode: 0o600 });
  expectError('ENROL_SITE_CA', /does not belong/, () => readSiteCa(dir));
  unlinkSync(keyFile);
  expectError('ENROL_SITE_CA', /ca\.key does not; restore ca\.key/, () => readSiteCa(dir));
  unlinkSync(certFile);
  assert.equal(readSiteCa(dir), null);
});

test('issueServerCert: a leaf for the names, verified by node and by openssl verify, serverAuth, random serials', (t) => {
  const { dir, cleanup } = tempDir('leaf');
  t.after(cleanup);
  createSiteCa(dir, 'Our Space');
  const ca = readSiteCa(dir)!;
  const caCert = new X509Certificate(ca.certPem);
  const leaf = issueServerCert(ca, { commonName: 'hub', dnsNames: ['hub.local', 'hub'], ipAddresses: ['10.0.0.2', 'fd00::2'] });
  const cert = new X509Certificate(leaf.certPem);
  assert.equal(cert.ca, false);
  assert.ok(cert.verify(caCert.publicKey));
  assert.ok(cert.checkIssued(caCert));
  assert.equal(cert.checkHost('hub.local'), 'hub.local');
  assert.equal(cert.checkHost('hub'), 'hub');
  assert.equal(cert.checkHost('door.local'), undefined);
  assert.equal(cert.checkIP('10.0.0.2'), '10.0.0.2');
  assert.equal(cert.checkIP('10.0.0.3'), undefined);
  assert.equal(cert.checkIP('fd00:0:0:0:0:0:0:2'), 'fd00:0:0:0:0:0:0:2');
  assert.notEqual(cert.serialNumber, new X509Certificate(issueServerCert(ca, { commonName: 'hub', dnsNames: ['hub'] }).certPem).serialNumber);
  assert.ok(new Date(cert.validTo).getTime() <= new Date(caCert.validTo).getTime());
  const leafFile = join(dir, 'broker.crt');
  writeFileSync(leafFile, leaf.certPem);
  const v = openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.crt'), leafFile]);
  assert.equal(v.code, 0, v.out);
  const named = openssl(['verify', '-CAfile', join(dir, 'ca.crt'), '-verify_hostname', 'hub.local', leafFile]);
  assert.equal(named.code, 0, named.out);
  const wrong = openssl(['verify', '-CAfile', join(dir, 'ca.crt'), '-verify_hostname', 'evil.local', leafFile]);
  assert.notEqual(wrong.code, 0, 'openssl refuses a name not in the certificate');
  const text = openssl(['x509', '-in', leafFile, '-noout', '-text']);
  assert.match(text.out, /Extended Key Usage:\s+TLS Web Server Authentication/);
  assert.match(text.out, /DNS:hub\.local, DNS:hub, IP Address:10\.0\.0\.2, IP Address:FD00:0:0:0:0:0:0:2/);
  assert.match(text.out, /Key Usage: critical\s+Digital Signature/);
  assert.match(text.out, /Authority Key Identifier/);
  // Another CA's verify refuses it.
  const other = tempDir('leaf-other');
  t.after(other.cleanup);
  createSiteCa(other.dir, 'Elsewhere');
  const foreign = openssl(['verify', '-CAfile', join(other.dir, 'ca.crt'), leafFile]);
  assert.notEqual(foreign.code, 0);
});

test('issueServerCert refuses bad names and addresses, naming them', (t) => {
  const { dir, cleanup } = tempDir('leaf-bad');
  t.after(cleanup);
  createSiteCa(dir, 'Our Space');
  const ca = readSiteCa(dir)!;
  expectError('ENROL_SITE_CA', /"hub_1" is not a DNS name/, () => issueServerCert(ca, { commonName: 'hub', dnsNames: ['hub_1'] }));
  expectError('ENROL_SITE_CA', /"10\.0\.0\.300" is not an IPv4 or IPv6 address/, () => issueServerCert(ca, { commonName: 'hub', dnsNames: [], ipAddresses: ['10.0.0.300'] }));
  expectError('ENROL_SITE_CA', /at least one name/, () => issueServerCert(ca, { commonName: 'hub', dnsNames: [] }));
  expectError('ENROL_SITE_CA', /not a CA/, () => issueServerCert(issueServerCert(ca, { commonName: 'x', dnsNames: ['x'] }), { commonName: 'hub', dnsNames: ['hub'] }));
});

async function handshake(ca: string, leaf: { certPem: string; keyPem: string }, servername: string): Promise<{ ok: boolean; error?: string }> {
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.2' }, (s) => { s.end('hello'); });
  server.on('tlsClientError', () => { /* the refused client's side is what is asserted */ });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      const sock: TLSSocket = connect({ host: '127.0.0.1', port, servername, ca });
      sock.once('secureConnect', () => { sock.end(); resolve({ ok: true }); });
      sock.once('error', (err) => resolve({ ok: false, error: err.message }));
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
}

test('a real TLS handshake verifies the hub against the site CA and refuses a wrong name or another CA', async (t) => {
  const { dir, cleanup } = tempDir('tls');
  t.after(cleanup);
  createSiteCa(dir, 'Our Space');
  const ca = readSiteCa(dir)!;
  const leaf = issueServerCert(ca, { commonName: 'hub', dnsNames: ['hub.local'] });
  assert.deepEqual(await handshake(ca.certPem, leaf, 'hub.local'), { ok: true });
  const wrongName = await handshake(ca.certPem, leaf, 'door.local');
  assert.equal(wrongName.ok, false);
  assert.match(wrongName.error ?? '', /Hostname\/IP does not match/);
  const other = tempDir('tls-other');
  t.after(other.cleanup);
  createSiteCa(other.dir, 'Elsewhere');
  const wrongCa = await handshake(readSiteCa(other.dir)!.certPem, leaf, 'hub.local');
  assert.equal(wrongCa.ok, false);
  assert.match(wrongCa.error ?? '', /self.signed|unable to verify|local issuer/i);
});
