// `gdo access check | log | anomalies | import`: what staff ask of the access layer on a data
// directory. Badge UIDs are read from the command line, hashed with the site secret at once, and
// never printed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccessService, type AccessDecision } from '../access/decide.ts';
import { readUid } from './staff-session.ts';
import { CsvImportError, importCsv } from '../access/csv-import.ts';
import { LedgerError } from '../ledger/errors.ts';
import { REASONS } from '../access/reasons.ts';
import { Signer } from '../ledger/crypto.ts';
import { decodeEvent, hex } from '../ledger/event.ts';
import { formatHlc } from '../ledger/hlc.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { listAnomalies } from '../../dapps/access/anomaly.ts';
import { readSiteSecret } from '../enrol/site-secret.ts';
import { int, onlyFlags, str, UsageError, type Args } from './args.ts';
import { unlockKeyFile } from './keyfile.ts';
import { dataDir, openLedger } from './ledger-cmds.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { noteFallback, zoneHeader, zoneOf, type Zone } from './site-tz.ts';
import { getMember } from './staff-guards.ts';
import { endOfDay, formatZoned, parseWhen } from './time-args.ts';
import { DeskPush, PUSH_FLAG, withPushOutput } from './desk-push.ts';

function siteSecret(a: Args): Buffer {
  const s = readSiteSecret(dataDir(a));
  if (!s) throw new UsageError(`no site secret in ${dataDir(a)} (it is made by 'gdo init'; restore it from a backup)`);
  return s;
}

const HAS_OFFSET = /(?:[zZ]|[+-]\d{2}:\d{2})$/;

/** A time option (--at, --since) read in the zone: ISO with an offset, or 'YYYY-MM-DD HH:MM' there. */
function timeArg(a: Args, flag: string, zone: Zone, out: Output): Date {
  const text = str(a, flag);
  if (!HAS_OFFSET.test(text)) noteFallback(zone, out, flag);
  return new Date(parseWhen(flag, text, zone.tz));
}

function shownDecision(d: AccessDecision): Omit<AccessDecision, 'known'> {
  const { known: _k, ...shown } = d;
  void _k;
  return shown;
}

/** 'ALLOW  door:front at 2026-12-08 14:03 CET: allowed', then the member and the rule. */
function decisionText(d: AccessDecision, where: string): string[] {
  return [
    `${d.allow ? 'ALLOW' : 'DENY'}  ${where}: ${REASONS[d.reason]}`,
    ...(d.memberId ? [`member: ${d.memberId}${d.roles?.length ? ` (${d.roles.join(', ')})` : ''}`] : []),
    ...(d.rule ? [`rule:   ${d.rule}`] : []),
  ];
}

function check(a: Args, out: Output): number {
  onlyFlags(a, ['data', 'uid', 'member', 'resource', 'at', 'tz', 'json']);
  const resource = str(a, 'resource');
  if (!/^(?:door|machine):./.test(resource)) throw new UsageError(`--resource '${resource}' must be door:<id> or machine:<id>`);
  if (a.flags.has('uid') === a.flags.has('member')) throw new UsageError('give exactly one of --uid HEX (a card) or --member ID (that member\'s badges)');
  const uid = a.flags.has('uid') ? readUid(a, 'uid') : undefined;
  const l = openLedger(a);
  try {
    const zone = zoneOf(a, l);
    const at = a.flags.has('at') ? timeArg(a, 'at', zone, out) : new Date();
    const where = `${resource} at ${formatZoned(at.getTime(), zone.tz)}`;
    const svc = new AccessService({ ledger: l, nodeKey: null, siteSecret: siteSecret(a), policy: { maxOfflineMs: null, clock: 'allow_known' } });
    if (uid !== undefined) {
      const d = svc.decide({ credential: uid, resource, at });
      out.result({ ...shownDecision(d), at: at.toISOString(), resource }, () => decisionText(d, where).join('\n'));
      return d.allow ? 0 : 1;
    }
    // --member: the decision for each of the member's badges, as if it were presented then.
    const member = getMember(l, str(a, 'member')).id;
    const badges = l.scan(`badge/by/${member}/`).map(([k]) => l.get<Badge>(badgeKey(k.slice(k.lastIndexOf('/') + 1)))!).filter((b) => b.member === member);
    const decisions = badges.map((b) => shownDecision(svc.decide({ badge: b.badge, resource, at })));
    const allow = decisions.some((d) => d.allow);
    out.result({ member, resource, at: at.toISOString(), allow, decisions: decisions.map((d) => ({ ...d, badge: d.badge?.slice(0, 12) })) }, () => [
      ...(decisions.length === 0 ? [`DENY  ${where}: member ${member} has no badge (gdo badge assign --member ${member} --uid HEX)`] : []),
      ...decisions.flatMap((d) => [...decisionText(d, where), `badge:  ${d.badge!.slice(0, 12)}`]),
    ].join('\n'));
    return allow ? 0 : 1;
  } finally { l.close(); }
}

