// `gdo member add | list | show | update | suspend | reinstate | export`: the people of the maker space,
// signed with the operator's key through Staff (agent/access/staff.ts). Export writes the CSV that
// `gdo access import` reads (agent/access/csv-import.ts), with the badge column empty: the ledger
// holds only keyed hashes of badges, never their UIDs.
import { renameSync, writeFileSync } from 'node:fs';
import type { Staff } from '../access/staff.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import type { Cert, Role } from '../../dapps/machine/index.ts';
import type { Member } from '../../dapps/member/index.ts';
import { list, onlyFlags, str, UsageError, type Args } from './args.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { COMMON_HELP, eventId, idArg, noExtraArgs, READ_FLAGS, readLedger, shortHash, SIGN_FLAGS, splitList, table, withStaff } from './staff-session.ts';
import { noteFallback, readZone, zoneHeader, zoneOf, type Zone } from './site-tz.ts';
import { getMember, refusePast, refuseTwin, warnPast } from './staff-guards.ts';
import { dateOf, formatUntil, isoOf, parseUntil } from './time-args.ts';

export interface MemberRow {
  id: string; name: string; email: string | null; groups: string[]; until: string | null;
  suspended: boolean; reason: string | null; badges: number;
}

function activeBadges(l: Ledger, member: string): string[] {
  return l.scan(`badge/by/${member}/`).map(([k]) => k.slice(k.lastIndexOf('/') + 1))
    .filter((h) => { const b = l.get<Badge>(badgeKey(h)); return b !== undefined && !b.revoked && b.member === member; });
}

function rowOf(l: Ledger, m: Member): MemberRow {
  return { id: m.id, name: m.name, email: m.email, groups: m.groups, until: isoOf(m.until), suspended: m.suspended, reason: m.reason, badges: activeBadges(l, m.id).length };
}

const status = (m: { suspended: boolean; until: string | null }): string =>
  m.suspended ? 'suspended' : m.until !== null && Date.parse(m.until) < Date.now() ? 'expired' : 'active';

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The CSV `gdo access import` reads; the badge column stays empty (only hashes are known). `until` is a date in `tz`, the site's zone. */
export function membersCsv(members: Member[], tz = 'UTC'): string {
  const lines = ['id,name,email,groups,until,badge'];
  for (const m of members) lines.push([m.id, m.name, m.email ?? '', m.groups.join(';'), dateOf(m.until, tz), ''].map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

function detailsOf(a: Args): { name?: string; email?: string; groups?: string[]; until?: number } {
  const d: { name?: string; email?: string; groups?: string[]; until?: number } = {};
  if (a.flags.has('name')) d.name = str(a, 'name');
  if (a.flags.has('email')) d.email = str(a, 'email');
  if (a.flags.has('groups')) d.groups = splitList(list(a, 'groups'));
  return d;
}

/** --until as the site reads it (a date is the end of that day in the site's zone), or undefined. */
function untilOf(a: Args, zone: Zone, out: Output): number | undefined {
  if (!a.flags.has('until') || a.flags.get('until') === 'none') return undefined;
  const text = str(a, 'until');
  if (!/[zZ]$|[+-]\d{2}:\d{2}$/.test(text)) noteFallback(zone, out, 'until');
  return parseUntil('until', text, zone.tz);
}

async function add(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'id', 'name', 'email', 'groups', 'until', 'tz']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the member id');
  const details = { ...detailsOf(a), name: str(a, 'name') };
  // Refused before the passphrase: an id that differs from a member's only in case (the ledger
  // would refuse it too, exit 3), and a membership that would end before it begins.
  const zone = readLedger(a, (l) => { refuseTwin(l, id); return zoneOf(a, l); });
  const until = untilOf(a, zone, out);
  if (until !== undefined) refusePast('until', until, zone.tz, 'the member would be expired from the start (give a future date, or leave --until out for an open-ended membership)');
  const body = { id, ...details, ...(until !== undefined && { until }) };
  return withStaff(a, (staff, l) => {
    const e = staff.addMember(body);
    const row = rowOf(l, getMember(l, id));
    out.result({ event: eventId(e), member: row }, () => `added member '${id}' (${row.name})`);
    return 0;
  });
}

async function update(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'id', 'name', 'email', 'groups', 'add-group', 'remove-group', 'until', 'tz']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the member id');
  const body: Parameters<Staff['updateMember']>[0] = { id, ...detailsOf(a) };
  const adds = splitList(list(a, 'add-group'));
  const removes = splitList(list(a, 'remove-group'));
  if (!['name', 'email', 'groups', 'add-group', 'remove-group', 'until'].some((f) => a.flags.has(f))) {
    throw new UsageError('nothing to change: give --name, --email, --groups, --add-group, --remove-group or --until');
  }
  if (body.groups && (adds.length || removes.length)) throw new UsageError('--groups replaces the groups; do not combine it with --add-group or --remove-group');
  const zone = readZone(a);
  if (a.flags.has('until')) {
    if (str(a, 'until') === 'none') body.open_ended = true;
    else {
      body.until = untilOf(a, zone, out)!;
      warnPast('until', body.until, zone.tz, `member '${id}''s membership ends at once (doors and machines refuse them from now on)`, out);
    }
  }
  return withStaff(a, (staff, l) => {
    const m = getMember(l, id);
    if (adds.length || removes.length) body.groups = [...new Set([...m.groups, ...adds])].filter((g) => !removes.includes(g));
    const e = staff.updateMember(body);
    const row = rowOf(l, getMember(l, id));
    out.result({ event: eventId(e), member: row }, () => `updated member '${id}': groups ${row.groups.join(',') || '-'}, until ${row.until === null ? 'open-ended' : `${formatUntil(Date.parse(row.until), zone.tz)} (${zone.tz})`}`);
    return 0;
  });
}

