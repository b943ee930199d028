// `gdo provision`: one device's bootstrap (agent/enrol/bootstrap.ts) written onto a built image's boot
// partition (--image) or into the root of a Pi that already runs Raspberry Pi OS (--target), and the
// admin's record of its enrolment token (agent/enrol/provisioned.ts) so `gdo node approve` can check it.
// The node's wiring (--config) is checked with the agent's schema, merged as first boot will merge it,
// before either is written.
// The record is written first and put back as it was if the bootstrap cannot be written: a device never
// holds a token its admin cannot check.
// TLS (docs/sync-protocol.md, "TLS"): every node gets the site CA certificate from the admin's data
// directory (DATA/ca.crt); a hub running the embedded broker also gets a broker certificate and key the CA
// issues for its names (HOSTNAME.local and HOSTNAME, plus --broker-name).
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { hex } from '../agent/ledger/event.ts';
import type { Ledger } from '../agent/ledger/ledger.ts';
import { encodeBootstrap, keepsMosquittoFiles, validateBootstrap, type Bootstrap } from '../agent/enrol/bootstrap.ts';
import { writeFileDurable } from '../agent/enrol/durable.ts';
import { agentConfigFor, readAgentConfig } from '../agent/enrol/firstboot.ts';
import { checkAgentConfig, checkNodeConfig, idleRoles } from '../agent/enrol/node-config.ts';
import { EnrolError } from '../agent/enrol/errors.ts';
import { issueServerCert, readSiteCa } from '../agent/enrol/site-ca.ts';
import type { NodeRole } from '../agent/enrol/fields.ts';
import { readProvisioned, removeProvisioned, writeProvisioned, type ProvisionedRecord } from '../agent/enrol/provisioned.ts';
import { newToken, tokenHash } from '../agent/enrol/token.ts';
import { derivePassword } from '../agent/sync/broker-auth.ts';
import { BOOTSTRAP_ON_BOOTFS, DEFAULT_AGENT_CONFIG, SITE_FILE } from '../image-build/payload.ts';
import { openGdoImage, readImageBootstrap, writeImageBootstrap } from './image-bootstrap.ts';

/** Where the boot partition is mounted on Raspberry Pi OS Bookworm and later (docs/design-notes.md). */
export const TARGET_BOOT = 'boot/firmware';

export interface ProvisionInput {
  ledger: Ledger; // the admin's ledger: the org and its genesis
  dataDir: string; // where the provisioning record goes
  name: string;
  roles: NodeRole[];
  hostname?: string; // default: the node name
  broker?: { url: string; username?: string; password?: string };
  /**
   * The broker secret (`gdo broker secret`, docs/sync-protocol.md 6.1): a node's broker password is derived
   * from it for its user name; a hub running the embedded broker (broker url 'embedded') gets the secret.
   */
  brokerSecret?: Buffer;
  wifi?: { ssid: string; psk: string; country?: string };
  /** A hub's extra broker names and IP addresses (--broker-name), besides HOSTNAME.local and HOSTNAME. */
  brokerNames?: string[];
  site?: Record<string, unknown>;
  /** The installer's sections of agent.json (`--config node.json`, agent/enrol/node-config.ts). */
  config?: Record<string, unknown>;
  /** Names `config` in errors: the file it came from. */
  configFile?: string;
  image?: string;
  target?: string;
  /** Replace a bootstrap already on the image or target. */
  force?: boolean;
  now?: () => number;
}

export interface ProvisionResult {
  name: string;
  roles: NodeRole[];
  hostname: string;
  org: string;
  via: 'image' | 'target';
  where: string;
  /** The bootstrap's path on the device. */
  bootstrap: string;
  tokenSha256: string;
  notes: string[];
}

function describeExisting(bytes: Buffer): string {
  try {
    const name = (JSON.parse(bytes.toString('utf8')) as { node?: { name?: unknown } }).node?.name;
    return typeof name === 'string' ? `node '${name}'` : 'an unreadable bootstrap';
  } catch { return 'an unreadable bootstrap'; }
}

