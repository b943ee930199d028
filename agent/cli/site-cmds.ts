// `gdo site`: the organisation as a data directory's ledger sees it, for staff at their own
// computer (`gdo status` asks a running agent instead: agent/cli/agent-cmds.ts). `gdo site connect`
// and `gdo site disconnect` record the site's broker for the data directory (agent/cli/site-link.ts),
// which makes the desk a peer: staff commands push what they sign (agent/cli/desk-push.ts).
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { listAnomalies } from '../../dapps/access/anomaly.ts';
import type { Badge } from '../../dapps/badge/index.ts';
import { lockdownKey, type Lockdown } from '../../dapps/door/index.ts';
import type { Machine } from '../../dapps/machine/index.ts';
import type { Member } from '../../dapps/member/index.ts';
import { siteSecretPath } from '../enrol/site-secret.ts';
import type { KeyRecord } from '../ledger/dapp.ts';
import { derivePassword } from '../sync/broker-auth.ts';
import { checkNodeName } from '../sync/topics.ts';
import { onlyFlags, str, UsageError, type Args } from './args.ts';
import { readSecret } from './broker-cmds.ts';
import { dataDir, ledgerState, openLedger } from './ledger-cmds.ts';
import { secretFile } from './node-cmds.ts';
import { CliError } from './cli-error.ts';
import { isLinkError, linkErrorCode } from './desk-push.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { checkCaPem, linkPath, readSiteLink, removeSiteLink, writeSiteLink } from './site-link.ts';
import { noExtraArgs, READ_FLAGS, readLedger } from './staff-session.ts';

/** 127.0.0.0/8, ::1 and localhost: a plain connection that never leaves this machine. */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

const CONNECT_HELP = `       gdo site connect --broker URL --name NAME [--ca FILE] [--password-file FILE] [--allow-plain]
                        [--offline] [--timeout S (5)] [--data DIR] [--json]
Records the site's broker for this data directory, in DIR/site-link.json (mode 0600: it holds the
password), with the CA copied to DIR/site-link-ca.crt. From then on every staff command that signs sends
what it signed to the hub and waits for it (see --push-wait), and gdo sync reconciles with the site.
  --broker URL          mqtts://HOST:8883 (the hub's embedded broker, or the site's Mosquitto); mqtt:// only to
                        this machine unless --allow-plain (the password would cross the network readable)
  --name NAME           the operator account: one of the hub's sync.broker_operators
  --password-file FILE  its password (gdo broker password --name NAME); without it, derived from DIR/broker.secret
  --ca FILE             the CA that signed the broker's certificate (default for mqtts://: DIR/ca.crt when
                        present, else the system's CAs)
  --offline             record it without trying the connection
The connection is tried once: a wrong password, a certificate the CA did not sign or made for another name,
and an unreachable broker each get their own message, and nothing is recorded.
       gdo site disconnect [--data DIR]
forgets the link (the ledger stays as it is).
exit codes: 0 ok, 1 failure (site connect: could not connect), 2 usage error`;

function brokerUrl(a: Args): { url: string; tls: boolean } {
  const url = str(a, 'broker');
  let u: URL;
  try { u = new URL(url); } catch { throw new UsageError(`--broker ${JSON.stringify(url)} is not a URL (mqtts://HOST:8883)`); }
  if (u.username !== '' || u.password !== '') throw new UsageError('--broker must not carry a user or password; use --name and --password-file');
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new UsageError(`--broker must be mqtts://HOST:PORT or mqtt://HOST:PORT, got ${u.protocol}//`);
  const tls = u.protocol === 'mqtts:';
  if (!tls && !isLoopback(u.hostname) && a.flags.get('allow-plain') !== true) {
    throw new UsageError(`--broker ${url} is plain MQTT to ${u.hostname}, which crosses a network; use mqtts:// (with --ca) or pass --allow-plain`);
  }
  return { url, tls };
}