interface LogRow { id: string; hlc: string; time: string; local: string; node: string; kind: string; resource: string; allow: string; reason: string; member: string; rule: string; detail: string }

function* logRows(l: Ledger, tz: string): Generator<LogRow> {
  const names = new Map<string, string>();
  const nodeName = (key: string): string => {
    let n = names.get(key);
    if (n === undefined) { n = l.get<{ name: string }>(`org/key/${key}`)?.name ?? key.slice(0, 12); names.set(key, n); }
    return n;
  };
  for (const raw of l.events()) {
    const e = decodeEvent(raw);
    if (e.dapp !== 'access') continue;
    const b = e.body as Record<string, unknown>;
    const s = (k: string): string => (b[k] === undefined ? '' : String(b[k]));
    yield {
      id: hex(e.id), hlc: formatHlc(e.hlc), time: new Date(e.hlc.ms).toISOString(), local: formatZoned(e.hlc.ms, tz), node: nodeName(hex(e.author)), kind: e.type,
      resource: s('resource'), allow: e.type === 'decision' ? (b['allow'] ? 'allow' : 'deny') : '', reason: s('reason') || s('kind') || s('end_reason'),
      member: s('member'), rule: s('rule'), detail: e.type === 'session' ? `${s('duration_ms')} ms` : s('detail'),
    };
  }
}

const csvField = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

function log(a: Args, out: Output): number {
  onlyFlags(a, ['data', 'limit', 'csv', 'member', 'resource', 'since', 'kind', 'tz', 'json']);
  const limit = int(a, 'limit', a.flags.has('csv') ? Number.MAX_SAFE_INTEGER : 50);
  const member = a.flags.has('member') ? str(a, 'member') : undefined;
  const resource = a.flags.has('resource') ? str(a, 'resource') : undefined;
  const kind = a.flags.has('kind') ? str(a, 'kind') : undefined;
  if (kind !== undefined && !['decision', 'alarm', 'note', 'session'].includes(kind)) throw new UsageError(`--kind '${kind}': expected decision, alarm, note or session`);
  const l = openLedger(a);
  try {
    const zone = zoneOf(a, l);
    const since = a.flags.has('since') ? timeArg(a, 'since', zone, out).toISOString() : '';
    const rows: LogRow[] = [];
    for (const r of logRows(l, zone.tz)) {
      if ((member && r.member !== member) || (resource && r.resource !== resource) || (kind && r.kind !== kind) || r.time < since) continue;
      rows.push(r);
      if (rows.length > limit) rows.shift();
    }
    if (a.flags.has('csv')) {
      const cols = ['time', 'node', 'kind', 'resource', 'allow', 'reason', 'member', 'rule', 'detail', 'id', 'local'] as const;
      process.stdout.write(`${cols.join(',')}\n`);
      for (const r of rows) process.stdout.write(`${cols.map((c) => csvField(r[c])).join(',')}\n`);
      return 0;
    }
    out.result(rows, () => (rows.length ? `(${zoneHeader(zone)})\n` : '') + rows.map((r) => `${r.local.padEnd(20)}  ${r.node.padEnd(12)} ${r.kind.padEnd(8)} ${r.resource.padEnd(16)} ${r.allow.padEnd(5)} ${r.reason.padEnd(20)} ${r.member}`).join('\n') || '(no access events)');
    return 0;
  } finally { l.close(); }
}