export function makeBootstrap(input: ProvisionInput, token: string, at: string): Bootstrap {
  const org = input.ledger.orgId;
  if (!org) throw new EnrolError('ENROL_PROVISION', 'the ledger has no genesis yet: run gdo init first');
  const genesis = input.ledger.getEvent(org);
  if (!genesis) throw new EnrolError('ENROL_PROVISION', `the ledger lacks its own genesis event ${hex(org).slice(0, 12)}`);
  const value: Record<string, unknown> = {
    v: 1, org: hex(org), genesis: genesis.raw.toString('hex'),
    node: { name: input.name, roles: input.roles, hostname: input.hostname ?? input.name },
    token, provisionedAt: at,
  };
  if (input.site) value.site = input.site;
  if (input.config !== undefined) value.config = input.config;
  if (input.broker) value.broker = brokerFields(input, hex(org));
  else if (input.brokerSecret) throw new EnrolError('ENROL_PROVISION', 'a broker secret without a broker: give the broker too (--broker URL, or embedded for a hub)');
  if (input.wifi) value.wifi = input.wifi;
  const tls = tlsFields(input);
  if (tls) value.tls = tls;
  // The same validation first boot applies: a bootstrap the node would refuse is never written.
  return validateBootstrap(value, 'the bootstrap for this node');
}

/** The names a hub's broker certificate carries: HOSTNAME.local (mDNS, as provisioning/README.md's
 *  mqtts://hub.local:8883), HOSTNAME, the node name if it differs, and --broker-name's names and addresses. */
export function brokerCertNames(input: Pick<ProvisionInput, 'name' | 'hostname' | 'brokerNames'>): { dnsNames: string[]; ipAddresses: string[] } {
  const host = input.hostname ?? input.name;
  const all = [`${host}.local`, host, input.name, ...(input.brokerNames ?? [])].map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  const uniq = [...new Set(all)];
  return { dnsNames: uniq.filter((n) => isIP(n) === 0), ipAddresses: uniq.filter((n) => isIP(n) !== 0) };
}

/** The site CA for every node; for a hub running the embedded broker, its certificate and key as well. */
function tlsFields(input: ProvisionInput): Bootstrap['tls'] {
  const ca = readSiteCa(input.dataDir);
  const hub = input.broker?.url === 'embedded';
  if (!ca) {
    if (hub) {
      throw new EnrolError('ENROL_PROVISION', `${input.dataDir} has no site CA (ca.crt, ca.key), which issues the hub's broker certificate: make it with gdo broker tls --make-ca --data ${input.dataDir}`);
    }
    if (input.brokerNames !== undefined) throw new EnrolError('ENROL_PROVISION', '--broker-name is for a hub running the embedded broker (--broker embedded)');
    // A node of a site whose broker has a publicly trusted certificate verifies it with the system's CAs.
    return undefined;
  }
  if (!hub) {
    if (input.brokerNames !== undefined) throw new EnrolError('ENROL_PROVISION', '--broker-name is for a hub running the embedded broker (--broker embedded)');
    return { ca: ca.certPem };
  }
  const names = brokerCertNames(input);
  const leaf = issueServerCert(ca, { commonName: names.dnsNames[0] ?? input.name, ...names });
  return { ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem };
}

/** The bootstrap's broker: a password derived from the broker secret, or for a hub the secret itself. */
function brokerFields(input: ProvisionInput, org: string): Bootstrap['broker'] {
  const b: NonNullable<Bootstrap['broker']> = { ...input.broker! };
  const secret = input.brokerSecret;
  if (!secret) {
    if (b.url === 'embedded') {
      throw new EnrolError('ENROL_PROVISION', 'a hub running the embedded broker needs the broker secret (--broker-secret-file FILE; make one with gdo broker secret --out FILE): its broker has no open mode');
    }
    return b;
  }
  if (b.password !== undefined) throw new EnrolError('ENROL_PROVISION', 'give the broker password or the broker secret, not both (the password is derived from the secret)');
  if (b.url === 'embedded') return { ...b, secret: secret.toString('hex') };
  b.username ??= input.name;
  try {
    b.password = derivePassword(secret, org, b.username);
  } catch (err) {
    throw new EnrolError('ENROL_PROVISION', `no broker password for user '${b.username}': ${(err as Error).message}`);
  }
  // Beside the site's Mosquitto (--config with sync.mosquitto_dir) the node writes every account's password
  // hash from the secret (docs/sync-protocol.md 6.4), and logs in with its own derived password.
  if (keepsMosquittoFiles(input.config)) b.secret = secret.toString('hex');
  return b;
}