async function cmdConnect(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['data', 'json', 'broker', 'name', 'ca', 'password-file', 'allow-plain', 'offline', 'timeout']);
  noExtraArgs(a, 1);
  const dir = dataDir(a);
  const { url, tls } = brokerUrl(a);
  const name = str(a, 'name');
  try { checkNodeName(name, '--name'); } catch (e) { throw new UsageError((e as Error).message); }
  const timeout = Number(a.flags.get('timeout') ?? 5);
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 600) throw new UsageError(`--timeout must be a number of seconds from 0 to 600, got ${String(a.flags.get('timeout'))}`);
  let ca: Buffer | undefined;
  let caFrom: string | undefined;
  if (a.flags.has('ca')) {
    if (!tls) throw new UsageError('--ca is for an mqtts:// broker');
    caFrom = str(a, 'ca');
    try { ca = readFileSync(caFrom); } catch (e) { throw new UsageError(`--ca ${caFrom} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  } else if (tls && existsSync(join(dir, 'ca.crt'))) {
    caFrom = join(dir, 'ca.crt');
    ca = readFileSync(caFrom);
  }
  if (ca) {
    try { checkCaPem(ca, `--ca ${caFrom!}`); } catch (e) { throw new UsageError((e as Error).message); }
  }
  const l = openLedger(a);
  try {
    if (!l.orgId) throw new UsageError(`${dir} has no genesis yet (gdo init)`);
    if (l.get(`org/node/${name}`) !== undefined) throw new UsageError(`--name ${name} is a node of this site; an operator account needs a name of its own (e.g. office)`);
    let password: string;
    let passwordFrom: string;
    if (a.flags.has('password-file')) {
      password = secretFile(a, 'password-file');
      passwordFrom = str(a, 'password-file');
    } else if (existsSync(join(dir, 'broker.secret'))) {
      password = derivePassword(readSecret(join(dir, 'broker.secret')), l.orgId, name);
      passwordFrom = join(dir, 'broker.secret');
    } else {
      throw new UsageError(`no password for operator '${name}': pass --password-file FILE (gdo broker password --name ${name}, where the broker secret is), or keep the broker secret in ${join(dir, 'broker.secret')}`);
    }
    let peers: string[] = [];
    if (a.flags.get('offline') !== true) {
      // agent/sync (mqtt) is loaded here only, so the other staff commands start without it.
      const { DeskLink } = await import('../sync/desk-link.ts');
      const probe = new DeskLink({ ledger: l, url, name, password, ...(ca && { ca }) });
      try {
        await probe.connect(timeout * 1000);
        // Retained presences arrive right after the subscription: who is online on the site. An account
        // that is not an operator may still log in (the hub lets any provisioned name publish its
        // enrolment request) but the embedded broker drops it at its subscription, which is how it shows.
        const end = Date.now() + Math.min(timeout * 1000, 1500);
        while (probe.knownPeers().length === 0 && !probe.wasDropped && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
        if (probe.wasDropped) throw probe.dropped();
        // Before any node is enrolled none can announce itself (on a Mosquitto site an enrolling node may
        // only publish its request): normal for a new site, so a warning rather than a refusal.
        if (probe.knownPeers().length === 0) {
          out.warn(`no node of the site is visible on ${url} yet: expected before the first node is enrolled; otherwise check that '${name}' is an operator (the hub's sync.broker_operators, or the Mosquitto ACL file)`);
        }
        await new Promise((r) => setTimeout(r, 100));
        peers = probe.onlinePeers();
      } catch (e) {
        if (isLinkError(e)) {
          // Through main's error report, so --json gets one JSON document too (exit 1).
          throw new CliError(linkErrorCode(e.problem), `${e.message}; nothing recorded${e.problem === 'unreachable' || e.problem === 'timeout' ? ' (--offline records it without trying)' : ''}`, 1);
        }
        throw e;
      } finally {
        await probe.close();
      }
    }
    const saved = writeSiteLink(dir, { broker: url, name, password }, ca);
    const v = {
      file: linkPath(dir), broker: url, name, ca: caFrom ?? null, password_from: passwordFrom,
      checked: a.flags.get('offline') !== true, peers_online: peers, connected_at: saved.connected_at,
    };
    out.result(v, () => `connected ${dir} to the site at ${url} as operator '${name}'${v.checked ? ` (peers online: ${peers.join(', ') || 'none yet'})` : ' (not tried: --offline)'}\n`
      + `  recorded in ${v.file}${ca ? `, CA from ${caFrom!}` : ''}; staff commands now send what they sign, gdo sync reconciles`);
    return 0;
  } finally { l.close(); }
}

function cmdDisconnect(a: Args, out: Output): number {
  onlyFlags(a, ['data', 'json']);
  noExtraArgs(a, 1);
  const dir = dataDir(a);
  const was = readSiteLinkLoose(dir);
  const had = removeSiteLink(dir);
  out.result({ disconnected: had, broker: was?.broker ?? null }, () => (had
    ? `disconnected ${dir} from ${was?.broker ?? 'the site'}; staff commands sign locally only (gdo ledger export, or gdo site connect again)`
    : `${dir} was not connected to a site`));
  return 0;
}

