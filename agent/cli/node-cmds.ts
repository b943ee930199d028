// `gdo node list | requests | approve | revoke | request`: enrolling the organisation's door, machine and hub
// nodes (issue 7). A node makes a signed enrolment request at first boot (agent/enrol/firstboot.ts); an admin
// approves it here, which appends org/node.add with the provisioned roles and the site secret sealed to the
// node's X25519 key. Requests arrive over MQTT (retained on gdo/<org>/enrol/<name>, agent/sync/enrol-topic.ts)
// or as files (a USB stick: the node's boot partition holds a copy), so approval also works with no network.
import { readFileSync, readdirSync, writeFileSync, renameSync, statSync } from 'node:fs';
import { parseBootstrap } from '../enrol/bootstrap.ts';
import { collectEnrolmentRequests, publishEnrolmentRequest, type EnrolBrokerOptions } from '../sync/enrol-topic.ts';
import { join } from 'node:path';
import { approveEnrolment, checkRequest } from '../enrol/approve.ts';
import { EnrolError, isEnrolError, type EnrolErrorCode } from '../enrol/errors.ts';
import { STATE_FILES } from '../enrol/firstboot.ts';
import { listProvisioned } from '../enrol/provisioned.ts';
import { encodeEnrolmentRequest, parseEnrolmentRequest, type EnrolmentRequest } from '../enrol/request.ts';
import { siteSecretPath } from '../enrol/site-secret.ts';
import { isImageError } from '../../image-build/errors.ts';
import type { KeyRecord } from '../ledger/dapp.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { hex } from '../ledger/event.ts';
import { Signer } from '../ledger/crypto.ts';
import { int, onlyFlags, str, UsageError, type Args } from './args.ts';
import { CliError } from './cli-error.ts';
import { unlockKeyFile } from './keyfile.ts';
import { dataDir, openLedger } from './ledger-cmds.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { DeskPush, PUSH_FLAG } from './desk-push.ts';
import { linkCa, readSiteLink, type SiteLink } from './site-link.ts';

/** Codes that mean "refused after checking" (exit 3); anything else is a plain failure (exit 1). */
const REJECTIONS: ReadonlySet<EnrolErrorCode> = new Set<EnrolErrorCode>([
  'ENROL_BAD_REQUEST', 'ENROL_BAD_SIGNATURE', 'ENROL_WRONG_ORG', 'ENROL_NOT_PROVISIONED', 'ENROL_BAD_TOKEN', 'ENROL_TOKEN_USED', 'ENROL_CONFLICT', 'ENROL_SEAL',
]);

/** Runs a command body and turns enrolment and image errors into one `gdo: CODE: message` line (a JSON document with --json; main.ts). */
export async function withTypedErrors(body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (isEnrolError(err)) throw new CliError(err.code, err.message, REJECTIONS.has(err.code) ? 3 : 1);
    if (isImageError(err)) throw new CliError(err.code, err.message, 1);
    throw err;
  }
}

function readRequestFile(file: string): EnrolmentRequest {
  let bytes: Buffer;
  try { bytes = readFileSync(file); } catch (err) {
    throw new EnrolError('ENROL_BAD_REQUEST', `cannot read request file ${file}: ${(err as Error).message}`);
  }
  return parseEnrolmentRequest(bytes, file);
}

async function operatorSigner(a: Args): Promise<Signer> {
  const keyPath = str(a, 'key', join(dataDir(a), 'operator.key'));
  return new Signer(await unlockKeyFile(keyPath, a.flags, 'operator key'));
}

interface NodeRow { name: string; roles: string[]; state: 'enrolled' | 'revoked' | 'provisioned'; key?: string; kx?: string; siteSecret?: boolean; provisionedAt?: string }