function checkTarget(target: string): string {
  const st = statSync(target, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new EnrolError('ENROL_PROVISION', `--target ${target} is not a directory (the mounted root of a Raspberry Pi OS system)`);
  const boot = join(target, TARGET_BOOT);
  if (!statSync(boot, { throwIfNoEntry: false })?.isDirectory()) {
    throw new EnrolError('ENROL_PROVISION', `--target ${target} has no ${TARGET_BOOT}: it is not the root of Raspberry Pi OS Bookworm or later (mount the boot partition there too)`);
  }
  return boot;
}

/** Where first boot runs on the node (provisioning/units/gdo-firstboot.service: gdo firstboot's defaults). */
const NODE_STATE_DIR = '/var/lib/gdo';
const NODE_AGENT_CONFIG = 'etc/gdo/agent.json';

/**
 * The agent.json first boot will write, checked with the agent's schema before anything is written: the
 * image's defaults (or, with --target, the agent.json already there) merged with the bootstrap.
 */
function checkFirstbootConfig(input: ProvisionInput, boot: Bootstrap): string[] {
  const existing = input.target === undefined ? undefined : join(resolve(input.target), NODE_AGENT_CONFIG);
  const base = existing !== undefined && existsSync(existing) ? readAgentConfig(existing) : { ...DEFAULT_AGENT_CONFIG };
  const cfg = agentConfigFor(base, boot, { stateDir: NODE_STATE_DIR, siteFile: SITE_FILE });
  const from = existing !== undefined && existsSync(existing) ? existing : 'the image\'s defaults';
  const parsed = checkAgentConfig(cfg, `${input.configFile ?? 'the bootstrap'} merged with ${from} (what first boot writes to /${NODE_AGENT_CONFIG})`);
  return idleRoles(parsed, boot.node.roles).map((n) => `'${input.name}' ${n}`);
}

export async function provisionNode(input: ProvisionInput): Promise<ProvisionResult> {
  if ((input.image === undefined) === (input.target === undefined)) throw new EnrolError('ENROL_PROVISION', 'give exactly one of --image FILE or --target DIR');
  const at = new Date((input.now ?? Date.now)()).toISOString();
  const token = newToken();
  // Checked as the node's own file first, so an error names the key path in it, not in the bootstrap.
  if (input.config !== undefined) checkNodeConfig(input.config, { where: input.configFile ?? 'the node config', prefix: '', roles: input.roles, broker: input.broker?.url });
  const boot = makeBootstrap(input, token, at);
  const bytes = encodeBootstrap(boot);
  const notes: string[] = [];

  // Check the destination before recording anything.
  const img = input.image === undefined ? undefined : await openGdoImage(input.image);
  let targetFile: string | undefined;
  if (img) {
    const old = await readImageBootstrap(img);
    if (old && !input.force) throw new EnrolError('ENROL_PROVISION', `${input.image} already holds the bootstrap of ${describeExisting(old)}; pass --force to replace it, or start from a fresh copy of the built image`);
  } else {
    const target = resolve(input.target!);
    targetFile = join(checkTarget(target), BOOTSTRAP_ON_BOOTFS);
    if (existsSync(targetFile) && !input.force) {
      throw new EnrolError('ENROL_PROVISION', `${targetFile} already holds the bootstrap of ${describeExisting(readFileSync(targetFile))}; pass --force to replace it`);
    }
    if (!existsSync(join(target, 'opt/gdo/bin/gdo'))) notes.push(`gdo is not installed under ${target} yet: run provisioning/install.sh on the Pi (see provisioning/README.md)`);
  }

  notes.push(...checkFirstbootConfig(input, boot));

  const previous = readProvisioned(input.dataDir, input.name);
  if (previous?.approved) notes.push(`'${input.name}' was enrolled with key ${previous.approved.key.slice(0, 12)}; revoke that key (gdo node revoke ${input.name}) before approving the new device`);
  const record: ProvisionedRecord = {
    v: 1, name: input.name, roles: boot.node.roles, hostname: boot.node.hostname, tokenSha256: tokenHash(token), provisionedAt: at,
    via: img ? 'image' : 'target', where: resolve(input.image ?? input.target!),
  };
  writeProvisioned(input.dataDir, record);
  try {
    if (img) {
      await writeImageBootstrap(img, bytes);
    } else {
      mkdirSync(join(targetFile!, '..'), { recursive: true, mode: 0o700 });
      writeFileDurable(targetFile!, bytes, 0o600);
    }
  } catch (err) {
    if (previous) writeProvisioned(input.dataDir, previous);
    else removeProvisioned(input.dataDir, input.name);
    throw err;
  }
  return {
    name: input.name, roles: boot.node.roles, hostname: boot.node.hostname, org: boot.org, via: record.via, where: record.where,
    bootstrap: img ? `/boot/firmware${BOOTSTRAP_ON_BOOTFS}` : targetFile!, tokenSha256: record.tokenSha256, notes,
  };
}