/** The link for display, or null when there is none or it cannot be read. */
function readSiteLinkLoose(dir: string): { broker: string; name: string } | null {
  try { return readSiteLink(dir); } catch { return null; }
}

export const siteCommands: Command[] = [{
  name: 'site',
  summary: 'the organisation in a data directory: name, counts, lockdowns, anomalies, ledger heads',
  help: `usage: gdo site [--data DIR] [--json]
The organisation as this data directory's ledger sees it: its name, how many members (suspended),
active and revoked badges, doors, schedules, machines (out of service), admins and nodes, lockdowns,
offline-grant anomalies, whether the site secret is here, and the ledger's event count, heads and
state hash (equal state hashes on two nodes mean they agree), and the site it is connected to.
For the local agent use gdo status.

${CONNECT_HELP}`,
  booleans: ['allow-plain', 'offline'],
  run(_sub, a, out) {
    // Subcommands are read here rather than declared, so plain `gdo site` keeps working.
    if (a.pos[0] === 'connect') {
      return cmdConnect(a, out);
    }
    if (a.pos[0] === 'disconnect') return cmdDisconnect(a, out);
    onlyFlags(a, [...READ_FLAGS]);
    noExtraArgs(a, 0);
    return readLedger(a, (l) => {
      const meta = l.get<{ name: string; tz?: string }>('org/meta');
      const members = l.scan<Member>('member/m/').map(([, m]) => m);
      const badges = l.scan<Badge>('badge/b/').map(([, b]) => b);
      const machines = l.scan<Machine>('machine/m/').map(([, m]) => m);
      const keys = l.scan<KeyRecord>('org/key/').map(([, k]) => k).filter((k) => !k.revoked);
      const lockPrefix = lockdownKey('');
      const lockdowns = l.scan<Lockdown>(lockPrefix).filter(([, v]) => v.on).map(([k]) => k.slice(lockPrefix.length));
      const s = ledgerState(l);
      const link = readSiteLinkLoose(dataDir(a));
      const v = {
        name: meta?.name ?? null, org: s.org, tz: meta?.tz ?? null, data: dataDir(a), site_secret: existsSync(siteSecretPath(dataDir(a))),
        members: members.length, suspended: members.filter((m) => m.suspended).length,
        badges: badges.filter((b) => !b.revoked).length, revoked_badges: badges.filter((b) => b.revoked).length,
        doors: l.scan('door/d/').length, schedules: l.scan('door/s/').length,
        machines: machines.length, out_of_service: machines.filter((m) => m.out).length,
        admins: keys.filter((k) => k.kind === 'admin').length, nodes: keys.filter((k) => k.kind === 'node').length,
        lockdowns, anomalies: listAnomalies(l).length,
        events: s.events, heads: s.heads, state_hash: s.stateHash, pending: s.pending,
        link: link ? { broker: link.broker, name: link.name } : null,
      };
      out.result(v, () => [
        `site         ${v.name ?? '(no genesis)'}`, `org          ${v.org ?? '-'}`,
        `time zone    ${v.tz ?? 'UTC (this ledger records no site time zone: made before gdo init --tz)'}`, `data         ${v.data}${v.site_secret ? '' : ' (no site secret)'}`,
        `members      ${v.members} (${v.suspended} suspended)`, `badges       ${v.badges} active, ${v.revoked_badges} revoked`,
        `doors        ${v.doors} (${v.schedules} schedules)`, `machines     ${v.machines} (${v.out_of_service} out of service)`,
        `keys         ${v.admins} admins, ${v.nodes} nodes`,
        `lockdown     ${v.lockdowns.map((d) => (d === '*' ? 'whole site' : d)).join(', ') || 'none'}`,
        `anomalies    ${v.anomalies}${v.anomalies ? ' (gdo access anomalies)' : ''}`,
        `connected    ${v.link ? `${v.link.broker} as ${v.link.name}` : 'no (gdo site connect)'}`,
        `events       ${v.events}${v.pending ? ` (${v.pending} waiting for parents)` : ''}`, `state hash   ${v.state_hash}`,
        `heads        ${v.heads.join('\n             ')}`,
      ].join('\n'));
      return 0;
    });
  },
}];