function cmdList(a: Args, out: Output): number {
  onlyFlags(a, ['data', 'json']);
  const l = openLedger(a);
  try {
    const rows: NodeRow[] = [];
    const enrolledNames = new Set<string>();
    for (const [k, rec] of l.scan<KeyRecord>('org/key/')) {
      if (rec.kind !== 'node') continue;
      const key = k.slice('org/key/'.length);
      const box = l.get<{ kx: string | null }>(`org/box/${key}`);
      rows.push({ name: rec.name, roles: rec.roles, state: rec.revoked ? 'revoked' : 'enrolled', key, ...(box?.kx ? { kx: box.kx } : {}), siteSecret: box !== undefined });
      if (!rec.revoked) enrolledNames.add(rec.name);
    }
    for (const p of listProvisioned(dataDir(a))) {
      if (enrolledNames.has(p.name) || (p.approved && rows.some((r) => r.key === p.approved?.key))) continue;
      rows.push({ name: p.name, roles: p.roles, state: 'provisioned', provisionedAt: p.provisionedAt });
    }
    rows.sort((x, y) => (x.name === y.name ? x.state.localeCompare(y.state) : x.name < y.name ? -1 : 1));
    out.result(rows, () => rows.length === 0 ? 'no nodes (gdo provision --node NAME ... to make one)'
      : rows.map((r) => `${r.name.padEnd(24)} ${r.roles.join(',').padEnd(18)} ${r.state.padEnd(11)} ${r.key ? r.key.slice(0, 16) : `provisioned ${r.provisionedAt ?? ''}, awaiting its request`}`).join('\n'));
  } finally { l.close(); }
  return 0;
}

const BROKER_FLAGS = ['broker', 'broker-user', 'broker-pass-file', 'broker-ca', 'wait-ms'] as const;

/** A secret from the file named by --FLAG: one trailing newline dropped (what `echo secret > file` leaves). */
export function secretFile(a: Args, flag: string): string {
  const path = str(a, flag);
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) {
    throw new UsageError(`--${flag} ${path} cannot be read: ${(err as Error).message}`);
  }
  text = text.replace(/\r?\n$/, '');
  if (text === '') throw new UsageError(`--${flag} ${path} is empty`);
  return text;
}

/**
 * Broker connection from --broker, --broker-user, --broker-pass-file, --broker-ca; without --broker, the
 * data directory's connected site (gdo site connect) and its operator account.
 */
