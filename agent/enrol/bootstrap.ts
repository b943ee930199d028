// A node's bootstrap: everything one device needs to join the organisation, written by `gdo provision`
// onto the boot partition (gdo/bootstrap.json) or a running Pi's /boot/firmware, and moved under the node's
// state directory with mode 0600 by first boot (docs/design-notes.md: per-device secrets go on bootfs at flash time).
// It never holds a private key: the node makes its own keys on the device.
//
// {v: 1, org, genesis, node: {name, roles, hostname}, token, provisionedAt,
//  site?: {...}, config?: {...}, broker?: {url, username?, password?, secret?}, tls?: {ca, cert?, key?},
//  wifi?: {ssid, psk, country?}}
// org       hex genesis id; genesis the raw genesis event (hex), the trust anchor the node's ledger starts from
// token     one-time enrolment token (hex, 32 bytes); the admin keeps only its SHA-256 (provisioned.ts)
// site      the site configuration (/etc/gdo/site.json on the node)
// config    the installer's sections of /etc/gdo/agent.json (readers, doors, machines, pins ...; node-config.ts
//           says which), checked here with the agent's schema so first boot never writes a config the agent refuses
// broker    the agent's sync.broker (a URL, or 'embedded' on a hub), its user name and password (derived from
//           the broker secret, docs/sync-protocol.md 6.1); a hub running the embedded broker gets the broker
//           secret itself (hex) instead, and derives every password from it
// tls       the site CA certificate (PEM) the node verifies its broker with; a hub running the embedded broker
//           also gets its broker certificate and key, issued by that CA for its names (bootstrap-tls.ts)
import { decodeEvent, hex } from '../ledger/event.ts';
import { validateBootstrapTls, type BootstrapTls } from './bootstrap-tls.ts';
import { EnrolError } from './errors.ts';
import { FieldReader, type NodeRole } from './fields.ts';
import { checkNodeConfig } from './node-config.ts';

export const BOOTSTRAP_VERSION = 1;
/** The genesis is at most one event (64 KiB) and the rest is small. */
export const MAX_BOOTSTRAP_BYTES = 160 * 1024;

