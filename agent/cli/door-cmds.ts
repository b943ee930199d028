// `gdo door add | update | list | schedule | lockdown | lift | unlock`: doors, who opens them when
// (access rules naming a group and a weekly schedule), lockdown per door or site-wide, and
// held-unlocked periods (open house). The dapp (dapps/door/index.ts) has the rules; this file turns
// what staff type into its events and refuses malformed input before the passphrase prompt.
import { doorKey, holdKey, lockdownKey, type Door, type Hold, type Lockdown } from '../../dapps/door/index.ts';
import type { Schedule } from '../../dapps/door/schedule.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { list, onlyFlags, str, UsageError, type Args } from './args.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { COMMON_HELP, eventId, idArg, noExtraArgs, READ_FLAGS, readLedger, SIGN_FLAGS, splitList, table, withStaff } from './staff-session.ts';
import { noteFallback, readZone, zoneHeader, zoneOf } from './site-tz.ts';
import { warnEmptyGroups, warnUnknownNode } from './staff-guards.ts';
import { formatWindow, formatZoned, isoOf, parseDate, parseDuration, parseWhen, parseWindow } from './time-args.ts';

const GROUP = /^[a-z0-9][a-z0-9_-]*$/;
const MAX_HOLD_MS = 31 * 86_400_000;

/** `--rule members@open-hours` (group during a schedule) or `--rule staff` (any time). */
function parseRules(a: Args): Array<{ group: string; schedule?: string }> {
  return list(a, 'rule').map((r) => {
    const at = r.indexOf('@');
    const group = at < 0 ? r : r.slice(0, at);
    const schedule = at < 0 ? undefined : r.slice(at + 1);
    if (!GROUP.test(group)) throw new UsageError(`--rule '${r}': '${group}' is not a group (lower-case letters, digits, - and _)`);
    if (schedule === '') throw new UsageError(`--rule '${r}': no schedule after '@'`);
    return schedule === undefined ? { group } : { group, schedule };
  });
}

function doorDetails(a: Args): { name?: string; node?: string; fail?: 'secure' | 'safe'; rules?: Array<{ group: string; schedule?: string }> } {
  const d: ReturnType<typeof doorDetails> = {};
  if (a.flags.has('name')) d.name = str(a, 'name');
  if (a.flags.has('node')) d.node = str(a, 'node');
  if (a.flags.has('fail')) {
    const f = str(a, 'fail');
    if (f !== 'secure' && f !== 'safe') throw new UsageError(`--fail must be secure (stays locked without power) or safe (opens without power), got '${f}'`);
    d.fail = f;
  }
  if (a.flags.has('rule')) d.rules = parseRules(a);
  if (a.flags.get('no-rules') === true) {
    if (d.rules) throw new UsageError('--no-rules and --rule together');
    d.rules = [];
  }
  return d;
}

const ruleText = (r: { group: string; schedule: string | null }): string => (r.schedule ? `${r.group}@${r.schedule}` : r.group);

/** Warnings before signing: a rule no member can use yet, a node no one has. */
function guardDoor(a: Args, l: Ledger, body: ReturnType<typeof doorDetails>, out: Output): void {
  if (body.rules) warnEmptyGroups(l, body.rules.map((r) => r.group), out);
  if (body.node !== undefined) warnUnknownNode(a, l, body.node, 'door', out);
}

async function add(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'id', 'name', 'node', 'fail', 'rule']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the door id');
  const body = { id, ...doorDetails(a), name: str(a, 'name') };
  return withStaff(a, (staff, l) => {
    guardDoor(a, l, body, out);
    const e = staff.addDoor(body);
    const d = l.get<Door>(doorKey(id))!;
    out.result({ event: eventId(e), door: d }, () => `added door '${id}' (${d.name}), fail-${d.fail}, rules: ${d.rules.map(ruleText).join(', ') || 'none (nobody gets in yet)'}`);
    return 0;
  });
}

async function update(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'id', 'name', 'node', 'fail', 'rule', 'no-rules']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the door id');
  const body = { id, ...doorDetails(a) };
  if (Object.keys(body).length === 1) throw new UsageError('nothing to change: give --name, --node, --fail, --rule or --no-rules');
  return withStaff(a, (staff, l) => {
    guardDoor(a, l, body, out);
    const e = staff.updateDoor(body);
    const d = l.get<Door>(doorKey(id))!;
    out.result({ event: eventId(e), door: d }, () => `updated door '${id}': fail-${d.fail}, rules: ${d.rules.map(ruleText).join(', ') || 'none'}`);
    return 0;
  });
}

