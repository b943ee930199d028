// `gdo init` and `gdo ledger show | state | verify | export | import`.
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { allDapps } from '../dapps.ts';
import { ensureSiteSecret } from '../enrol/site-secret.ts';
import { CA_KEY_FILE, createSiteCa } from '../enrol/site-ca.ts';
import { newBrokerSecretText } from '../sync/broker-auth.ts';
import { importBundle, writeBundle } from '../ledger/bundle.ts';
import { generateKeyPair, Signer, verifyNative } from '../ledger/crypto.ts';
import { decodeEvent, signingBytes, unsignedPart, hex } from '../ledger/event.ts';
import { formatHlc } from '../ledger/hlc.ts';
import { Ledger } from '../ledger/ledger.ts';
import { int, onlyFlags, str, UsageError, type Args } from './args.ts';
import { newPassphrase, writeKeyFile } from './keyfile.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { checkTz, localTz } from './time-args.ts';

export function dataDir(a: Args): string {
  return str(a, 'data', process.env.GDO_DATA ?? '/var/lib/gdo');
}

export function openLedger(a: Args, mustExist = true): Ledger {
  const dir = dataDir(a);
  const path = join(dir, 'ledger.db');
  if (mustExist && !existsSync(path)) throw new UsageError(`no ledger in ${dir} (run 'gdo init' or pass --data DIR)`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return Ledger.open({ path, dapps: allDapps });
}

export async function cmdInit(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['data', 'name', 'admin-name', 'key', 'passphrase-file', 'tz', 'json']);
  const dir = dataDir(a);
  if (existsSync(join(dir, 'ledger.db'))) throw new UsageError(`${dir} already holds a ledger`);
  const name = str(a, 'name');
  const adminName = str(a, 'admin-name', process.env.USER ?? 'admin');
  const tz = checkTz('tz', str(a, 'tz', localTz())); // the site's zone: every command reads and shows times in it
  const keyPath = str(a, 'key', join(dir, 'operator.key'));
  const pass = await newPassphrase(a.flags, 'new operator key');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = generateKeyPair();
  writeKeyFile(keyPath, pair, pass);
  ensureSiteSecret(dir); // badge UIDs are hashed with it (agent/access/badge-hash.ts): 32 random bytes, 0600, never replaced
  // The site's TLS and broker accounts (docs/sync-protocol.md 6, 6.6): the CA issues the hub's broker
  // certificate at provisioning; every MQTT password derives from the broker secret. Neither is ever replaced.
  createSiteCa(dir, name);
  const brokerSecret = join(dir, 'broker.secret');
  writeFileSync(brokerSecret, newBrokerSecretText(), { mode: 0o600, flag: 'wx' });
  const l = openLedger(a, false);
  try {
    const signer = new Signer(pair);
    const { event, result } = l.append(signer, 'org', 'genesis', { name, admins: [{ key: pair.publicKey.toString('hex'), name: adminName }], tz });
    if (result.status !== 'accepted') throw new Error(`genesis rejected: ${result.code} ${result.message}`);
    const backup = { operator_key: keyPath, site_secret: join(dir, 'site-secret'), broker_secret: brokerSecret, ca_key: join(dir, CA_KEY_FILE) };
    out.result({ org: hex(event.id), admin: pair.publicKey.toString('hex'), key: keyPath, data: dir, tz, ca: join(dir, 'ca.crt'), backup },
      () => `created org '${name}' ${hex(event.id)} (times in ${tz})\nadmin key ${pair.publicKey.toString('hex')} in ${keyPath}\n${initNextSteps(dir, backup)}`);
  } finally { l.close(); }
  return 0;
}

/** What `gdo init` tells the admin to keep safe, and the three commands that come next (issue 12 item 5). */
function initNextSteps(dir: string, b: { operator_key: string; site_secret: string; broker_secret: string; ca_key: string }): string {
  const d = dir.includes(' ') ? `'${dir}'` : dir;
  return [
    'Back these up now, off this machine (none can be made again; a new one orphans what the old one made):',
    `  ${b.operator_key}  your operator key (signs as you; protected by your passphrase)`,
    `  ${b.site_secret}  the site secret (every badge hash depends on it)`,
    `  ${b.broker_secret}  the broker secret (every MQTT password derives from it)`,
    `  ${b.ca_key}  the site CA key (issues the brokers' TLS certificates; ${join(dir, 'ca.crt')} is public)`,
    'Next:',
    `  gdo member add alice --name 'Alice Smith' --groups members --data ${d}`,
    `  gdo provision --image gdo.img --node hub --role hub --broker embedded --broker-secret-file ${join(d, 'broker.secret')} --config provisioning/examples/hub.json --data ${d}`,
    `  gdo site connect --broker mqtts://hub.local:8883 --name desk --ca ${join(d, 'ca.crt')} --data ${d}`,
  ].join('\n');
}

export function ledgerState(l: Ledger) {
  return {
    org: l.orgId ? hex(l.orgId) : null, events: l.count(), heads: l.heads(), stateHash: l.stateHash(),
    pending: l.pendingCount(), softFailed: l.softFailed(), equivocations: l.equivocations(),
  };
}

