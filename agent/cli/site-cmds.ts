// `gdo site`: the organisation as a data directory's ledger sees it, for staff at their own
// computer (`gdo status` asks a running agent instead: agent/cli/agent-cmds.ts).
import { existsSync } from 'node:fs';
import { listAnomalies } from '../../dapps/access/anomaly.ts';
import type { Badge } from '../../dapps/badge/index.ts';
import { lockdownKey, type Lockdown } from '../../dapps/door/index.ts';
import type { Machine } from '../../dapps/machine/index.ts';
import type { Member } from '../../dapps/member/index.ts';
import { siteSecretPath } from '../enrol/site-secret.ts';
import type { KeyRecord } from '../ledger/dapp.ts';
import { onlyFlags } from './args.ts';
import { dataDir, ledgerState } from './ledger-cmds.ts';
import type { Command } from './registry.ts';
import { noExtraArgs, READ_FLAGS, readLedger } from './staff-session.ts';

export const siteCommands: Command[] = [{
  name: 'site',
  summary: 'the organisation in a data directory: name, counts, lockdowns, anomalies, ledger heads',
  help: `usage: gdo site [--data DIR] [--json]
The organisation as this data directory's ledger sees it: its name, how many members (suspended),
active and revoked badges, doors, schedules, machines (out of service), admins and nodes, lockdowns,
offline-grant anomalies, whether the site secret is here, and the ledger's event count, heads and
state hash (equal state hashes on two nodes mean they agree). For the local agent use gdo status.
exit codes: 0 ok, 1 failure, 2 usage error`,
  run(_sub, a, out) {
    onlyFlags(a, [...READ_FLAGS]);
    noExtraArgs(a, 0);
    return readLedger(a, (l) => {
      const meta = l.get<{ name: string }>('org/meta');
      const members = l.scan<Member>('member/m/').map(([, m]) => m);
      const badges = l.scan<Badge>('badge/b/').map(([, b]) => b);
      const machines = l.scan<Machine>('machine/m/').map(([, m]) => m);
      const keys = l.scan<KeyRecord>('org/key/').map(([, k]) => k).filter((k) => !k.revoked);
      const lockPrefix = lockdownKey('');
      const lockdowns = l.scan<Lockdown>(lockPrefix).filter(([, v]) => v.on).map(([k]) => k.slice(lockPrefix.length));
      const s = ledgerState(l);
      const v = {
        name: meta?.name ?? null, org: s.org, data: dataDir(a), site_secret: existsSync(siteSecretPath(dataDir(a))),
        members: members.length, suspended: members.filter((m) => m.suspended).length,
        badges: badges.filter((b) => !b.revoked).length, revoked_badges: badges.filter((b) => b.revoked).length,
        doors: l.scan('door/d/').length, schedules: l.scan('door/s/').length,
        machines: machines.length, out_of_service: machines.filter((m) => m.out).length,
        admins: keys.filter((k) => k.kind === 'admin').length, nodes: keys.filter((k) => k.kind === 'node').length,
        lockdowns, anomalies: listAnomalies(l).length,
        events: s.events, heads: s.heads, state_hash: s.stateHash, pending: s.pending,
      };
      out.result(v, () => [
        `site         ${v.name ?? '(no genesis)'}`, `org          ${v.org ?? '-'}`, `data         ${v.data}${v.site_secret ? '' : ' (no site secret)'}`,
        `members      ${v.members} (${v.suspended} suspended)`, `badges       ${v.badges} active, ${v.revoked_badges} revoked`,
        `doors        ${v.doors} (${v.schedules} schedules)`, `machines     ${v.machines} (${v.out_of_service} out of service)`,
        `keys         ${v.admins} admins, ${v.nodes} nodes`,
        `lockdown     ${v.lockdowns.map((d) => (d === '*' ? 'whole site' : d)).join(', ') || 'none'}`,
        `anomalies    ${v.anomalies}${v.anomalies ? ' (gdo access anomalies)' : ''}`,
        `events       ${v.events}${v.pending ? ` (${v.pending} waiting for parents)` : ''}`, `state hash   ${v.state_hash}`,
        `heads        ${v.heads.join('\n             ')}`,
      ].join('\n'));
      return 0;
    });
  },
}];
