// First boot of a node (gdo-firstboot.service, docs/design-notes.md "Rootless injection", last point): take the bootstrap
// the installer left on the boot partition, keep it under the state directory with mode 0600, delete the copy
// on FAT, make the node's own keys, seed the ledger with the organisation's genesis, write the agent's config
// and a signed enrolment request. The node is then inert until an admin approves the request: its key is in
// no org/node.add, so the agent keeps outputs safe and decide() answers "node not enrolled" (issue 7).
//
// Every step is idempotent and the order makes a crash at any instant safe to re-run:
//   1. firstboot.pending marker (the unit runs while it or the FAT bootstrap exists)
//   2. bootstrap copied to <state>/bootstrap.json (temp + fsync + rename + fsync dir)
//   3. only then the FAT copy zeroed and unlinked (a crash before leaves both; the copies are compared)
//   4. keys kept if present, made if not; 5. genesis ingested unless present (duplicates are no-ops)
//   6. site config, broker password (or a hub's broker secret), site CA (and a hub's broker certificate), hostname, Wi-Fi, agent config rewritten from the bootstrap
//      (its identity, broker and the installer's sections: readers, doors, machines, pins ...)
//   7. the request kept if it still matches keys and bootstrap, else made anew; 8. marker removed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, chmodSync, statSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { allDapps } from '../dapps.ts';
import { decodeEvent } from '../ledger/event.ts';
import { Ledger } from '../ledger/ledger.ts';
import { Signer } from '../ledger/crypto.ts';
import { parseBootstrap, type Bootstrap } from './bootstrap.ts';
import { removeStaleTemps, shredAndUnlink, unlinkDurable, writeFileDurable } from './durable.ts';
import { EnrolError, isEnrolError } from './errors.ts';
import { ensureNodeKeys, NODE_KEY_FILE, NODE_KX_FILE, type NodeKeys } from './node-keys.ts';
import { encodeEnrolmentRequest, makeEnrolmentRequest, parseEnrolmentRequest, type EnrolmentRequest } from './request.ts';
import { hostsWithName, nmConnection, cmdlineWithRegdom } from './system-files.ts';

export const STATE_FILES = {
  pending: 'firstboot.pending',
  bootstrap: 'bootstrap.json',
  request: 'enrol-request.json',
  brokerPassword: 'broker.pass',
  /** A hub's: the broker secret its embedded broker derives every account's password from (sync.broker_secret_file). */
  brokerSecret: 'broker.secret',
  /** The site CA certificate the node verifies its broker with (sync.ca_file). */
  caCert: 'ca.crt',
  /** A hub's: its embedded broker's TLS certificate and key (sync.tls_cert_file, sync.tls_key_file). */
  brokerCert: 'broker.crt',
  brokerKey: 'broker.key',
  ledger: 'ledger.db',
} as const;
/** Next to the FAT bootstrap: a copy of the request an installer can carry to the admin on a USB stick. */
export const REQUEST_ON_BOOTFS = 'enrol-request.json';
export const WIFI_CONNECTION = 'etc/NetworkManager/system-connections/gdo-wifi.nmconnection';

export interface FirstbootOptions {
  bootstrap: string; // the installer's copy, /boot/firmware/gdo/bootstrap.json
  stateDir: string; // /var/lib/gdo
  config: string; // /etc/gdo/agent.json
  siteFile?: string; // default: site.json next to `config`
  root?: string; // the system whose /etc gets hostname and Wi-Fi; default '/'
  now?: () => number;
  log?: (message: string) => void;
  /** Called after each step; tests throw from it to simulate a power cut there. */
  onStep?: (step: FirstbootStep) => void;
}

export const FIRSTBOOT_STEPS = ['pending', 'bootstrap', 'keys', 'ledger', 'system', 'config', 'request', 'done'] as const;
export type FirstbootStep = (typeof FIRSTBOOT_STEPS)[number];

export interface FirstbootResult {
  name: string;
  roles: string[];
  org: string;
  key: string;
  kx: string;
  requestFile: string;
  request: EnrolmentRequest;
  /** What this run changed; empty when everything was already done. */
  did: string[];
}

