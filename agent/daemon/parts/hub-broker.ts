// The hub's embedded broker with its accounts (docs/sync-protocol.md 6): built from the ledger's node list
// and the broker secret (sync.broker_secret_file), and rebuilt whenever an org event is appended, so a node
// an admin approves gets in and a revoked one is cut off while the hub keeps running. There is no open
// mode: without a readable secret the broker does not start. Loaded on use by parts/sync.ts, since it pulls
// in aedes.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { AppendedEvent } from '../../ledger/event.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { accessFromLedger, derivePassword, hashPassword, parseBrokerSecret, rulesFor, type BrokerAccess } from '../../sync/broker-auth.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../sync/embedded-broker.ts';
import { errText, type Logger } from '../log.ts';

export const SECRET_KEY = 'sync.broker_secret_file';
export const CERT_KEY = 'sync.tls_cert_file';
export const KEY_KEY = 'sync.tls_key_file';

export interface HubBrokerOptions {
  host: string;
  port: number;
  ledger: Ledger;
  /** sync.broker_secret_file, resolved against state_dir. */
  secretFile: string;
  /** This hub's node name: its own local clients (sync, enrolment) log in under it. */
  nodeName: string;
  /** sync.broker_operators. */
  operators: readonly string[];
  /** sync.tls_cert_file and sync.tls_key_file, resolved; undefined for plain TCP. */
  tls?: { certFile: string; keyFile: string };
  log: Logger;
}

export interface HubBroker {
  broker: EmbeddedBroker;
  /** What this hub's own sync and enrolment use to log in. Secret: never log the password. */
  credentials: { username: string; password: string };
  /** With TLS: the name in the broker's certificate that this hub's own clients check on loopback. */
  servername?: string;
  stop(): Promise<void>;
}

/** Reads a PEM file a config key names; errors name the key and the file, never the content. */
function readPem(key: string, file: string, secret: boolean): string {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error(`${key}: ${file} is not a regular file`);
    if (secret && (st.mode & 0o077) !== 0) {
      throw new Error(`${key}: ${file} is readable by others (mode 0${(st.mode & 0o777).toString(8)}); run chmod 600 ${file}`);
    }
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new Error(`${key}: cannot read ${file} (${code}); the embedded broker listens with TLS: issue its certificate with 'gdo broker tls --name NAME.local,NAME --out DIR' at the admin's desk and copy broker.crt and broker.key here, or provision the hub again; sync.allow_plain with sync.tls_cert_file "" runs it without TLS`);
  }
}

/** The broker's certificate and key, checked to belong together, and the name its local clients verify. */
export function readBrokerTls(certFile: string, keyFile: string): { cert: string; key: string; servername: string } {
  const cert = readPem(CERT_KEY, certFile, false);
  const key = readPem(KEY_KEY, keyFile, true);
  let x509: X509Certificate;
  try { x509 = new X509Certificate(cert); } catch (err) { throw new Error(`${CERT_KEY}: ${certFile} is not a PEM certificate (${errText(err)})`); }
  let pk;
  try { pk = createPrivateKey(key); } catch { throw new Error(`${KEY_KEY}: ${keyFile} is not a PEM private key`); }
  if (!x509.checkPrivateKey(pk)) throw new Error(`${KEY_KEY}: ${keyFile} is not the key of ${certFile}`);
  if (new Date(x509.validTo).getTime() < Date.now()) throw new Error(`${CERT_KEY}: ${certFile} expired on ${x509.validTo}; issue a new one with 'gdo broker tls'`);
  const dns = (x509.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
  if (dns.length === 0) throw new Error(`${CERT_KEY}: ${certFile} names no DNS name (subjectAltName), which nodes and this hub verify`);
  return { cert, key, servername: dns[0]! };
}

/** The broker secret, or an error of one line that names the config key and the file, never the content. */
export function readBrokerSecret(file: string, needs = 'the embedded broker does not run without one'): Buffer {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'not a regular file' });
    if ((st.mode & 0o077) !== 0) {
      throw new Error(`${SECRET_KEY}: ${file} is readable by others (mode 0${(st.mode & 0o777).toString(8)}); run chmod 600 ${file}`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new Error(`${SECRET_KEY}: no broker secret at ${file} (${code}); ${needs}: make it with 'gdo broker secret --out ${file}' (mode 0600) or provision the node with --broker-secret-file`);
  }
  try {
    return parseBrokerSecret(text);
  } catch (err) {
    throw new Error(`${SECRET_KEY}: ${file}: ${errText(err)}`);
  }
}

