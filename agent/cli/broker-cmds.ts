// `gdo broker secret | passwd | acl | password | tls | mosquitto-config`: Mosquitto's password and ACL files
// made from the ledger's node list (docs/sync-protocol.md 6), the per-node MQTT password that provisioning
// writes into a device's bootstrap, broker certificates from the site CA, and a complete Mosquitto
// configuration with a TLS listener (docs/sync-protocol.md 6.6).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { createSiteCa, issueServerCert, readSiteCa, type SiteCa } from '../enrol/site-ca.ts';
import { isEnrolError } from '../enrol/errors.ts';
import { listProvisioned } from '../enrol/provisioned.ts';
import {
  accessFromLedger, derivePassword, formatAclFile, formatPasswordFile, newBrokerSecretText, parseBrokerSecret, type BrokerAccess,
} from '../sync/broker-auth.ts';
import { DEFAULT_PID_FILE, MOSQUITTO_FILES, formatMosquittoConf, writeAtomicFile, writeMosquittoAccess } from '../sync/mosquitto-files.ts';
import { int, onlyFlags, str, UsageError, type Args } from './args.ts';
import { dataDir, openLedger } from './ledger-cmds.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';

/** The broker secret file holds hex digits (what `gdo broker secret` writes). */
export function readSecret(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new UsageError(`cannot read the broker secret ${path}: ${(e as Error).message}`);
  }
  try {
    return parseBrokerSecret(text);
  } catch (e) {
    throw new UsageError(`${path}: ${(e as Error).message}`);
  }
}

function names(a: Args, flag: string): string[] {
  const v = a.flags.get(flag);
  if (v === undefined) return [];
  if (v === true) throw new UsageError(`--${flag} needs a comma-separated list of names`);
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Writes next to the target and renames, so the broker never reads a half-written file. */
function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

function model(a: Args, withSecret: boolean): BrokerAccess {
  const l = openLedger(a);
  try {
    const opts = { operators: names(a, 'operators'), enrolling: names(a, 'enrolling') };
    try {
      return accessFromLedger(l, withSecret ? { ...opts, secret: readSecret(str(a, 'secret-file')) } : opts);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message);
    }
  } finally { l.close(); }
}

function emit(a: Args, out: Output, what: string, text: string, mode: number, access: BrokerAccess): number {
  const file = a.flags.get('out');
  if (file === true) throw new UsageError('--out needs a file name');
  const users = access.users.map((u) => ({ name: u.name, kind: u.kind }));
  if (file === undefined) {
    process.stdout.write(text);
    return 0;
  }
  writeAtomic(file, text, mode);
  out.result({ file, org: access.org, users }, () => `wrote the Mosquitto ${what} for ${users.length} user(s) of org ${access.org.slice(0, 12)} to ${file}: ${users.map((u) => u.name).join(', ') || '(none)'}`);
  return 0;
}

async function cmdBroker(sub: string | undefined, a: Args, out: Output): Promise<number> {
  switch (sub) {
    case 'secret': {
      onlyFlags(a, ['out', 'json', 'force']);
      const file = str(a, 'out');
      if (existsSync(file) && a.flags.get('force') !== true) throw new UsageError(`${file} exists: a new secret changes every node's password (use --force to replace it)`);
      writeAtomic(file, newBrokerSecretText(), 0o600);
      out.result({ file }, () => `wrote a new broker secret to ${file} (mode 0600); keep it on the hub and with the provisioning tools only`);
      return 0;
    }
    case 'passwd': {
      onlyFlags(a, ['data', 'json', 'out', 'secret-file', 'operators', 'enrolling']);
      const access = model(a, true);
      return emit(a, out, 'password file', formatPasswordFile(access), 0o600, access);
    }
    case 'acl': {
      onlyFlags(a, ['data', 'json', 'out', 'operators', 'enrolling']);
      const access = model(a, false);
      return emit(a, out, 'ACL file', formatAclFile(access), 0o644, access);
    }
    case 'password': {
      onlyFlags(a, ['data', 'json', 'secret-file', 'name', 'org']);
      const secret = readSecret(str(a, 'secret-file'));
      let org = a.flags.get('org');
      if (org === undefined) {
        const l = openLedger(a);
        try { org = l.orgId?.toString('hex'); } finally { l.close(); }
        if (!org) throw new UsageError('the ledger has no genesis yet; pass --org HEX');
      }
      if (org === true) throw new UsageError('--org needs the org id in hex');
      const name = str(a, 'name');
      let password: string;
      try { password = derivePassword(secret, org, name); } catch (e) { throw new UsageError((e as Error).message); }
      out.result({ name, org, password }, () => password);
      return 0;
    }
    case 'tls': return cmdTls(a, out);
    case 'mosquitto-config': return cmdMosquittoConfig(a, out);
    default:
      throw new UsageError(`unknown command 'gdo broker ${sub ?? ''}' (secret, passwd, acl, password, tls, mosquitto-config)`);
  }
}