function brokerOptions(a: Args, orgId: Buffer | string): EnrolBrokerOptions {
  if (!a.flags.has('broker')) {
    const link = readSiteLink(dataDir(a));
    if (!link) throw new UsageError('no --broker URL and no connected site (gdo site connect)');
    const ca = linkCa(dataDir(a), link);
    return { url: link.broker, orgId, username: link.name, password: link.password, ...(ca && { tls: { ca } }) };
  }
  const o: EnrolBrokerOptions = { url: str(a, 'broker'), orgId };
  if (a.flags.has('broker-user')) o.username = str(a, 'broker-user');
  if (a.flags.has('broker-pass-file')) o.password = secretFile(a, 'broker-pass-file');
  if (a.flags.has('broker-ca')) o.tls = { ca: readFileSync(str(a, 'broker-ca')) };
  // The site's own CA (gdo init made it; the hub's broker certificate comes from it) unless told otherwise.
  else if (/^(mqtts|wss):\/\//.test(o.url) && statSync(join(dataDir(a), 'ca.crt'), { throwIfNoEntry: false })) o.tls = { ca: readFileSync(join(dataDir(a), 'ca.crt')) };
  return o;
}

interface Source { where: string; bytes: Buffer }

/** Requests retained on the broker, or the *.json files of a directory (a USB stick). */
async function requestSources(a: Args, l: Ledger): Promise<Source[]> {
  if (a.flags.has('broker') || (!a.flags.has('dir') && readSiteLink(dataDir(a)))) {
    if (!l.orgId) throw new UsageError('the ledger has no genesis yet');
    const o = brokerOptions(a, l.orgId);
    let found: Array<{ name: string; payload: Buffer }>;
    try { found = await collectEnrolmentRequests({ ...o, waitMs: int(a, 'wait-ms', 1500) }); } catch (err) {
      throw new EnrolError('ENROL_BAD_REQUEST', `cannot collect enrolment requests from ${o.url}: ${(err as Error).message}`);
    }
    return found.map((f) => ({ where: `${o.url} enrol/${f.name}`, bytes: f.payload }));
  }
  const dir = str(a, 'dir', join(dataDir(a), 'requests'));
  let files: string[];
  try { files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort(); } catch (err) {
    throw new UsageError(`cannot list requests in ${dir}: ${(err as Error).message} (pass --dir DIR, e.g. a USB stick with the nodes' gdo/enrol-request.json files, or --broker URL)`);
  }
  return files.map((f) => ({ where: join(dir, f), bytes: readFileSync(join(dir, f)) }));
}

interface RequestRow { from: string; name?: string; key?: string; roles?: string[]; at?: string; ok: boolean; verdict: string }

async function cmdRequests(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['data', 'json', 'dir', ...BROKER_FLAGS]);
  const l = openLedger(a);
  try {
    const sources = await requestSources(a, l);
    const rows: RequestRow[] = sources.map(({ where, bytes }) => {
      try {
        const req = parseEnrolmentRequest(bytes, where);
        const row = { from: where, name: req.name, key: req.key, roles: req.roles, at: req.at };
        try {
          checkRequest(l, dataDir(a), req.name, req);
          const how = a.flags.has('broker') ? `--broker ${str(a, 'broker')}` : where.includes(' enrol/') ? '(from the connected site)' : `--request ${where}`;
          return { ...row, ok: true, verdict: `ready: gdo node approve ${req.name} ${how}` };
        } catch (err) {
          if (!isEnrolError(err)) throw err;
          return { ...row, ok: false, verdict: `${err.code}: ${err.message}` };
        }
      } catch (err) {
        if (!isEnrolError(err)) throw err;
        return { from: where, ok: false, verdict: `${err.code}: ${err.message}` };
      }
    });
    out.result(rows, () => rows.length === 0 ? 'no enrolment requests'
      : rows.map((r) => `${(r.name ?? '?').padEnd(24)} ${(r.key ?? '').slice(0, 16).padEnd(16)} ${r.verdict}`).join('\n'));
  } finally { l.close(); }
  return 0;
}

/** The --broker of the command line as a link to push through, when it names an account with a password. */
function commandLineLink(a: Args, l: Ledger): { link: SiteLink; ca?: Buffer } | undefined {
  if (!a.flags.has('broker') || !a.flags.has('broker-user') || !a.flags.has('broker-pass-file') || !l.orgId) return undefined;
  const o = brokerOptions(a, l.orgId);
  const ca = o.tls?.ca;
  return {
    link: { v: 1, broker: o.url, name: o.username!, password: o.password!, ca_file: null, connected_at: '' },
    ...(Buffer.isBuffer(ca) && { ca }),
  };
}