/**
 * The accounts: every enrolled, unrevoked node (its password derived from the secret), the operators,
 * any other provisioned name as enrolling (its enrolment topic only), and this hub itself, enrolled or not:
 * it is the broker, and its own sync must be able to receive the approval that enrols it.
 */
export function hubAccess(ledger: Ledger, secret: Buffer, nodeName: string, operators: readonly string[]): BrokerAccess {
  if (operators.includes(nodeName)) throw new Error(`sync.broker_operators: '${nodeName}' is this hub's own name`);
  const a = accessFromLedger(ledger, { secret, operators, anyEnrolling: true });
  const salt = randomBytes(12);
  const self = { name: nodeName, kind: 'node' as const, passwordHash: hashPassword(derivePassword(secret, a.org, nodeName), salt), rules: rulesFor(a.org, nodeName, 'node', ['hub']) };
  return { ...a, users: [...a.users.filter((u) => u.name !== nodeName), self] };
}

function touchesOrg(events: AppendedEvent[]): boolean {
  return events.some((e) => e.dapp === 'org');
}

export async function startHubBroker(o: HubBrokerOptions): Promise<HubBroker> {
  const secret = readBrokerSecret(o.secretFile);
  const ledger = o.ledger;
  if (!ledger.orgId) throw new Error('the ledger has no genesis yet: no organisation to make broker accounts for (first boot has not run)');
  const org = ledger.orgId.toString('hex');
  const build = (): BrokerAccess => hubAccess(ledger, secret, o.nodeName, o.operators);
  const summary = (a: BrokerAccess): Record<string, number> => ({
    nodes: a.users.filter((u) => u.kind === 'node').length, operators: a.users.filter((u) => u.kind === 'operator').length,
  });
  const first = build();
  const tls = o.tls ? readBrokerTls(o.tls.certFile, o.tls.keyFile) : undefined;
  const broker = await startEmbeddedBroker({ host: o.host, port: o.port, authenticate: first, ...(tls && { tls: { cert: tls.cert, key: tls.key } }) });
  o.log.info({ accounts: summary(first) }, 'embedded broker: accounts from the ledger, passwords derived from the broker secret');

  // Rebuilt after the commit that changed the org (node.add, key.revoke), outside the ledger's call.
  let stopped = false;
  let queued = false;
  const refresh = (): void => {
    queued = false;
    if (stopped) return;
    try {
      const a = build();
      broker.setAccess(a);
      o.log.info({ accounts: summary(a) }, 'embedded broker: accounts updated from the ledger');
    } catch (err) {
      // The previous accounts stay in force: never an open broker.
      o.log.error({ err }, `embedded broker: accounts not updated: ${errText(err)}`);
    }
  };
  const prev = ledger.onAppend;
  const hook = (events: AppendedEvent[]): void => {
    if (stopped || queued || !touchesOrg(events)) return;
    queued = true;
    setImmediate(refresh);
  };
  // Composed with a handler already there; sync, started after the broker, composes with ours.
  const installed = prev ? (evs: AppendedEvent[]): void => { prev(evs); hook(evs); } : hook;
  ledger.onAppend = installed;

  let stopping: Promise<void> | undefined;
  return {
    broker,
    credentials: { username: o.nodeName, password: derivePassword(secret, org, o.nodeName) },
    ...(tls && { servername: tls.servername }),
    stop() {
      stopping ??= (async () => {
        stopped = true;
        // Unhooked unless someone wrapped ours since: then ours stays, inert.
        if (ledger.onAppend === installed) ledger.onAppend = prev;
        await broker.stop();
      })();
      return stopping;
    },
  };
}
