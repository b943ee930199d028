// The bootstrap's `tls` field (docs/sync-protocol.md 6.6): the site CA certificate every node verifies its
// broker against, and for a hub running the embedded broker its server certificate and key, issued by that CA
// for the hub's names. Checked here, before first boot writes ca.crt, broker.crt and broker.key: the CA is a
// CA, the certificate chains to it, and the key is the certificate's. Errors never show the key.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { EnrolError } from './errors.ts';
import type { FieldReader } from './fields.ts';

export interface BootstrapTls { ca: string; cert?: string; key?: string }

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/;
const MAX_PEM = 16 * 1024;

export function validateBootstrapTls(value: unknown, f: FieldReader, where: string, brokerUrl: string | undefined): BootstrapTls {
  const bad = (msg: string): never => { throw new EnrolError('ENROL_BAD_BOOTSTRAP', `${where}: ${msg}`); };
  const t = f.object(value, 'tls');
  f.only(t, 'tls', ['ca', 'cert', 'key']);
  const ca = f.str(t.ca, 'tls.ca', MAX_PEM, PEM_CERT, 'the site CA certificate in PEM (ca.crt of the admin\'s data directory)');
  let caCert: X509Certificate;
  try { caCert = new X509Certificate(ca); } catch (err) { return bad(`tls.ca does not parse as a certificate (${(err as Error).message})`); }
  if (!caCert.ca) bad('tls.ca is not a CA certificate (basicConstraints cA)');
  const out: BootstrapTls = { ca };
  if (t.cert === undefined && t.key === undefined) return out;
  if (brokerUrl !== 'embedded') bad(`tls.cert and tls.key are for a hub running the embedded broker (broker.url embedded), not for a node of broker ${brokerUrl ?? '(none)'}`);
  const cert = f.str(t.cert, 'tls.cert', MAX_PEM, PEM_CERT, 'the broker certificate in PEM');
  if (typeof t.key !== 'string' || !t.key.startsWith('-----BEGIN PRIVATE KEY-----') || t.key.length > MAX_PEM) bad('tls.key must be the broker certificate\'s private key in PKCS#8 PEM');
  let leaf: X509Certificate;
  let key: KeyObject;
  try { leaf = new X509Certificate(cert); } catch (err) { return bad(`tls.cert does not parse as a certificate (${(err as Error).message})`); }
  try { key = createPrivateKey(t.key as string); } catch { return bad('tls.key does not parse as a private key'); }
  if (!leaf.verify(caCert.publicKey)) bad('tls.cert is not issued by tls.ca');
  if (!leaf.checkPrivateKey(key)) bad('tls.key is not the key of tls.cert');
  return { ca, cert, key: t.key as string };
}
