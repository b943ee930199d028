// `gdo machine add | list | show | trainer | maintainer | out | in`, `gdo certify` and `gdo decertify`:
// machines behind lockout relays, who trains and maintains each, who may run it, and tag-out.
// At the machine a trainer certifies through the machine's node (dapps/machine/index.ts); these
// commands are the admin's path, signed with the operator's key.
import { certKey, machineKey, ROLES, type Cert, type Machine, type MachineRole, type Role } from '../../dapps/machine/index.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { int, onlyFlags, str, UsageError, type Args } from './args.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { COMMON_HELP, eventId, idArg, noExtraArgs, READ_FLAGS, readLedger, SIGN_FLAGS, table, withStaff } from './staff-session.ts';
import { noteFallback, readZone, zoneHeader, zoneOf } from './site-tz.ts';
import { refusePast, warnUnknownNode } from './staff-guards.ts';
import { didYouMean } from './suggest.ts';
import { formatUntil, isoOf, parseUntil } from './time-args.ts';

function getMachine(l: Ledger, id: string): Machine {
  const m = l.get<Machine>(machineKey(id));
  if (!m) throw new Error(`machine '${id}' does not exist (see gdo machine list)`);
  return m;
}

function holders(l: Ledger, machine: string, role: MachineRole): string[] {
  const prefix = `machine/role/${machine}/${role}/`;
  return l.scan<Role>(prefix).filter(([, r]) => r.on).map(([k]) => k.slice(prefix.length));
}

function certified(l: Ledger, machine: string): Array<{ member: string; until: string | null; trainer: string | null; by: string }> {
  const prefix = `machine/cert/${machine}/`;
  return l.scan<Cert>(prefix).filter(([, c]) => c.on).map(([k, c]) => ({ member: k.slice(prefix.length), until: isoOf(c.until), trainer: c.trainer, by: c.by }));
}

function rowOf(l: Ledger, m: Machine) {
  return {
    id: m.id, name: m.name, node: m.node, cert_required: m.cert_required, cert_days: m.cert_days, out: m.out, out_reason: m.out_reason,
    trainers: holders(l, m.id, 'trainer'), maintainers: holders(l, m.id, 'maintainer'), certified: certified(l, m.id).length,
  };
}

async function add(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'id', 'name', 'node', 'no-cert', 'cert-days']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'id', 'the machine id');
  const body = {
    id, name: str(a, 'name'),
    ...(a.flags.has('node') && { node: str(a, 'node') }),
    ...(a.flags.get('no-cert') === true && { cert_required: false }),
    ...(a.flags.has('cert-days') && { cert_days: int(a, 'cert-days', 0) }),
  };
  if (body.cert_days === 0) throw new UsageError('--cert-days must be at least 1 (leave it out for certificates that do not expire)');
  return withStaff(a, (staff, l) => {
    if (body.node !== undefined) warnUnknownNode(a, l, body.node, 'machine', out);
    const e = staff.addMachine(body);
    const m = getMachine(l, id);
    out.result({ event: eventId(e), machine: rowOf(l, m) },
      () => `added machine '${id}' (${m.name}), ${m.cert_required ? `certificate required${m.cert_days ? `, valid ${m.cert_days} days` : ''}` : 'no certificate needed'}`);
    return 0;
  });
}

/** `gdo machine trainer add --machine M --member X` and the same for maintainers. */
async function role(role: MachineRole, a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'machine', 'member']);
  const verb = a.pos[0];
  if (verb !== 'add' && verb !== 'remove') throw new UsageError(`usage: gdo machine ${role} add|remove --machine ID --member ID${verb === undefined ? '' : didYouMean(verb, ['add', 'remove'])}`);
  noExtraArgs(a, 1);
  const machine = str(a, 'machine');
  const member = str(a, 'member');
  return withStaff(a, (staff) => {
    const e = staff.setRole(machine, member, role, verb === 'add');
    out.result({ event: eventId(e), machine, member, role, on: verb === 'add' },
      () => (verb === 'add' ? `'${member}' is now a ${role} of '${machine}'` : `'${member}' is no longer a ${role} of '${machine}'`));
    return 0;
  });
}

async function outOfService(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'machine', 'reason']);
  noExtraArgs(a, 1);
  const machine = idArg(a, 'machine', 'the machine id');
  const reason = str(a, 'reason');
  return withStaff(a, (staff) => {
    const e = staff.outOfService(machine, reason);
    out.result({ event: eventId(e), machine, out: true, reason }, () => `machine '${machine}' is out of service (${reason}): nobody can start it`);
    return 0;
  });
}

async function backInService(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'machine']);
  noExtraArgs(a, 1);
  const machine = idArg(a, 'machine', 'the machine id');
  return withStaff(a, (staff) => {
    const e = staff.backInService(machine);
    out.result({ event: eventId(e), machine, out: false }, () => `machine '${machine}' is back in service`);
    return 0;
  });
}

function listMachines(a: Args, out: Output): number {
  onlyFlags(a, [...READ_FLAGS]);
  noExtraArgs(a, 0);
  return readLedger(a, (l) => {
    const rows = l.scan<Machine>('machine/m/').map(([, m]) => rowOf(l, m));
    out.result(rows, () => table(['MACHINE', 'NAME', 'NODE', 'CERT', 'STATE', 'TRAINERS', 'MAINTAINERS', 'CERTIFIED'], rows.map((r) => [
      r.id, r.name, r.node ?? '-', r.cert_required ? (r.cert_days ? `${r.cert_days}d` : 'yes') : 'no',
      r.out ? `out (${r.out_reason})` : 'in service', r.trainers.join(',') || '-', r.maintainers.join(',') || '-', String(r.certified)])));
    return 0;
  });
}

