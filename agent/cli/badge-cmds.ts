// `gdo badge assign | revoke | replace | list`. Staff type a card's UID in hex (or a USB reader types
// it); it is hashed with the site secret at once (agent/access/badge-hash.ts) and only the hash
// reaches the ledger. Listings show hash prefixes, which is also how a lost card is named: its UID
// is usually not at hand, its owner's badge list is.
import type { Ledger } from '../ledger/ledger.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { memberKey, type Member } from '../../dapps/member/index.ts';
import { onlyFlags, str, UsageError, type Args } from './args.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { COMMON_HELP, eventId, findBadge, hashUid, idArg, noExtraArgs, READ_FLAGS, readLedger, readUid, shortHash, SIGN_FLAGS, siteSecret, table, withStaff } from './staff-session.ts';
import { zoneHeader, zoneOf } from './site-tz.ts';
import { warnBadgeHolder } from './staff-guards.ts';
import { formatLocal, isoOf } from './time-args.ts';

/** A badge named by --uid HEX or by --badge PREFIX (for cards whose UID is not at hand). */
function oneOf(a: Args, uidFlag: string, hashFlag: string): { uid: Buffer } | { prefix: string } {
  const hasUid = a.flags.has(uidFlag);
  if (hasUid === a.flags.has(hashFlag)) throw new UsageError(`give exactly one of --${uidFlag} HEX or --${hashFlag} HASH-PREFIX`);
  return hasUid ? { uid: readUid(a, uidFlag) } : { prefix: str(a, hashFlag) };
}

function resolve(a: Args, l: Ledger, which: { uid: Buffer } | { prefix: string }, hashFlag: string): string {
  return 'uid' in which ? hashUid(siteSecret(a, l), which.uid) : findBadge(l, hashFlag, which.prefix).badge;
}

async function assign(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'member', 'uid']);
  noExtraArgs(a, 0);
  const member = str(a, 'member');
  const uid = readUid(a, 'uid');
  return withStaff(a, (staff, l) => {
    const hash = hashUid(siteSecret(a, l), uid);
    const e = staff.assignBadge(hash, member);
    warnBadgeHolder(l.get<Member>(memberKey(member))!, zoneOf(a, l).tz, out);
    out.result({ event: eventId(e), badge: shortHash(hash), member }, () => `assigned badge ${shortHash(hash)} to member '${member}'`);
    return 0;
  });
}

async function revoke(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'uid', 'badge', 'reason']);
  noExtraArgs(a, 0);
  const which = oneOf(a, 'uid', 'badge');
  const reason = a.flags.has('reason') ? str(a, 'reason') : undefined;
  return withStaff(a, (staff, l) => {
    const hash = resolve(a, l, which, 'badge');
    const e = staff.revokeBadge(hash, reason);
    const b = l.get<Badge>(badgeKey(hash))!;
    out.result({ event: eventId(e), badge: shortHash(hash), member: b.member, revoked: true, reason: reason ?? null },
      () => `revoked badge ${shortHash(hash)} of member '${b.member}'${reason ? ` (${reason})` : ''}`);
    return 0;
  });
}

async function replace(a: Args, out: Output): Promise<number> {
  onlyFlags(a, [...SIGN_FLAGS, 'old', 'old-badge', 'uid']);
  noExtraArgs(a, 0);
  const old = oneOf(a, 'old', 'old-badge');
  const uid = readUid(a, 'uid');
  return withStaff(a, (staff, l) => {
    const oldHash = resolve(a, l, old, 'old-badge');
    const hash = hashUid(siteSecret(a, l), uid);
    const e = staff.replaceBadge(oldHash, hash);
    const member = l.get<Badge>(badgeKey(hash))!.member;
    out.result({ event: eventId(e), old: shortHash(oldHash), badge: shortHash(hash), member },
      () => `replaced badge ${shortHash(oldHash)} of member '${member}' with ${shortHash(hash)} (the old one is revoked)`);
    return 0;
  });
}

function listBadges(a: Args, out: Output): number {
  onlyFlags(a, [...READ_FLAGS, 'member', 'tz']);
  noExtraArgs(a, 1);
  const member = a.flags.has('member') || a.pos[0] !== undefined ? idArg(a, 'member', 'the member id') : undefined;
  return readLedger(a, (l) => {
    if (member !== undefined && !l.get(memberKey(member))) throw new Error(`member '${member}' does not exist (see gdo member list)`);
    const rows = l.scan<Badge>('badge/b/').map(([, b]) => b).filter((b) => member === undefined || b.member === member)
      .map((b) => ({ badge: shortHash(b.badge), member: b.member, revoked: b.revoked, reason: b.reason, since: isoOf(b.at.ms) }));
    const zone = zoneOf(a, l);
    out.result(rows, () => `${table(['BADGE', 'MEMBER', 'STATUS', 'SINCE'],
      rows.map((r) => [r.badge, r.member, r.revoked ? `revoked${r.reason ? ` (${r.reason})` : ''}` : 'active', formatLocal(Date.parse(r.since!), zone.tz)]))}${rows.length ? `\n(${zoneHeader(zone)})` : ''}`);
    return 0;
  });
}

export const badgeCommands: Command[] = [{
  name: 'badge',
  summary: 'badges: assign a card to a member, revoke, replace a lost card, list (hash prefixes)',
  subcommands: ['assign', 'revoke', 'replace', 'list'],
  help: `usage: gdo badge <subcommand> ...
  assign --member ID --uid HEX        give a card to a member (a warning when the member is suspended or expired)
  revoke (--uid HEX | --badge HASH) [--reason TEXT]
                                      the card opens nothing any more (wins over concurrent changes)
  replace (--old HEX | --old-badge HASH) --uid HEX
                                      a lost or broken card: revokes the old one and gives the new one
                                      to the same member, in one event
  list [--member ID] [--tz ZONE]      badges with their member, status and since when (in the site's zone)
HEX is the card UID as a reader prints it: 4 to 10 bytes in hex, ':' or spaces allowed (04:a2:19:c3).
It is hashed with the site secret (DIR/site-secret) at once: the ledger, the output and the logs only
ever hold the hash. HASH is a hash prefix as gdo badge list shows it (at least 8 hex digits), for a
card whose UID is not at hand. HEX may be '-': the UID is then read from standard input, one line,
as a USB desk reader types it, and stays out of the shell history.
${COMMON_HELP}`,
  run(sub, a, out) {
    switch (sub) {
      case 'assign': return assign(a, out);
      case 'revoke': return revoke(a, out);
      case 'replace': return replace(a, out);
      case 'list': return listBadges(a, out);
      default: throw new UsageError(`unknown subcommand 'gdo badge ${sub ?? ''}'`);
    }
  },
}];
