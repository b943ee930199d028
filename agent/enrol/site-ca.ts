// The site CA: an ECDSA P-256 key and a self-signed X.509 v3 CA certificate in the admin's data directory
// (DIR/ca.crt 0644, DIR/ca.key 0600 PKCS#8 PEM), made by `gdo init` (or `gdo broker tls --make-ca` for an older
// directory). It issues the brokers' TLS server certificates; nodes get ca.crt through provisioning and verify
// the hub's name against it (docs/sync-protocol.md 6.6). node:crypto only; the certificates are encoded
// by x509.ts.
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync, fchmodSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { fsyncDir } from './durable.ts';
import { EnrolError } from './errors.ts';
import { buildCertificate, keyIdentifier, name, subjectOf, toPem } from './x509.ts';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';

const DAY_MS = 86_400_000;
const CA_DAYS = 20 * 365;
export const SERVER_CERT_DAYS = 5 * 365;
/** Every certificate's validity starts here, not at its issue time. A Pi has no real-time clock: a node that
 *  boots without a network starts at its image's or systemd's build date (docs/design-notes.md lesson 5), and a broker
 *  certificate "not yet valid" would keep it off the site until NTP answers, which an offline space may never
 *  have. The start of validity protects nothing here (the CA key is ours); the end still bounds a leaked key. */
export const VALID_FROM = new Date('2000-01-01T00:00:00Z');

export interface SiteCa { certPem: string; keyPem: string }

export interface ServerCertOptions { commonName: string; dnsNames: string[]; ipAddresses?: string[]; days?: number }

/** A DNS name as RFC 1123 2.1 allows it in a dNSName (RFC 5280 4.2.1.6): labels of letters, digits and inner
 *  hyphens; no wildcards (a broker has its own names). */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Writes a new file whole under a temp name and links it into place: fails if it exists, never half-written. */
function createExclusive(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed it; ca.crt is meant to be world-readable
    const buf = Buffer.from(data, 'utf8');
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally { closeSync(fd); }
  try { linkSync(tmp, path); } finally { unlinkSync(tmp); }
}

function exists(path: string): boolean {
  try { statSync(path); return true; } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Makes DIR/ca.crt and DIR/ca.key; refuses when either exists (a new CA would orphan every certificate the
 *  old one issued, and every node trusts only the old one). */
export function createSiteCa(dir: string, orgName: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, CA_CERT_FILE);
  const keyFile = join(dir, CA_KEY_FILE);
  for (const f of [certFile, keyFile]) {
    if (exists(f)) throw new EnrolError('ENROL_SITE_CA', `${f} already exists; the site has a CA (nodes trust it), it is not replaced`);
  }
  if (orgName.trim() === '') throw new EnrolError('ENROL_SITE_CA', 'the organisation name for the site CA is empty');
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subject = name({ organizationName: orgName, commonName: `${orgName} site CA` });
  const der = buildCertificate({
    subject, issuer: subject, publicKey, ca: true, authorityKeyId: keyIdentifier(publicKey),
    notBefore: VALID_FROM, notAfter: new Date(Date.now() + CA_DAYS * DAY_MS),
  }, privateKey);
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // The key first: a crash between the two leaves a key without a certificate, which readSiteCa reports,
  // rather than a certificate nodes might be given whose key is gone.
  createExclusive(keyFile, keyPem, 0o600);
  createExclusive(certFile, toPem('CERTIFICATE', der), 0o644);
  fsyncDir(dir);
  return { certFile, keyFile };
}

/** The site CA of a data directory, or null when it has none (ca.crt absent). */
export function readSiteCa(dir: string): SiteCa | null {
  const certFile = join(dir, CA_CERT_FILE);
  const keyFile = join(dir, CA_KEY_FILE);
  if (!exists(certFile)) {
    if (exists(keyFile)) throw new EnrolError('ENROL_SITE_CA', `${keyFile} exists without ${certFile}; restore ca.crt from the backup`);
    return null;
  }
  let st;
  try { st = statSync(keyFile); } catch {
    throw new EnrolError('ENROL_SITE_CA', `${certFile} exists but ${keyFile} does not; restore ca.key from the backup`);
  }
  if (!st.isFile()) throw new EnrolError('ENROL_SITE_CA', `${keyFile} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new EnrolError('ENROL_SITE_CA', `${keyFile} is readable by others (mode 0${(st.mode & 0o777).toString(8)}); run chmod 600 ${keyFile}`);
  }
  const ca = { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  parseCa(ca, `${certFile} and ${keyFile}`);
  return ca;
}

function parseCa(ca: SiteCa, what: string): { cert: X509Certificate; der: Buffer; key: KeyObject } {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(ca.certPem);
    key = createPrivateKey(ca.keyPem);
  } catch (err) {
    throw new EnrolError('ENROL_SITE_CA', `${what}: not a PEM certificate and private key (${(err as Error).message})`);
  }
  if (!cert.ca) throw new EnrolError('ENROL_SITE_CA', `${what}: the certificate is not a CA (basicConstraints cA)`);
  if (!cert.checkPrivateKey(key)) throw new EnrolError('ENROL_SITE_CA', `${what}: the key does not belong to the certificate`);
  return { cert, der: cert.raw, key };
}

/** A TLS server certificate and its new P-256 key, issued by the site CA for a broker's names. */
export function issueServerCert(ca: SiteCa, o: ServerCertOptions): SiteCa {
  const { cert, der, key } = parseCa(ca, 'site CA');
  const ips = o.ipAddresses ?? [];
  if (o.dnsNames.length + ips.length === 0) throw new EnrolError('ENROL_SITE_CA', 'a server certificate needs at least one name or IP address');
  for (const d of o.dnsNames) {
    if (!DNS_NAME.test(d)) throw new EnrolError('ENROL_SITE_CA', `${JSON.stringify(d)} is not a DNS name (letters, digits, hyphens, dots)`);
  }
  for (const ip of ips) {
    if (isIP(ip) === 0) throw new EnrolError('ENROL_SITE_CA', `${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
  }
  if (o.commonName.trim() === '') throw new EnrolError('ENROL_SITE_CA', 'the common name of a server certificate is empty');
  const days = o.days ?? SERVER_CERT_DAYS;
  if (!Number.isInteger(days) || days < 1) throw new EnrolError('ENROL_SITE_CA', `days must be a whole number of days >= 1, got ${days}`);
  // Not past the CA's own end: a chain is only as valid as its shortest link (RFC 5280 6.1.3 (a)(2)).
  const caEnd = new Date(cert.validTo).getTime();
  const notAfter = new Date(Math.min(Date.now() + days * DAY_MS, caEnd));
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = buildCertificate({
    subject: name({ commonName: o.commonName }), issuer: subjectOf(der), publicKey, ca: false,
    authorityKeyId: keyIdentifier(createPublicKey(key)), notBefore: VALID_FROM, notAfter,
    dnsNames: o.dnsNames, ipAddresses: ips,
  }, key);
  return { certPem: toPem('CERTIFICATE', leaf), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