function readIfExists(path: string): Buffer | undefined {
  try { return readFileSync(path); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

type Note = (what: string) => void;

/** Writes `content` only when the file differs: re-runs change nothing and leave mtimes alone. */
function writeIfChanged(path: string, content: string | Buffer, mode: number, note: Note, what: string, onFat = false): boolean {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const old = readIfExists(path);
  // FAT has no modes (the mount's fmask decides), so only the bytes count there.
  if (old?.equals(buf) && (onFat || (statSync(path).mode & 0o777) === mode)) return false;
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileDurable(path, buf, mode);
  note(what);
  return true;
}

/** Steps 2-3: the bootstrap, moved from FAT into the state directory. */
function takeBootstrap(opts: FirstbootOptions, note: Note): Bootstrap {
  const kept = join(opts.stateDir, STATE_FILES.bootstrap);
  const keptBytes = readIfExists(kept);
  const fatBytes = readIfExists(opts.bootstrap);
  // All zeros: a power cut hit between shredding the FAT copy and unlinking it.
  const shredded = fatBytes !== undefined && fatBytes.length > 0 && fatBytes.every((b) => b === 0);
  if (!keptBytes && (!fatBytes || shredded)) {
    throw new EnrolError('ENROL_NO_BOOTSTRAP', `no bootstrap at ${opts.bootstrap} nor ${kept}: provision this node (gdo provision --image or --target)`);
  }
  if (keptBytes && fatBytes && !shredded && !keptBytes.equals(fatBytes)) {
    throw new EnrolError('ENROL_STATE', `${opts.bootstrap} differs from the bootstrap this node already took (${kept}); to provision the node anew, remove ${opts.stateDir} first`);
  }
  // Parse before moving: a broken bootstrap stays where the installer can see and replace it.
  const boot = parseBootstrap(keptBytes ?? fatBytes!, keptBytes ? kept : opts.bootstrap);
  if (!keptBytes) {
    writeFileDurable(kept, fatBytes!, 0o600);
    note(`kept the bootstrap in ${kept} (0600)`);
  }
  if (fatBytes) {
    if (shredded) unlinkDurable(opts.bootstrap);
    else shredAndUnlink(opts.bootstrap, fatBytes.length);
    note(`deleted ${opts.bootstrap}`);
  }
  return boot;
}

/** Step 5: the node's replica starts from the genesis the admin put in the bootstrap. */
function seedLedger(boot: Bootstrap, stateDir: string, note: Note): void {
  const genesis = Buffer.from(boot.genesis, 'hex');
  const genesisMs = decodeEvent(genesis).hlc.ms;
  let ledger: Ledger;
  try {
    // A Pi has no RTC: before NTP its clock can be far behind the genesis, which the ingest pipeline would
    // park as FROM_FUTURE (docs/design-notes.md lesson 5). The bootstrap is this node's trust anchor (it names the org
    // and came from the installer), so its genesis is accepted against a clock no earlier than itself.
    ledger = Ledger.open({ path: join(stateDir, STATE_FILES.ledger), dapps: allDapps, orgId: Buffer.from(boot.org, 'hex'), now: () => Math.max(Date.now(), genesisMs) });
  } catch (err) {
    throw new EnrolError('ENROL_STATE', `${join(stateDir, STATE_FILES.ledger)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (ledger.hasEvent(Buffer.from(boot.org, 'hex'))) return;
    const [r] = ledger.ingest([genesis]);
    if (r?.status !== 'accepted') throw new EnrolError('ENROL_BAD_BOOTSTRAP', `the bootstrap's genesis was refused by the ledger: ${r?.code ?? r?.status} ${r?.message ?? ''}`.trim());
    note('seeded the ledger with the genesis');
  } finally { ledger.close(); }
}

/** The agent's config as the image (or an admin) left it; {} when missing or damaged. */
export function readAgentConfig(file: string): Record<string, unknown> {
  const old = readIfExists(file);
  if (old) {
    try {
      const v = JSON.parse(old.toString('utf8')) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* the image's defaults were damaged: the keys agentConfigFor adds are what this node needs */ }
  }
  return {};
}

function agentConfig(opts: FirstbootOptions, boot: Bootstrap, siteFile: string): string {
  return `${JSON.stringify(agentConfigFor(readAgentConfig(opts.config), boot, { stateDir: opts.stateDir, siteFile }), null, 2)}\n`;
}

/** The agent's config (agent/daemon/config: snake_case keys) with this node's identity from the bootstrap.
 *  The installer's sections (bootstrap `config`, node-config.ts) replace those of `base` whole, the keys of
 *  its `sync` one by one; every other key the image or an admin set stays as it was. `gdo provision` checks
 *  the result with the agent's schema before it writes the bootstrap. */
export function agentConfigFor(base: Record<string, unknown>, boot: Bootstrap, opts: { stateDir: string; siteFile: string }): Record<string, unknown> {
  const { siteFile } = opts;
  const { sync: configSync, ...sections } = boot.config ?? {};
  const cfg: Record<string, unknown> = {
    ...base,
    ...sections,
    state_dir: opts.stateDir,
    ...(boot.site ? { site_file: siteFile } : {}),
    bootstrap_file: join(opts.stateDir, STATE_FILES.bootstrap),
    org: boot.org,
    node: { name: boot.node.name, roles: boot.node.roles },
    enrolment: { request_file: join(opts.stateDir, STATE_FILES.request) },
  };
  const sync = typeof base.sync === 'object' && base.sync !== null && !Array.isArray(base.sync) ? base.sync as Record<string, unknown> : {};
  if (configSync !== undefined) cfg.sync = { ...sync, ...(configSync as Record<string, unknown>) };
  if (boot.broker) {
    cfg.sync = {
      ...sync,
      ...(configSync as Record<string, unknown> | undefined),
      broker: boot.broker.url,
      username: boot.broker.username ?? '',
      password_file: boot.broker.password === undefined ? '' : join(opts.stateDir, STATE_FILES.brokerPassword),
      ...(boot.broker.secret !== undefined && { broker_secret_file: join(opts.stateDir, STATE_FILES.brokerSecret) }),
    };
  }
  if (boot.tls) {
    cfg.sync = {
      ...(cfg.sync as Record<string, unknown> | undefined ?? sync),
      ca_file: join(opts.stateDir, STATE_FILES.caCert),
      ...(boot.tls.cert !== undefined && {
        tls_cert_file: join(opts.stateDir, STATE_FILES.brokerCert), tls_key_file: join(opts.stateDir, STATE_FILES.brokerKey),
      }),
    };
  }
  return cfg;
}

/** Step 7: a request stays the same across re-runs unless the keys or the bootstrap changed. */
function ensureRequest(boot: Bootstrap, keys: NodeKeys, stateDir: string, now: () => number, note: Note): EnrolmentRequest {
  const path = join(stateDir, STATE_FILES.request);
  const old = readIfExists(path);
  if (old) {
    try {
      const r = parseEnrolmentRequest(old, path);
      const same = r.org === boot.org && r.name === boot.node.name && r.token === boot.token && r.roles.join(',') === boot.node.roles.join(',')
        && r.key === keys.sign.publicKey.toString('hex') && r.kx === keys.kx.publicKey.toString('hex');
      if (same) return r;
    } catch (err) {
      if (!isEnrolError(err)) throw err; // a damaged request is simply made again
    }
  }
  const req = makeEnrolmentRequest({
    org: boot.org, name: boot.node.name, roles: boot.node.roles, signer: new Signer(keys.sign), kx: keys.kx.publicKey, token: boot.token, at: new Date(now()),
  });
  writeFileDurable(path, encodeEnrolmentRequest(req), 0o600);
  note(`wrote the enrolment request ${path}`);
  return req;
}

export function runFirstboot(opts: FirstbootOptions): FirstbootResult {
  const log = opts.log ?? ((): void => {});
  const now = opts.now ?? Date.now;
  const root = opts.root ?? '/';
  const siteFile = opts.siteFile ?? join(dirname(opts.config), 'site.json');
  const did: string[] = [];
  // Logged as it happens: after a power cut the journal shows how far the last run got.
  const note: Note = (m) => { did.push(m); log(m); };
  const step = opts.onStep ?? ((): void => {});
  const pending = join(opts.stateDir, STATE_FILES.pending);

  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  chmodSync(opts.stateDir, 0o700);
  removeStaleTemps([STATE_FILES.bootstrap, STATE_FILES.request, STATE_FILES.brokerPassword, STATE_FILES.brokerSecret, STATE_FILES.caCert,
    STATE_FILES.brokerCert, STATE_FILES.brokerKey, NODE_KEY_FILE, NODE_KX_FILE, STATE_FILES.pending]
    .map((f) => join(opts.stateDir, f)));
  if (!existsSync(pending)) {
    if (!existsSync(opts.bootstrap) && !existsSync(join(opts.stateDir, STATE_FILES.bootstrap))) {
      throw new EnrolError('ENROL_NO_BOOTSTRAP', `no bootstrap at ${opts.bootstrap} nor ${join(opts.stateDir, STATE_FILES.bootstrap)}: provision this node (gdo provision --image or --target)`);
    }
    writeFileDurable(pending, 'gdo first boot has not finished; gdo-firstboot.service runs again while this file exists\n', 0o600);
  }
  step('pending');
  const boot = takeBootstrap(opts, note);
  step('bootstrap');
  const keys = ensureNodeKeys(opts.stateDir);
  for (const f of keys.created) note(`made ${f} (0600)`);
  step('keys');
  seedLedger(boot, opts.stateDir, note);
  step('ledger');

  if (boot.site) writeIfChanged(siteFile, `${JSON.stringify(boot.site, null, 2)}\n`, 0o644, note, `wrote ${siteFile}`);
  if (boot.broker?.password !== undefined) {
    writeIfChanged(join(opts.stateDir, STATE_FILES.brokerPassword), boot.broker.password, 0o600, note, 'kept the broker password (0600)');
  }
  if (boot.broker?.secret !== undefined) {
    // What `gdo broker secret` writes: the hub's embedded broker reads it (agent/daemon/parts/hub-broker.ts).
    writeIfChanged(join(opts.stateDir, STATE_FILES.brokerSecret), `${boot.broker.secret}\n`, 0o600, note, 'kept the broker secret (0600)');
  }
  if (boot.tls) {
    // The CA is public (0644); a hub's broker certificate and key are for its agent alone (0600).
    writeIfChanged(join(opts.stateDir, STATE_FILES.caCert), boot.tls.ca, 0o644, note, `wrote the site CA ${STATE_FILES.caCert} (0644)`);
    if (boot.tls.cert !== undefined && boot.tls.key !== undefined) {
      writeIfChanged(join(opts.stateDir, STATE_FILES.brokerCert), boot.tls.cert, 0o600, note, `wrote the broker certificate ${STATE_FILES.brokerCert} (0600)`);
      writeIfChanged(join(opts.stateDir, STATE_FILES.brokerKey), boot.tls.key, 0o600, note, `kept the broker key ${STATE_FILES.brokerKey} (0600)`);
    }
  }
  // On the live system the name applies now too, so the node shows up under it on this very boot
  // (sethostname through hostname(1); where that is missing, the name applies from the next boot).
  if (writeIfChanged(join(root, 'etc/hostname'), `${boot.node.hostname}\n`, 0o644, note, `set the hostname to ${boot.node.hostname}`) && root === '/') {
    spawnSync('hostname', [boot.node.hostname], { stdio: 'ignore' });
  }
  const hosts = join(root, 'etc/hosts');
  writeIfChanged(hosts, hostsWithName(readIfExists(hosts)?.toString('utf8'), boot.node.hostname), 0o644, note, `named ${boot.node.hostname} in /etc/hosts`);
  if (boot.wifi) {
    writeIfChanged(join(root, WIFI_CONNECTION), nmConnection(boot.wifi), 0o600, note, `added Wi-Fi network '${boot.wifi.ssid}'`);
    const cmdline = join(dirname(dirname(opts.bootstrap)), 'cmdline.txt');
    const text = boot.wifi.country ? readIfExists(cmdline)?.toString('utf8') : undefined;
    if (text !== undefined && boot.wifi.country) {
      writeIfChanged(cmdline, cmdlineWithRegdom(text, boot.wifi.country), 0o644, note, `set the Wi-Fi country to ${boot.wifi.country} (next boot)`, true);
    }
  }
  step('system');
  writeIfChanged(opts.config, agentConfig(opts, boot, siteFile), 0o644, note, `wrote ${opts.config}`);
  step('config');
  const request = ensureRequest(boot, keys, opts.stateDir, now, note);
  // For installers without a network: the public request next to where the bootstrap was (best effort:
  // the node works the same without it, and the agent publishes the request over MQTT).
  const fatDir = dirname(opts.bootstrap);
  if (existsSync(fatDir)) {
    try {
      writeIfChanged(join(fatDir, REQUEST_ON_BOOTFS), encodeEnrolmentRequest(request), 0o644, note, `copied the request to ${join(fatDir, REQUEST_ON_BOOTFS)}`, true);
    } catch (err) {
      log(`could not copy the enrolment request to ${fatDir}: ${(err as Error).message}`);
    }
  }
  step('request');
  unlinkDurable(pending);
  step('done');
  return {
    name: boot.node.name, roles: boot.node.roles, org: boot.org, key: request.key, kx: request.kx,
    requestFile: join(opts.stateDir, STATE_FILES.request), request, did,
  };
}