async function schedule(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'id', 'name', 'tz', 'window', 'holiday']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the schedule id');
  const tz = readZone(a).tz; // --tz, or the site's zone
  const windows = list(a, 'window').map((w) => parseWindow('window', w));
  if (windows.length === 0) throw new UsageError("missing --window (e.g. --window 'mon-fri 08:00-20:00'; repeat it for more)");
  const holidays = list(a, 'holiday').map((h) => parseDate('holiday', h));
  const body = { id, tz, windows, holidays, ...(a.flags.has('name') && { name: str(a, 'name') }) };
  return withStaff(a, (staff, l) => {
    const e = staff.schedule(body);
    const sc = l.get<Schedule>(`door/s/${id}`)!;
    out.result({ event: eventId(e), schedule: sc },
      () => `set schedule '${id}' (${tz}): ${sc.windows.map(formatWindow).join('; ')}${sc.holidays.length ? `; closed ${sc.holidays.join(', ')}` : ''}`);
    return 0;
  });
}

/** --door ID (or the first argument) or --site ('*' in the ledger). */
function doorOrSite(a: Args): string {
  const site = a.flags.get('site') === true;
  if (site) {
    if (a.flags.has('door') || a.pos.length) throw new UsageError('give --door ID or --site, not both');
    return '*';
  }
  if (!a.flags.has('door') && a.pos.length === 0) throw new UsageError('give --door ID or --site');
  return idArg(a, 'door', 'the door id');
}
const where = (d: string): string => (d === '*' ? 'the whole site' : `door '${d}'`);

async function lockdown(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'door', 'site', 'exempt', 'reason']);
  noExtraArgs(a, 1);
  const door = doorOrSite(a);
  const exempt = splitList(list(a, 'exempt'));
  for (const g of exempt) if (!GROUP.test(g)) throw new UsageError(`--exempt '${g}' is not a group (lower-case letters, digits, - and _)`);
  const reason = a.flags.has('reason') ? str(a, 'reason') : undefined;
  return withStaff(a, (staff) => {
    const e = staff.lockdown(door, exempt.length ? exempt : undefined, reason);
    out.result({ event: eventId(e), door, lockdown: true, exempt, reason: reason ?? null },
      () => `lockdown on ${where(door)}: ${exempt.length ? `only ${exempt.join(', ')} get in` : 'nobody gets in'} until gdo door lift`);
    return 0;
  });
}

async function lift(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'door', 'site']);
  noExtraArgs(a, 1);
  const door = doorOrSite(a);
  return withStaff(a, (staff) => {
    const e = staff.liftLockdown(door);
    out.result({ event: eventId(e), door, lockdown: false }, () => `lifted the lockdown of ${where(door)}`);
    return 0;
  });
}

async function unlock(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'door', 'for', 'from', 'to', 'tz', 'cancel']);
  noExtraArgs(a, 1);
  const door = idArg(a, 'door', 'the door id');
  if (a.flags.get('cancel') === true) {
    if (['for', 'from', 'to'].some((f) => a.flags.has(f))) throw new UsageError('--cancel ends every held-unlocked period; it takes no --for, --from or --to');
    return withStaff(a, (staff) => {
      const e = staff.cancelHold(door);
      out.result({ event: eventId(e), door, cancelled: true }, () => `door '${door}' is no longer held unlocked`);
      return 0;
    });
  }
  const zone = readZone(a);
  const tz = zone.tz;
  for (const f of ['from', 'to']) if (a.flags.has(f) && !/[zZ]$|[+-]\d{2}:\d{2}$/.test(str(a, f))) noteFallback(zone, out, f);
  const now = Date.now();
  const from = a.flags.has('from') ? parseWhen('from', str(a, 'from'), tz) : now;
  let to: number;
  if (a.flags.has('for') === a.flags.has('to')) throw new UsageError('give --for DURATION (from now or --from) or --from and --to');
  else if (a.flags.has('for')) to = from + parseDuration('for', str(a, 'for'));
  else to = parseWhen('to', str(a, 'to'), tz);
  if (to <= from) throw new UsageError('--to is not after --from');
  if (to <= now) throw new UsageError(`the period ends in the past (${formatZoned(to, tz)})`);
  if (to - from > MAX_HOLD_MS) throw new UsageError('a held-unlocked period lasts at most 31 days');
  return withStaff(a, (staff) => {
    const e = staff.hold(door, from, to);
    out.result({ event: eventId(e), door, from: isoOf(from), to: isoOf(to) },
      () => `door '${door}' held unlocked from ${formatZoned(from, tz)} to ${formatZoned(to, tz)} (${tz}); end it early with gdo door unlock ${door} --cancel`);
    return 0;
  });
}

interface DoorRow {
  id: string; name: string; node: string | null; fail: 'secure' | 'safe'; rules: Array<{ group: string; schedule: string | null }>;
  lockdown: { door: string; exempt: string[]; reason: string | null } | null; holds: Array<{ from: string; to: string }>;
}

function lockdownOf(l: Ledger, door: string): DoorRow['lockdown'] {
  for (const d of [door, '*']) {
    const lk = l.get<Lockdown>(lockdownKey(d));
    if (lk?.on) return { door: d, exempt: lk.exempt, reason: lk.reason };
  }
  return null;
}

