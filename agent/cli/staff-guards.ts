// Guard rails for staff commands (issue 12, item 6): what the ledger would accept but is very
// likely a slip. Where the input can only be a mistake the command refuses before signing; where
// it may be meant (a node not provisioned yet, a group whose members come later), it warns
// (Output.warn: stderr, or "warnings" in the --json document) and goes ahead.
import type { KeyRecord } from '../ledger/dapp.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { LedgerError } from '../ledger/errors.ts';
import { listProvisioned } from '../enrol/provisioned.ts';
import { memberKey, sameMemberId, type Member } from '../../dapps/member/index.ts';
import { UsageError } from './args.ts';
import { dataDir } from './ledger-cmds.ts';
import type { Output } from './output.ts';
import type { Args } from './args.ts';
import { formatZoned } from './time-args.ts';

/** Refuses an end time already past: a membership or certificate that ends before it starts. */
export function refusePast(flag: string, ms: number, tz: string, what: string): void {
  if (ms <= Date.now()) throw new UsageError(`--${flag} ${formatZoned(ms, tz)} is in the past: ${what}`);
}

/** Warns about an end time already past (member update: ending a membership now is meant, a typo in the year is not). */
export function warnPast(flag: string, ms: number, tz: string, what: string, out: Output): void {
  if (ms <= Date.now()) out.warn(`--${flag} ${formatZoned(ms, tz)} is in the past: ${what}`);
}

/** Another member whose id differs from `id` only in case, if any (the ledger refuses such a twin). */
export function memberTwin(l: Ledger, id: string): string | undefined {
  return sameMemberId(l, id).find((other) => other !== id);
}

/** The member `id`, or a not-found error that names the member meant when only the case differs. */
export function getMember(l: Ledger, id: string): Member {
  const m = l.get<Member>(memberKey(id));
  if (m) return m;
  const twin = memberTwin(l, id);
  throw new Error(`member '${id}' does not exist${twin ? ` (did you mean '${twin}'?)` : ' (see gdo member list)'}`);
}

/** Refuses, as the ledger would (exit 3), a new member id that an existing one equals but for case. */
export function refuseTwin(l: Ledger, id: string): void {
  const twin = memberTwin(l, id);
  if (twin !== undefined) throw new LedgerError('INVALID_BODY', `body.id: member '${twin}' already exists; member ids are unique regardless of case, so '${id}' is refused (use '${twin}', or another id)`);
}

/** Warns about door rules whose group no member is in: the rule lets nobody in yet. */
export function warnEmptyGroups(l: Ledger, groups: readonly string[], out: Output): void {
  const wanted = new Set(groups);
  if (wanted.size === 0) return;
  for (const [, m] of l.scan<Member>('member/m/')) for (const g of m.groups) wanted.delete(g);
  for (const g of wanted) out.warn(`--rule: no member is in group '${g}' yet, so this rule lets nobody in (gdo member update ID --add-group ${g})`);
}

/**
 * Warns about a --node that no node of this organisation has: not enrolled (org/node.add), not
 * provisioned from this data directory, or revoked, or without the role the door or machine needs.
 */
export function warnUnknownNode(a: Args, l: Ledger, node: string, role: 'door' | 'machine', out: Output): void {
  const key = l.get<string>(`org/node/${node}`);
  const rec = key === undefined ? undefined : l.get<KeyRecord>(`org/key/${key}`);
  if (rec && !rec.revoked) {
    if (!rec.roles.includes(role)) out.warn(`--node: node '${node}' has the roles ${rec.roles.join(', ')}, not ${role}, so it will not drive this ${role}`);
    return;
  }
  const provisioned = listProvisioned(dataDir(a)).find((p) => p.name === node);
  if (provisioned) {
    if (!provisioned.roles.includes(role)) out.warn(`--node: node '${node}' was provisioned as ${provisioned.roles.join(', ')}, not ${role}`);
    return;
  }
  const known = [...l.scan<string>('org/node/').map(([k]) => k.slice('org/node/'.length)), ...listProvisioned(dataDir(a)).map((p) => p.name)];
  const near = known.find((n) => n.toLowerCase() === node.toLowerCase());
  out.warn(rec?.revoked
    ? `--node: node '${node}' was revoked; no node drives this ${role} until another one is named`
    : `--node: no enrolled or provisioned node is called '${node}'${near ? ` (did you mean '${near}'?)` : known.length ? ` (known: ${known.join(', ')})` : ''}; the ${role} works once a node of that name is approved`);
}

/** Warns about a badge given to a member who cannot use it now. */
export function warnBadgeHolder(m: Member, tz: string, out: Output): void {
  if (m.suspended) out.warn(`member '${m.id}' is suspended${m.reason ? ` (${m.reason})` : ''}: the badge opens nothing until gdo member reinstate ${m.id}`);
  else if (m.until !== null && m.until <= Date.now()) out.warn(`member '${m.id}''s membership ended ${formatZoned(m.until, tz)}: the badge opens nothing until gdo member update ${m.id} --until DATE`);
}
