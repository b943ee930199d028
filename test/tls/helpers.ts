// TLS fixtures: a site CA and a broker certificate in a hub's state directory, as first boot leaves them
// (ca.crt 0644, broker.crt 0644, broker.key 0600), and the client options that verify it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createSiteCa, issueServerCert, readSiteCa, type SiteCa } from '../../agent/enrol/site-ca.ts';

export const HUB_NAME = 'hub.local';

/** A new site CA in a temporary directory of its own (the admin's desk). */
export function newCa(org = 'Test Space'): SiteCa {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-ca-'));
  try {
    createSiteCa(dir, org);
    return readSiteCa(dir)!;
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** Writes ca.crt, broker.crt and broker.key for `names` (DNS names and IP addresses) into `stateDir`; returns the CA. */
export function writeBrokerTls(stateDir: string, names: string[] = [HUB_NAME, 'hub'], ca: SiteCa = newCa()): SiteCa {
  const leaf = issueServerCert(ca, { commonName: names[0]!, dnsNames: names.filter((n) => isIP(n) === 0), ipAddresses: names.filter((n) => isIP(n) !== 0) });
  writeFileSync(join(stateDir, 'ca.crt'), ca.certPem, { mode: 0o644 });
  writeFileSync(join(stateDir, 'broker.crt'), leaf.certPem, { mode: 0o644 });
  writeFileSync(join(stateDir, 'broker.key'), leaf.keyPem, { mode: 0o600 });
  return ca;
}

/** mqtt.js / tls options that verify the broker as `servername` against the CA; for an IP address the URL's
 *  host is what is checked (SNI carries no addresses, RFC 6066 3). */
export function verifyAs(ca: SiteCa | string, servername = HUB_NAME): { ca: string; servername?: string; rejectUnauthorized: true } {
  return { ca: typeof ca === 'string' ? ca : ca.certPem, ...(isIP(servername) === 0 && { servername }), rejectUnauthorized: true };
}