function listDoors(a: Args, out: Output): number {
  onlyFlags(a, [...READ_FLAGS, 'tz']);
  noExtraArgs(a, 0);
  return readLedger(a, (l) => {
    const zone = zoneOf(a, l);
    const tz = zone.tz;
    const now = Date.now();
    const doors: DoorRow[] = l.scan<Door>('door/d/').map(([, d]) => ({
      ...d, lockdown: lockdownOf(l, d.id),
      holds: (l.get<Hold[]>(holdKey(d.id)) ?? []).filter((h) => h.to > now).map((h) => ({ from: isoOf(h.from)!, to: isoOf(h.to)! })),
    }));
    const schedules = l.scan<Schedule>('door/s/').map(([, s]) => s);
    const site = l.get<Lockdown>(lockdownKey('*'));
    const siteLockdown = site?.on ? { exempt: site.exempt, reason: site.reason } : null;
    out.result({ doors, schedules, site_lockdown: siteLockdown }, () => [
      table(['DOOR', 'NAME', 'NODE', 'FAIL', 'RULES', 'STATE'], doors.map((d) => [d.id, d.name, d.node ?? '-', d.fail, d.rules.map(ruleText).join(',') || '-',
        d.lockdown ? `lockdown${d.lockdown.door === '*' ? ' (site)' : ''}` : d.holds.length ? `held unlocked ${d.holds.map((h) => `${formatZoned(Date.parse(h.from), tz)}..${formatZoned(Date.parse(h.to), tz)}`).join(', ')}` : 'normal'])),
      ...(doors.some((d) => d.holds.length) ? [`(${zoneHeader(zone)})`] : []),
      '',
      table(['SCHEDULE', 'TZ', 'WINDOWS', 'HOLIDAYS'], schedules.map((s) => [s.id, s.tz, s.windows.map(formatWindow).join('; '), s.holidays.join(',') || '-'])),
      ...(siteLockdown ? ['', `SITE LOCKDOWN${siteLockdown.exempt.length ? ` (exempt: ${siteLockdown.exempt.join(', ')})` : ''}${siteLockdown.reason ? `: ${siteLockdown.reason}` : ''}`] : []),
    ].join('\n'));
    return 0;
  });
}

export const doorCommands: Command[] = [{
  name: 'door',
  summary: 'doors: add, rules and schedules, lockdown and lift, hold unlocked for a period',
  subcommands: ['add', 'update', 'list', 'schedule', 'lockdown', 'lift', 'unlock'],
  booleans: ['site', 'cancel', 'no-rules'],
  help: `usage: gdo door <subcommand> ...
  add ID --name NAME [--node NODE] [--fail secure|safe] [--rule GROUP[@SCHEDULE]]...
                       a door; each --rule lets a member group in, during a schedule or at any time.
                       --fail: what the strike does without power (default secure: stays locked)
  update ID [--name NAME] [--node NODE] [--fail secure|safe] [--rule ...]... [--no-rules]
                       --rule replaces all of the door's rules; --no-rules removes them.
                       A warning (not a refusal) names a rule's group that no member is in yet, and a
                       --node that no enrolled or provisioned node has.
  list [--tz TZ]       doors, their rules and state (normal, lockdown, held unlocked), schedules
  schedule ID [--tz TZ] --window 'DAYS HH:MM-HH:MM'... [--holiday YYYY-MM-DD]... [--name NAME]
                       creates or replaces a weekly schedule in an IANA time zone (default the site's,
                       gdo init --tz). DAYS: mon..sun,
                       ranges (mon-fri), lists (sat,sun), daily, weekdays, weekends; to may be 24:00.
                       On a holiday the schedule grants nothing. Give every window each time.
  lockdown (--door ID | --site) [--exempt GROUP]... [--reason TEXT]
                       only the exempt groups get in, whatever the schedules (wins over concurrent changes)
  lift (--door ID | --site)
                       ends a lockdown
  unlock ID (--for DURATION [--from TIME] | --from TIME --to TIME) [--tz TZ]
                       holds the door unlocked (open house), at most 31 days; DURATION: 2h, 90m, 1d, 1h30m.
                       TIME: 'YYYY-MM-DD HH:MM' in --tz (default the site's zone, gdo init --tz) or ISO
                       with an offset
  unlock ID --cancel   ends every held-unlocked period of the door now
${COMMON_HELP}`,
  run(sub, a, out) {
    switch (sub) {
      case 'add': return add(a, out);
      case 'update': return update(a, out);
      case 'list': return listDoors(a, out);
      case 'schedule': return schedule(a, out);
      case 'lockdown': return lockdown(a, out);
      case 'lift': return lift(a, out);
      case 'unlock': return unlock(a, out);
      default: throw new UsageError(`unknown subcommand 'gdo door ${sub ?? ''}'`);
    }
  },
}];