async function suspend(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'id', 'reason']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the member id');
  const reason = a.flags.has('reason') ? str(a, 'reason') : undefined;
  return withStaff(a, (staff) => {
    const e = staff.suspend(id, reason);
    out.result({ event: eventId(e), member: id, suspended: true, reason: reason ?? null }, () => `suspended member '${id}'${reason ? ` (${reason})` : ''}: every door and machine refuses them`);
    return 0;
  });
}

async function reinstate(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'id']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the member id');
  return withStaff(a, (staff) => {
    const e = staff.reinstate(id);
    out.result({ event: eventId(e), member: id, suspended: false }, () => `reinstated member '${id}'`);
    return 0;
  });
}

function listMembers(a: Args, out: Output): number {
  onlyFlags(a, [...READ_FLAGS, 'group', 'suspended', 'tz']);
  noExtraArgs(a, 0);
  const groups = splitList(list(a, 'group'));
  const onlySuspended = a.flags.get('suspended') === true;
  return readLedger(a, (l) => {
    const zone = zoneOf(a, l);
    const rows = l.scan<Member>('member/m/').map(([, m]) => rowOf(l, m))
      .filter((r) => (!onlySuspended || r.suspended) && groups.every((g) => r.groups.includes(g)));
    out.result(rows, () => `${table(['ID', 'NAME', 'GROUPS', 'UNTIL', 'STATUS', 'BADGES'],
      rows.map((r) => [r.id, r.name, r.groups.join(',') || '-', r.until === null ? '-' : formatUntil(Date.parse(r.until), zone.tz), status(r), String(r.badges)]))}${rows.some((r) => r.until !== null) ? `\n(${zoneHeader(zone)})` : ''}`);
    return 0;
  });
}