function show(a: Args, out: Output): number {
  onlyFlags(a, [...READ_FLAGS, 'machine', 'tz']);
  noExtraArgs(a, 1);
  const id = idArg(a, 'machine', 'the machine id');
  return readLedger(a, (l) => {
    const zone = zoneOf(a, l);
    const row = rowOf(l, getMachine(l, id));
    const certs = certified(l, id);
    out.result({ ...row, certified: certs }, () => [
      `machine      ${row.id} (${row.name})`, `node         ${row.node ?? '-'}`,
      `certificate  ${row.cert_required ? `required${row.cert_days ? `, valid ${row.cert_days} days` : ''}` : 'not needed'}`,
      `state        ${row.out ? `out of service (${row.out_reason})` : 'in service'}`,
      `trainers     ${row.trainers.join(', ') || '-'}`, `maintainers  ${row.maintainers.join(', ') || '-'}`,
      `certified    ${certs.map((c) => `${c.member}${c.until ? ` until ${formatUntil(Date.parse(c.until), zone.tz)}` : ''}`).join(', ') || '-'}`,
      ...(certs.some((c) => c.until) ? [`(${zoneHeader(zone)})`] : []),
    ].join('\n'));
    return 0;
  });
}

async function certify(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'machine', 'member', 'until', 'tz']);
  noExtraArgs(a, 0);
  const machine = str(a, 'machine');
  const member = str(a, 'member');
  const zone = readZone(a);
  let until: number | undefined;
  if (a.flags.has('until')) {
    const text = str(a, 'until');
    if (!/[zZ]$|[+-]\d{2}:\d{2}$/.test(text)) noteFallback(zone, out, 'until');
    until = parseUntil('until', text, zone.tz);
    refusePast('until', until, zone.tz, 'the certificate would have ended before it was given');
  }
  return withStaff(a, (staff, l) => {
    const e = staff.certify(machine, member, until);
    const c = l.get<Cert>(certKey(machine, member))!;
    out.result({ event: eventId(e), machine, member, until: isoOf(c.until) },
      () => `'${member}' is certified on '${machine}'${c.until === null ? '' : ` until ${formatUntil(c.until, zone.tz)} (${zone.tz})`}`);
    return 0;
  });
}

async function decertify(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'machine', 'member', 'reason']);
  noExtraArgs(a, 0);
  const machine = str(a, 'machine');
  const member = str(a, 'member');
  const reason = a.flags.has('reason') ? str(a, 'reason') : undefined;
  return withStaff(a, (staff) => {
    const e = staff.decertify(machine, member, reason);
    out.result({ event: eventId(e), machine, member, certified: false }, () => `'${member}' may no longer run '${machine}'`);
    return 0;
  });
}

export const machineCommands: Command[] = [
  {
    name: 'machine',
    summary: 'machines: add, list, trainers, maintainers, out of service and back',
    subcommands: ['add', 'list', 'show', ...ROLES, 'out', 'in'],
    booleans: ['no-cert'],
    help: `usage: gdo machine <subcommand> ...
  add ID --name NAME [--node NODE] [--no-cert] [--cert-days N]
                       a machine; by default running it needs a certificate (--no-cert: it does not),
                       valid N days from certification (default: no expiry). A --node that no
                       enrolled or provisioned node has is a warning, not a refusal
  list                 machines, state, trainers, maintainers, number certified
  show ID              one machine and who is certified on it
  trainer add|remove --machine ID --member ID
                       trainers certify members at the machine's reader
  maintainer add|remove --machine ID --member ID
                       maintainers take the machine out of service and back at its reader
  out ID --reason TEXT the machine cannot be started (tag-out; wins over concurrent changes)
  in ID                back in service
${COMMON_HELP}`,
    run(sub, a, out) {
      switch (sub) {
        case 'add': return add(a, out);
        case 'list': return listMachines(a, out);
        case 'show': return show(a, out);
        case 'trainer': case 'maintainer': return role(sub, a, out);
        case 'out': return outOfService(a, out);
        case 'in': return backInService(a, out);
        default: throw new UsageError(`unknown subcommand 'gdo machine ${sub ?? ''}'`);
      }
    },
  },
  {
    name: 'certify',
    summary: 'let a member run a machine (until a date, or the machine\'s default validity)',
    help: `usage: gdo certify --machine ID --member ID [--until YYYY-MM-DD] [--tz ZONE]
Certifies the member on the machine, as an admin. Without --until the certificate lasts the
machine's validity (gdo machine add --cert-days), or does not expire. Certifying again renews it.
--until DATE ends it at the end of that day in the site's zone (gdo init --tz; --tz overrides);
a date already past is refused (exit 2).
Refused (exit 3) for a suspended member or an unknown machine or member.
${COMMON_HELP}`,
    run: (_sub, a, out) => certify(a, out),
  },
  {
    name: 'decertify',
    summary: 'withdraw a member\'s certificate for a machine',
    help: `usage: gdo decertify --machine ID --member ID [--reason TEXT]
Withdraws the certificate (wins over concurrent changes). Refused (exit 3) when there is none.
${COMMON_HELP}`,
    run: (_sub, a, out) => decertify(a, out),
  },
];
