// `gdo broker secret | passwd | acl | password`: Mosquitto's password and ACL files made from
// the ledger's node list (docs/sync-protocol.md 6), and the per-node MQTT password that
// provisioning writes into a device's bootstrap.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  accessFromLedger, derivePassword, formatAclFile, formatPasswordFile, parseBrokerSecret, type BrokerAccess,
} from '../sync/broker-auth.ts';
import { onlyFlags, str, UsageError, type Args } from './args.ts';
import { openLedger } from './ledger-cmds.ts';
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
      writeAtomic(file, `${randomBytes(32).toString('hex')}\n`, 0o600);
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
    default:
      throw new UsageError(`unknown command 'gdo broker ${sub ?? ''}' (secret, passwd, acl, password)`);
  }
}

export const brokerCommands: Command[] = [
  {
    name: 'broker',
    summary: "Mosquitto password and ACL files from the ledger's node list; node MQTT passwords",
    subcommands: ['secret', 'passwd', 'acl', 'password'],
    booleans: ['force'],
    help: `usage: gdo broker <secret|passwd|acl|password> [--data DIR] [--json]
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
Without --out the file goes to stdout. Regenerate both files after enrolling or revoking a
node and send mosquitto SIGHUP to reload them. A hub running the embedded broker needs only
the secret (sync.broker_secret_file): it builds the same accounts from its ledger itself.`,
    run: (sub, a, out) => cmdBroker(sub, a, out),
  },
];