function show(a: Args, out: Output): number {
  onlyFlags(a, [...READ_FLAGS, 'id', 'tz']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the member id');
  return readLedger(a, (l) => {
    const zone = zoneOf(a, l);
    const when = (iso: string): string => formatUntil(Date.parse(iso), zone.tz);
    const m = getMember(l, id);
    const badges = l.scan(`badge/by/${id}/`).map(([k]) => l.get<Badge>(badgeKey(k.slice(k.lastIndexOf('/') + 1)))!)
      .filter((b) => b.member === id).map((b) => ({ badge: shortHash(b.badge), revoked: b.revoked, reason: b.reason }));
    const certificates = l.scan<Cert>('machine/cert/').filter(([k, c]) => c.on && k.endsWith(`/${id}`))
      .map(([k, c]) => ({ machine: k.split('/')[2]!, until: isoOf(c.until), trainer: c.trainer, by: c.by }));
    const roles = l.scan<Role>('machine/role/').filter(([k, r]) => r.on && k.endsWith(`/${id}`))
      .map(([k]) => ({ machine: k.split('/')[2]!, role: k.split('/')[3]! }));
    const row = rowOf(l, m);
    const v = { ...row, version: m.ver, badges, certificates, roles };
    out.result(v, () => [
      `member     ${row.id}`, `name       ${row.name}`, `email      ${row.email ?? '-'}`, `groups     ${row.groups.join(', ') || '-'}`,
      `until      ${row.until === null ? 'open-ended' : when(row.until)}`, `status     ${status(row)}${row.reason ? ` (${row.reason})` : ''}`,
      `badges     ${badges.map((b) => `${b.badge}${b.revoked ? ` revoked${b.reason ? ` (${b.reason})` : ''}` : ''}`).join(', ') || '-'}`,
      `certified  ${certificates.map((c) => `${c.machine}${c.until ? ` until ${when(c.until)}` : ''}`).join(', ') || '-'}`,
      `roles      ${roles.map((r) => `${r.role} of ${r.machine}`).join(', ') || '-'}`,
      ...(row.until !== null || certificates.some((c) => c.until) ? [`(${zoneHeader(zone)})`] : []),
    ].join('\n'));
    return 0;
  });
}

function exportCsv(a: Args, out: Output): number {
  onlyFlags(a, [...READ_FLAGS, 'out', 'tz']);
  noExtraArgs(a, 0);
  const file = a.flags.has('out') ? str(a, 'out') : undefined;
  if (out.json && file === undefined) throw new UsageError('--json needs --out FILE (without it the CSV itself goes to stdout)');
  return readLedger(a, (l) => {
    const members = l.scan<Member>('member/m/').map(([, m]) => m);
    const csv = membersCsv(members, zoneOf(a, l).tz);
    if (file === undefined) { process.stdout.write(csv); return 0; }
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, csv, { mode: 0o600 });
    renameSync(tmp, file);
    out.result({ file, members: members.length }, () => `wrote ${members.length} members to ${file} (badge column empty: the ledger holds only badge hashes)`);
    return 0;
  });
}

export const memberCommands: Command[] = [{
  name: 'member',
  summary: 'members: add, list, show, update, suspend, reinstate, export as CSV',
  subcommands: ['add', 'list', 'show', 'update', 'suspend', 'reinstate', 'export'],
  booleans: ['suspended'],
  help: `usage: gdo member <subcommand> ...
  add ID --name NAME [--email E] [--groups G,G] [--until YYYY-MM-DD]
                       a new member; groups are access groups door rules name (lower case)
  list [--group G] [--suspended]
                       every member with groups, end of membership, status, active badge count
  show ID              one member: details, badges (hash prefixes), certificates, machine roles
  update ID [--name NAME] [--email E] [--groups G,G | --add-group G --remove-group G]
            [--until YYYY-MM-DD | --until none]
                       change details; --groups replaces them all, --until none makes it open-ended
  suspend ID [--reason TEXT]
                       every door and machine refuses the member (wins over concurrent changes)
  reinstate ID         lifts a suspension (refused, exit 3, when the member is not suspended)
  export [--out FILE]  CSV with the columns gdo access import reads: id,name,email,groups,until,badge.
                       The badge column is left empty: the ledger holds only keyed hashes of badges,
                       never their UIDs, so badges must be re-entered (or kept) when importing elsewhere.
                       Suspensions are not part of the CSV.
--until is the last day of the membership: it ends at midnight at the end of that day in the site's time
zone (gdo init --tz; --tz ZONE overrides). 'YYYY-MM-DD HH:MM' (site zone) or ISO with an offset name an
exact end. A date already past is refused by add and warned about by update. Listings show times in the
site's zone; --json carries ISO times in UTC.
Member ids are unique regardless of case: 'Alice' is refused (exit 3) while 'alice' exists.
${COMMON_HELP}`,
  run(sub, a, out) {
    switch (sub) {
      case 'add': return add(a, out);
      case 'update': return update(a, out);
      case 'suspend': return suspend(a, out);
      case 'reinstate': return reinstate(a, out);
      case 'list': return listMembers(a, out);
      case 'show': return show(a, out);
      case 'export': return exportCsv(a, out);
      default: throw new UsageError(`unknown subcommand 'gdo member ${sub ?? ''}'`);
    }
  },
}];