export async function cmdLedger(sub: string | undefined, a: Args, out: Output): Promise<number> {
  switch (sub) {
    case 'state': {
      onlyFlags(a, ['data', 'json']);
      const l = openLedger(a);
      try {
        const s = ledgerState(l);
        out.result(s, () => [`org          ${s.org}`, `events       ${s.events}`, `state hash   ${s.stateHash}`, `heads        ${s.heads.join('\n             ')}`,
          `pending      ${s.pending}`, `soft-failed  ${s.softFailed.length}`, `equivocations ${s.equivocations.length}`].join('\n'));
      } finally { l.close(); }
      return 0;
    }
    case 'show': {
      onlyFlags(a, ['data', 'json', 'limit']);
      const l = openLedger(a);
      try {
        const limit = int(a, 'limit', 50);
        const all = [...l.events()];
        const rows = all.slice(Math.max(0, all.length - limit)).map((raw) => {
          const e = decodeEvent(raw);
          return { id: hex(e.id), author: hex(e.author), seq: e.seq, hlc: formatHlc(e.hlc), dapp: e.dapp, type: e.type, body: e.body };
        });
        out.result(rows, () => rows.map((r) => `${r.id.slice(0, 12)} ${r.hlc} ${r.author.slice(0, 8)}#${r.seq} ${r.dapp}/${r.type} ${JSON.stringify(r.body)}`).join('\n'));
      } finally { l.close(); }
      return 0;
    }
    case 'verify': {
      onlyFlags(a, ['data', 'json']);
      const l = openLedger(a);
      const fresh = Ledger.open({ path: ':memory:', dapps: allDapps });
      try {
        const raws = [...l.events()];
        let badSig = 0;
        for (const raw of raws) { const e = decodeEvent(raw); if (!verifyNative(e.author, signingBytes(unsignedPart(e)), e.sig)) badSig++; }
        const results = await fresh.ingestAsync(raws);
        const rejected = results.filter((r) => r.status === 'rejected' && !r.kept).length;
        const ok = badSig === 0 && rejected === 0 && fresh.stateHash() === l.stateHash() && fresh.count() === l.count();
        const report = { ok, events: raws.length, badSignatures: badSig, rejectedOnRefold: rejected, stateHash: l.stateHash(), refoldedStateHash: fresh.stateHash() };
        out.result(report, () => ok ? `ledger verified: ${raws.length} events, state hash ${l.stateHash()}` : `LEDGER DOES NOT VERIFY: ${JSON.stringify(report)}`);
        return ok ? 0 : 3;
      } finally { fresh.close(); l.close(); }
    }
    case 'export': {
      onlyFlags(a, ['data', 'json', 'out']);
      const file = str(a, 'out');
      const l = openLedger(a);
      try {
        const b = writeBundle(l.orgId!, l.events());
        const tmp = `${file}.tmp-${process.pid}`;
        writeFileSync(tmp, b);
        renameSync(tmp, file);
        out.result({ file, events: l.count(), bytes: b.length }, () => `wrote ${l.count()} events (${b.length} bytes) to ${file}`);
      } finally { l.close(); }
      return 0;
    }
    case 'import': {
      onlyFlags(a, ['data', 'json']);
      const file = a.pos[0];
      if (!file) throw new UsageError('usage: gdo ledger import FILE');
      const l = openLedger(a, false);
      try {
        const r = await importBundle(l, readFileSync(file));
        out.result({ accepted: r.accepted, duplicate: r.duplicate, pending: r.pending, stateHash: l.stateHash() },
          () => `imported ${file}: ${r.accepted} new, ${r.duplicate} already known, ${r.pending} waiting for parents`);
      } finally { l.close(); }
      return 0;
    }
    default:
      throw new UsageError(`unknown command 'gdo ledger ${sub ?? ''}' (show, state, verify, export, import)`);
  }
}

export const ledgerCommands: Command[] = [
  {
    name: 'init',
    summary: "create an organisation: genesis and the founding admin's key",
    help: `usage: gdo init --name NAME [--admin-name NAME] [--tz ZONE] [--data DIR] [--key FILE] [--passphrase-file F] [--json]
Creates the ledger in DIR with a genesis naming you as the founding admin, and your key file
(passphrase-protected: asked twice on the terminal, or --passphrase-file F for scripts).
--tz: the site's IANA time zone (default this computer's: $TZ or /etc/localtime), recorded in the
genesis: staff commands read and show times in it unless given --tz or a time with an offset.`,
    run: (_sub, a, out) => cmdInit(a, out),
  },
  {
    name: 'ledger',
    summary: 'inspect, check and move the ledger (bundles for USB sticks)',
    subcommands: ['show', 'state', 'verify', 'export', 'import'],
    help: `usage: gdo ledger <show|state|verify|export|import> [--data DIR] [--json]
  show [--limit N]     the last N events in fold order
  state                heads, event count, state hash, pending, soft-failed, equivocations
  verify               re-check every signature and re-fold the state from scratch
  export --out FILE    write every event to a bundle file
  import FILE          import a bundle: all of it or nothing`,
    run: (sub, a, out) => cmdLedger(sub, a, out),
  },
];