async function cmdApprove(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['data', 'json', 'request', 'key', 'passphrase-file', PUSH_FLAG, ...BROKER_FLAGS]);
  const name = a.pos[0];
  if (!name || a.pos.length > 1) throw new UsageError('usage: gdo node approve NAME [--request FILE | --broker URL]');
  const linked = readSiteLink(dataDir(a)) !== null;
  if (a.flags.has('request') && a.flags.has('broker')) throw new UsageError('give --request FILE or --broker URL, not both');
  if (!a.flags.has('request') && !a.flags.has('broker') && !linked) throw new UsageError('give exactly one of --request FILE or --broker URL (or connect the data directory to the site first: gdo site connect)');
  const l = openLedger(a);
  let push: DeskPush | null = null;
  try {
    let req: EnrolmentRequest;
    if (a.flags.has('request')) {
      req = readRequestFile(str(a, 'request'));
    } else {
      const found = (await requestSources(a, l)).find((s) => s.where.endsWith(` enrol/${name}`));
      if (!found) throw new EnrolError('ENROL_NOT_PROVISIONED', `no enrolment request from '${name}' on ${brokerOptions(a, l.orgId!).url} (has the node booted and reached the broker?)`);
      req = parseEnrolmentRequest(found.bytes, found.where);
    }
    // Everything that can refuse the request is checked before the passphrase is asked for.
    checkRequest(l, dataDir(a), name, req);
    // With a connected site the approval is delivered: the hub lets the node in, and it enrols (issue 12).
    // So it is through the --broker given, when its account is an operator's (--broker-user and password).
    push = await DeskPush.open(a, l, commandLineLink(a, l));
    const signer = await operatorSigner(a);
    const r = approveEnrolment({ ledger: l, dataDir: dataDir(a), name, request: req, signer });
    if (r.siteSecretCreated) process.stderr.write(`gdo: note: ${siteSecretPath(dataDir(a))} did not exist; made a new site secret (back it up: badge hashes depend on it)\n`);
    const pushed = await push?.finish() ?? undefined;
    const next = pushed?.state === 'delivered' ? 'the site has it: the node enrols as soon as it syncs' : 'the node picks it up at its next sync';
    out.result({ name, key: r.key, roles: r.roles, event: r.event, siteSecretCreated: r.siteSecretCreated, ...(pushed && { push: pushed }) },
      () => `enrolled '${name}' (${r.roles.join(',')}) with key ${r.key.slice(0, 16)}: event ${r.event.slice(0, 12)}; ${next}`);
  } finally {
    await push?.close();
    l.close();
  }
  return 0;
}

async function cmdRevoke(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['data', 'json', 'reason', 'key', 'passphrase-file', PUSH_FLAG]);
  const who = a.pos[0];
  if (!who || a.pos.length > 1) throw new UsageError('usage: gdo node revoke NAME|KEY [--reason TEXT]');
  const reason = a.flags.has('reason') ? str(a, 'reason') : undefined;
  const l = openLedger(a);
  let push: DeskPush | null = null;
  try {
    const key = /^[0-9a-f]{64}$/.test(who) ? who : l.get<string>(`org/node/${who}`);
    if (!key) throw new EnrolError('ENROL_CONFLICT', `no node named '${who}' was ever enrolled (gdo node list)`);
    const rec = l.get<KeyRecord>(`org/key/${key}`);
    if (!rec) throw new EnrolError('ENROL_CONFLICT', `key ${key.slice(0, 12)} is not a key of this organisation`);
    if (rec.kind !== 'node') throw new EnrolError('ENROL_CONFLICT', `key ${key.slice(0, 12)} is an admin key; gdo node revoke only revokes nodes`);
    if (rec.revoked) throw new EnrolError('ENROL_CONFLICT', `node '${rec.name}' (key ${key.slice(0, 12)}) is already revoked`);
    // With a connected site the revocation is delivered: the hub's broker shuts the node out at once.
    push = await DeskPush.open(a, l);
    const signer = await operatorSigner(a);
    const { event, result } = l.append(signer, 'org', 'key.revoke', reason === undefined ? { key } : { key, reason });
    if (result.status !== 'accepted') throw new EnrolError('ENROL_CONFLICT', `the ledger refused org/key.revoke: ${result.code ?? result.status} ${result.message ?? ''}`.trim());
    const pushed = await push?.finish() ?? undefined;
    out.result({ name: rec.name, key, event: hex(event.id), ...(pushed && { push: pushed }) }, () => `revoked node '${rec.name}' (key ${key.slice(0, 16)}): event ${hex(event.id).slice(0, 12)}`);
  } finally {
    await push?.close();
    l.close();
  }
  return 0;
}