function anomalies(a: Args, out: Output): number {
  onlyFlags(a, ['data', 'tz', 'json']);
  const l = openLedger(a);
  try {
    const zone = zoneOf(a, l);
    const t = (ms: number): string => formatZoned(ms, zone.tz);
    const offline = listAnomalies(l);
    const soft = l.softFailed();
    const eq = l.equivocations();
    out.result({ offline_grants: offline, soft_failed: soft, equivocations: eq }, () => [
      `${offline.length} grant(s) made offline after a revocation the node could not know${offline.length ? ` (${zoneHeader(zone)})` : ''}:`,
      ...offline.map((x) => `  ${t(x.granted_at.ms)}  ${x.node} granted ${x.member} at ${x.resource}; ${x.revocation_kind} at ${t(x.revoked_at.ms)} (${x.revocation.slice(0, 12)}); event ${x.grant.slice(0, 12)}`),
      `${soft.length} event(s) kept but not applied after a merge:`,
      ...soft.map((x) => `  ${x.id.slice(0, 12)} ${x.dapp}/${x.type}: ${x.reason}`),
      `${eq.length} equivocation(s) (a key that signed two events at one sequence number):`,
      ...eq.map((x) => `  author ${x.author.slice(0, 12)} seq ${x.seq}: ${x.a.slice(0, 12)} / ${x.b.slice(0, 12)}`),
    ].join('\n'));
    return 0;
  } finally { l.close(); }
}

async function importCmd(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['data', 'key', 'passphrase-file', 'tz', 'json', PUSH_FLAG]);
  const file = a.pos[0];
  if (!file) throw new UsageError('gdo access import FILE.csv: missing FILE');
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new UsageError(`cannot read ${file}: ${(e as Error).message}`); }
  const secret = siteSecret(a);
  const keyPath = str(a, 'key', join(dataDir(a), 'operator.key'));
  const pair = await unlockKeyFile(keyPath, a.flags, `operator key ${keyPath}`);
  const l = openLedger(a);
  // With a connected site (gdo site connect) the import is sent to the hub like every staff change.
  let push: DeskPush | null = null;
  try {
    push = await DeskPush.open(a, l);
    return await withPushOutput(a, push, () => {
      const tz = zoneOf(a, l).tz;
      const untilEnd = (d: string): number => {
        try { return endOfDay('until', d, tz); } catch { throw new UsageError(`${file}: until '${d}' is not a date YYYY-MM-DD`); }
      };
      let summary: ReturnType<typeof importCsv>;
      try { summary = importCsv(l, new Signer(pair), text, secret, untilEnd); } catch (e) {
        // Exit codes (README): the ledger refused a line's event, 3; the file itself is wrong, 2.
        if (e instanceof CsvImportError) throw e.rejection ? new LedgerError(e.rejection, e.message) : new UsageError(`${file}: ${e.message}`);
        throw e;
      }
      out.result(summary, () => `imported ${file}: ${summary.members_added} member(s) added, ${summary.members_updated} updated, ${summary.badges_assigned} badge(s) assigned (${summary.events} events, one transaction)`);
      return 0;
    });
  } finally {
    await push?.close();
    l.close();
  }
}

export const accessCommands: Command[] = [{
  name: 'access',
  summary: 'check a badge, read the access log (CSV too), list anomalies, import members from CSV',
  subcommands: ['check', 'log', 'anomalies', 'import'],
  booleans: ['csv'],
  help: `usage: gdo access <check|log|anomalies|import> [--data DIR] [--json]
  check (--uid HEX|- | --member ID) --resource door:ID|machine:ID [--at TIME] [--tz ZONE]
        what the ledger decides for that card there and then, with the reason and the rule that
        matched (exit 0 allow, 1 deny). The UID is hashed with the site secret and never shown;
        - reads it from standard input. --member: the decision for each of that member's badges,
        without the card (exit 0 when one of them is allowed).
  log [--limit N] [--member ID] [--resource R] [--kind decision|alarm|note|session] [--since TIME] [--csv]
        decisions, alarms and machine sessions signed by the nodes; --csv writes them all as CSV
        (time: ISO in UTC; the last column, local, in the site's zone)
  anomalies
        grants made offline after a revocation the node could not know, events kept but not
        applied after a merge, and equivocations
  import FILE.csv [--key FILE] [--passphrase-file F]
        members and badges from CSV (columns id,name,email,groups,until,badge), all or nothing;
        an error names the offending line; until is the end of that day in the site's zone;
        with a connected site (gdo site connect) the import is sent to the hub (--push-wait S, 5)
TIME: 'YYYY-MM-DD HH:MM' in the site's zone (gdo init --tz; --tz ZONE overrides), or ISO with an
offset (2026-11-21T18:30+01:00). Text output shows times in the site's zone, labelled; --json
carries ISO times in UTC.`,
  run: (sub, a, out) => {
    switch (sub) {
      case 'check': return check(a, out);
      case 'log': return log(a, out);
      case 'anomalies': return anomalies(a, out);
      case 'import': return importCmd(a, out);
      default: throw new UsageError(`gdo access ${sub ?? ''}: unknown subcommand`);
    }
  },
}];