/** The data directory's site CA; with --make-ca one is made for an older directory that has none. */
function siteCa(a: Args): SiteCa {
  const dir = dataDir(a);
  const ca = typedCa(() => readSiteCa(dir));
  if (ca) {
    if (a.flags.get('make-ca') === true) process.stderr.write(`gdo: note: ${dir} already has a site CA; --make-ca keeps it\n`);
    return ca;
  }
  if (a.flags.get('make-ca') !== true) throw new UsageError(`${dir} has no site CA (ca.crt, ca.key; gdo init makes one): pass --make-ca to make it now`);
  const l = openLedger(a);
  let org: string;
  try { org = l.get<{ name: string }>('org/meta')?.name ?? 'gdo site'; } finally { l.close(); }
  typedCa(() => createSiteCa(dir, org));
  process.stderr.write(`gdo: made the site CA ${join(dir, 'ca.crt')} and ${join(dir, 'ca.key')} (back up ca.key; give ca.crt to every node)\n`);
  return typedCa(() => readSiteCa(dir))!;
}

function typedCa<T>(fn: () => T): T {
  try { return fn(); } catch (e) {
    if (isEnrolError(e)) throw new UsageError(e.message);
    throw e;
  }
}

/** --name hub.local,hub,10.0.0.2: DNS names and IP addresses for a broker certificate. */
function certNames(a: Args): { dnsNames: string[]; ipAddresses: string[] } {
  const list = names(a, 'name').map((n) => n.toLowerCase());
  if (list.length === 0) throw new UsageError('--name needs the broker\'s names, e.g. --name hub.local,hub,10.0.0.2 (what the nodes put in their --broker URL)');
  return { dnsNames: list.filter((n) => isIP(n) === 0), ipAddresses: list.filter((n) => isIP(n) !== 0) };
}

/** Issues DIR/broker.crt (0644) and DIR/broker.key (0600) and copies the CA to DIR/ca.crt. */
function issueInto(a: Args, ca: SiteCa, out: string): { cert: string; key: string; ca: string; names: string[] } {
  const n = certNames(a);
  const days = a.flags.has('days') ? int(a, 'days', 0) : undefined;
  const leaf = typedCa(() => issueServerCert(ca, { commonName: n.dnsNames[0] ?? n.ipAddresses[0]!, ...n, ...(days !== undefined && { days }) }));
  mkdirSync(out, { recursive: true, mode: 0o755 });
  const files = { cert: join(out, MOSQUITTO_FILES.cert), key: join(out, MOSQUITTO_FILES.key), ca: join(out, MOSQUITTO_FILES.ca) };
  writeAtomicFile(files.key, leaf.keyPem, 0o600);
  writeAtomicFile(files.cert, leaf.certPem, 0o644);
  writeAtomicFile(files.ca, ca.certPem, 0o644);
  return { ...files, names: [...n.dnsNames, ...n.ipAddresses] };
}

function cmdTls(a: Args, out: Output): number {
  onlyFlags(a, ['data', 'json', 'name', 'out', 'days', 'make-ca']);
  const ca = siteCa(a);
  if (!a.flags.has('name') && !a.flags.has('out') && a.flags.get('make-ca') === true) {
    out.result({ ca: join(dataDir(a), 'ca.crt') }, () => `site CA: ${join(dataDir(a), 'ca.crt')}`);
    return 0;
  }
  const r = issueInto(a, ca, resolve(str(a, 'out')));
  out.result(r, () => `wrote a broker certificate for ${r.names.join(', ')} to ${r.cert}, its key to ${r.key} (0600) and the site CA to ${r.ca}`);
  return 0;
}