/** On the node: its own request, to carry to the admin (e.g. on a USB stick) or publish to the broker. */
async function cmdRequest(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['state', 'json', 'out', 'publish', ...BROKER_FLAGS]);
  const state = str(a, 'state', process.env.GDO_DATA ?? '/var/lib/gdo');
  const file = join(state, STATE_FILES.request);
  if (!statSync(file, { throwIfNoEntry: false })) throw new EnrolError('ENROL_NO_BOOTSTRAP', `${file} does not exist: first boot has not run on this node (gdo firstboot)`);
  const req = readRequestFile(file);
  const bytes = encodeEnrolmentRequest(req);
  if (a.flags.get('publish') === true) {
    // The broker and credentials this node was provisioned with, unless given on the command line.
    const boot = parseBootstrap(readFileSync(join(state, STATE_FILES.bootstrap)), join(state, STATE_FILES.bootstrap));
    const url = a.flags.has('broker') ? str(a, 'broker') : boot.broker?.url;
    if (!url || url === 'embedded') throw new UsageError('this node has no broker to publish to: pass --broker URL');
    const o = a.flags.has('broker') ? brokerOptions(a, req.org) : {
      url, orgId: req.org,
      ...(boot.broker?.username === undefined ? {} : { username: boot.broker.username }),
      ...(boot.broker?.password === undefined ? {} : { password: boot.broker.password }),
    };
    await publishEnrolmentRequest({ ...o, name: req.name, payload: bytes });
    out.result({ published: url, name: req.name, key: req.key }, () => `published the enrolment request of '${req.name}' to ${url}`);
    return 0;
  }
  const dest = a.flags.get('out');
  if (typeof dest === 'string') {
    const tmp = `${dest}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, dest);
    out.result({ file: dest, name: req.name, key: req.key }, () => `wrote the enrolment request of '${req.name}' to ${dest}`);
  } else if (out.json) {
    out.result(req, () => '');
  } else {
    process.stdout.write(`${bytes.toString('utf8')}\n`);
  }
  return 0;
}

export const nodeCommands: Command[] = [{
  name: 'node',
  summary: 'enrol door, machine and hub nodes: list, requests, approve, revoke',
  subcommands: ['list', 'requests', 'approve', 'revoke', 'request'],
  booleans: ['publish'],
  help: `usage: gdo node <list|requests|approve|revoke|request> [--data DIR] [--json]
  list                            nodes with their roles: enrolled, revoked, or provisioned and awaiting a request
  requests [--dir DIR | --broker URL]
                                  check enrolment requests: the *.json files in DIR (default DATA/requests, e.g.
                                  a USB stick with nodes' gdo/enrol-request.json), or those retained on the broker
                                  (default with a connected site: the site's)
  approve NAME [--request FILE | --broker URL]
                                  verify the request (signature, org, the token provisioned for NAME) and sign
                                  org/node.add with the provisioned roles and the site secret sealed to the node;
                                  with a connected site (gdo site connect) the request comes from the site
                                  without --broker, and the approval is sent to the hub (--push-wait S, 5)
  revoke NAME|KEY [--reason TEXT] sign org/key.revoke for the node's key (sent to a connected site, as approve)
  request [--state DIR] [--out FILE | --publish [--broker URL]]
                                  on a node: print, write or publish its own enrolment request (--publish uses
                                  the broker and credentials of its bootstrap unless --broker is given)
Broker options: --broker URL --broker-user U --broker-pass-file F [--broker-ca FILE (default for mqtts://:
DATA/ca.crt when present)] [--wait-ms N (1500)].
Signing commands use the operator key (--key FILE, default DATA/operator.key) and its passphrase
(--passphrase-file F, or asked on the terminal). Exit 3 when a request is refused.`,
  run: (sub, a, out) => withTypedErrors(() => {
    switch (sub) {
      case 'list': return cmdList(a, out);
      case 'requests': return cmdRequests(a, out);
      case 'approve': return cmdApprove(a, out);
      case 'revoke': return cmdRevoke(a, out);
      case 'request': return cmdRequest(a, out);
      default: throw new UsageError(`unknown subcommand 'gdo node ${sub ?? ''}'`);
    }
  }),
}];