export interface Bootstrap {
  v: 1;
  org: string;
  genesis: string;
  node: { name: string; roles: NodeRole[]; hostname: string };
  token: string;
  provisionedAt: string;
  site?: Record<string, unknown>;
  config?: Record<string, unknown>;
  broker?: { url: string; username?: string; password?: string; secret?: string };
  tls?: BootstrapTls;
  wifi?: { ssid: string; psk: string; country?: string };
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A broker URL, or 'embedded' for a hub that runs the broker itself (the agent's sync.broker). */
const BROKER_URL = /^((mqtts?|wss?):\/\/[^\s/]+(:\d+)?(\/\S*)?|embedded)$/;
/** The broker secret (agent/sync/broker-auth.ts MIN_SECRET_BYTES and up), hex. */
const BROKER_SECRET = /^([0-9a-f]{2}){16,512}$/;

export function validateBootstrap(value: unknown, where: string): Bootstrap {
  const f: FieldReader = new FieldReader('ENROL_BAD_BOOTSTRAP', where);
  const o = f.object(value, 'the bootstrap');
  f.only(o, '', ['v', 'org', 'genesis', 'node', 'token', 'provisionedAt', 'site', 'config', 'broker', 'tls', 'wifi']);
  if (o.v !== BOOTSTRAP_VERSION) f.fail('v', `${BOOTSTRAP_VERSION}`, o.v);
  const org = f.hex(o.org, 'org', 32);
  if (typeof o.genesis !== 'string' || !/^([0-9a-f]{2})+$/.test(o.genesis)) f.fail('genesis', 'the raw genesis event in lowercase hex', o.genesis);
  let genesisId: string;
  try {
    const ev = decodeEvent(Buffer.from(o.genesis, 'hex'));
    if (ev.dapp !== 'org' || ev.type !== 'genesis') f.fail('genesis', 'an org/genesis event', `${ev.dapp}/${ev.type}`);
    genesisId = hex(ev.id);
  } catch (err) {
    if (err instanceof EnrolError) throw err;
    throw new EnrolError('ENROL_BAD_BOOTSTRAP', `${where}: genesis does not decode as a ledger event: ${(err as Error).message}`);
  }
  if (genesisId !== org) throw new EnrolError('ENROL_WRONG_ORG', `${where}: the genesis event is ${genesisId.slice(0, 12)}, not the org ${org.slice(0, 12)} the bootstrap names`);
  const n = f.object(o.node, 'node');
  f.only(n, 'node', ['name', 'roles', 'hostname']);
  const node = {
    name: f.name(n.name, 'node.name'),
    roles: f.roles(n.roles, 'node.roles'),
    hostname: f.str(n.hostname, 'node.hostname', 63, HOSTNAME, 'a hostname (a-z, 0-9, - inside; at most 63 characters)'),
  };
  const out: Bootstrap = {
    v: BOOTSTRAP_VERSION, org, genesis: o.genesis, node, token: f.hex(o.token, 'token', 32), provisionedAt: f.time(o.provisionedAt, 'provisionedAt'),
  };
  if (o.site !== undefined) out.site = f.object(o.site, 'site');
  if (o.broker !== undefined) {
    const b = f.object(o.broker, 'broker');
    f.only(b, 'broker', ['url', 'username', 'password', 'secret']);
    out.broker = { url: f.str(b.url, 'broker.url', 255, BROKER_URL, 'an mqtt://, mqtts://, ws:// or wss:// URL such as mqtts://hub.local:8883, or embedded (a hub running the broker)') };
    const username = f.optStr(b.username, 'broker.username', 128);
    const password = f.optStr(b.password, 'broker.password', 1024);
    if (username !== undefined) out.broker.username = username;
    if (password !== undefined) out.broker.password = password;
    if (b.secret !== undefined) {
      // Checked without echoing it: the error message must not carry the secret.
      if (typeof b.secret !== 'string' || !BROKER_SECRET.test(b.secret)) {
        throw new EnrolError('ENROL_BAD_BOOTSTRAP', `${where}: broker.secret must be the broker secret in lowercase hex (16 to 512 bytes, as gdo broker secret writes it)`);
      }
      // The node beside the site's own Mosquitto (config sync.mosquitto_dir) writes its password file from it.
      if (out.broker.url !== 'embedded' && !keepsMosquittoFiles(o.config)) {
        throw new EnrolError('ENROL_BAD_BOOTSTRAP', `${where}: broker.secret is for a hub running the embedded broker (broker.url embedded) or the node beside the site's Mosquitto (config.sync.mosquitto_dir), not for a node of broker ${out.broker.url}`);
      }
      out.broker.secret = b.secret;
    }
  }
  if (o.tls !== undefined) out.tls = validateBootstrapTls(o.tls, f, where, out.broker?.url);
  if (o.config !== undefined) {
    out.config = checkNodeConfig(o.config, { where, prefix: 'config.', roles: node.roles, broker: out.broker?.url, code: 'ENROL_BAD_BOOTSTRAP' });
  }
  if (o.wifi !== undefined) {
    const w = f.object(o.wifi, 'wifi');
    f.only(w, 'wifi', ['ssid', 'psk', 'country']);
    const ssid = f.str(w.ssid, 'wifi.ssid', 32, /^[^\n\r]+$/, 'a network name of 1 to 32 characters on one line');
    if (Buffer.byteLength(ssid) > 32) f.fail('wifi.ssid', 'at most 32 bytes', ssid);
    // WPA2-PSK: a passphrase of 8-63 printable ASCII characters, or the 64-hex-digit key itself.
    const psk = f.str(w.psk, 'wifi.psk', 64, /^([\x20-\x7e]{8,63}|[0-9a-fA-F]{64})$/, 'a WPA passphrase of 8 to 63 printable ASCII characters (or 64 hex digits)');
    out.wifi = { ssid, psk };
    const country = f.optStr(w.country, 'wifi.country', 2, /^[A-Z]{2}$/, 'a two-letter country code such as GB or DE');
    if (country !== undefined) out.wifi.country = country;
  }
  return out;
}

/** The installer's config makes this node keep the site's Mosquitto files (agent/daemon/parts/mosquitto-files.ts). */
export function keepsMosquittoFiles(config: unknown): boolean {
  const sync = typeof config === 'object' && config !== null ? (config as { sync?: unknown }).sync : undefined;
  const dir = typeof sync === 'object' && sync !== null ? (sync as { mosquitto_dir?: unknown }).mosquitto_dir : undefined;
  return typeof dir === 'string' && dir !== '';
}

export function parseBootstrap(bytes: Buffer, where: string): Bootstrap {
  if (bytes.length > MAX_BOOTSTRAP_BYTES) throw new EnrolError('ENROL_BAD_BOOTSTRAP', `${where}: ${bytes.length} bytes, more than a bootstrap may have (${MAX_BOOTSTRAP_BYTES})`);
  let value: unknown;
  try { value = JSON.parse(bytes.toString('utf8')); } catch (err) {
    throw new EnrolError('ENROL_BAD_BOOTSTRAP', `${where}: not JSON (${(err as Error).message})`);
  }
  return validateBootstrap(value, where);
}

export function encodeBootstrap(b: Bootstrap): Buffer {
  return Buffer.from(`${JSON.stringify(b, null, 2)}\n`, 'utf8');
}