function cmdMosquittoConfig(a: Args, out: Output): number {
  onlyFlags(a, ['data', 'json', 'name', 'out', 'days', 'make-ca', 'port', 'bind', 'secret-file', 'operators', 'enrolling', 'pid-file', 'persistence', 'user']);
  const dir = resolve(str(a, 'out'));
  const data = dataDir(a);
  const secret = readSecret(str(a, 'secret-file', join(data, 'broker.secret')));
  const port = int(a, 'port', 8883);
  if (port < 1 || port > 65535) throw new UsageError(`--port must be 1..65535, got ${port}`);
  const ca = siteCa(a);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  let tls: { names: string[] } | undefined;
  if (a.flags.has('name')) tls = issueInto(a, ca, dir);
  else if (!existsSync(join(dir, MOSQUITTO_FILES.cert))) throw new UsageError(`--name is needed: ${join(dir, MOSQUITTO_FILES.cert)} does not exist yet (the names nodes reach this broker by, e.g. --name broker.local,10.0.0.3)`);
  else writeAtomicFile(join(dir, MOSQUITTO_FILES.ca), ca.certPem, 0o644);
  // Names provisioned at this desk and not approved yet may publish their enrolment request.
  const enrolling = a.flags.has('enrolling') ? names(a, 'enrolling') : listProvisioned(data).filter((r) => !r.approved).map((r) => r.name);
  const l = openLedger(a);
  let access: BrokerAccess;
  try {
    access = accessFromLedger(l, { secret, operators: names(a, 'operators'), enrolling });
  } catch (e) { throw new UsageError((e as Error).message); } finally { l.close(); }
  writeMosquittoAccess(dir, access);
  const pidFile = str(a, 'pid-file', DEFAULT_PID_FILE);
  const persistence = a.flags.has('persistence') ? resolve(str(a, 'persistence')) : undefined;
  const bind = a.flags.has('bind') ? str(a, 'bind') : undefined;
  const user = a.flags.has('user') ? str(a, 'user') : undefined;
  writeAtomicFile(join(dir, MOSQUITTO_FILES.conf), formatMosquittoConf({
    dir, port, pidFile, ...(bind !== undefined && { bind }), ...(persistence !== undefined && { persistenceDir: persistence }), ...(user !== undefined && { user }),
  }), 0o644);
  const users = access.users.map((u) => ({ name: u.name, kind: u.kind }));
  out.result({ dir, conf: join(dir, MOSQUITTO_FILES.conf), port, users, ...(tls && { names: tls.names }) }, () => [
    `wrote ${join(dir, MOSQUITTO_FILES.conf)} (TLS on port ${port}${tls ? ` as ${tls.names.join(', ')}` : ''}), passwd and acl for ${users.length} user(s): ${users.map((u) => u.name).join(', ') || '(none)'}`,
    `  run it: mosquitto -c ${join(dir, MOSQUITTO_FILES.conf)}  (passwd is mode 0640: give it Mosquitto's group)`,
    `  keep it current: the gdo agent on that machine with sync.mosquitto_dir ${dir} (and sync.broker_secret_file)`,
  ].join('\n'));
  return 0;
}

export const brokerCommands: Command[] = [
  {
    name: 'broker',
    summary: "broker secret, MQTT passwords, TLS certificates from the site CA, a site's Mosquitto configuration",
    subcommands: ['secret', 'passwd', 'acl', 'password', 'tls', 'mosquitto-config'],
    booleans: ['force', 'make-ca'],
    help: `usage: gdo broker <secret|passwd|acl|password|tls|mosquitto-config> [--data DIR] [--json]
  secret --out FILE [--force]
        make a new broker secret (hex, mode 0600); every MQTT password derives from it
  passwd --secret-file FILE [--out FILE] [--operators a,b] [--enrolling x,y]
        Mosquitto password_file ($7$ PBKDF2-SHA512) for the enrolled, unrevoked nodes,
        the operators (office tools: collect enrolment requests, sync) and names still enrolling
  acl [--out FILE] [--operators a,b] [--enrolling x,y]
        Mosquitto acl_file: each node writes only under gdo/<org>/node/<name>/ and its
        enrolment topic; enrolling names only their enrolment topic
  password --secret-file FILE --name NAME [--org HEX]
        the MQTT password of one node or operator (for its bootstrap)
  tls --name NAME[,NAME|IP...] --out DIR [--days N] [--make-ca]
        a broker TLS certificate from the site CA (DATA/ca.crt, ca.key) for the names nodes use in
        their --broker URL: DIR/broker.crt, DIR/broker.key (0600) and DIR/ca.crt. --make-ca makes
        the site CA first in a data directory from before gdo init made one (alone: only the CA)
  mosquitto-config --out DIR [--name NAME,...] [--port 8883] [--bind ADDR] [--secret-file F]
        [--operators a,b] [--enrolling x,y] [--pid-file F] [--persistence DIR] [--user U] [--make-ca]
        a complete Mosquitto 2 configuration for a site running its own broker: DIR/mosquitto.conf
        (one TLS listener, no anonymous access), passwd and acl from the ledger, ca.crt, and
        broker.crt/broker.key issued for --name (kept when --name is not given). --enrolling
        defaults to the names provisioned here and not approved yet; --secret-file to
        DATA/broker.secret; --pid-file to ${DEFAULT_PID_FILE}; --user to Mosquitto's own user
        (mosquitto), which reads passwd (mode 0640) after dropping root: chgrp mosquitto DIR/passwd.
        The gdo agent on the broker's machine keeps passwd and acl current (sync.mosquitto_dir DIR)
        and sends SIGHUP
Without --out the file goes to stdout. Regenerate both files after enrolling or revoking a
node and send mosquitto SIGHUP to reload them. A hub running the embedded broker needs the
secret (sync.broker_secret_file) and its certificate (sync.tls_cert_file, gdo broker tls or
provisioning): it builds the same accounts from its ledger itself.`,
    run: (sub, a, out) => cmdBroker(sub, a, out),
  },
];
