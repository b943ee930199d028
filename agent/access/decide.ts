// decide(): allow or deny a badge at a door or machine, from the local SQLite replica only, with
// indexed reads (primary-key lookups in the state table), so a badge never waits on the network.
// The order of checks is the order of the reasons staff need: is this node trusted at all, whose
// badge is it, is the member in good standing, can the node trust its own view (clock, contact),
// then the resource's own rules. docs/access-model.md, "Decisions".
import type { KeyRecord } from '../ledger/dapp.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { doorKey, holdKey, lockdownKey, scheduleKey, type Door, type Hold, type Lockdown } from '../../dapps/door/index.ts';
import { matchSchedule, type Schedule } from '../../dapps/door/schedule.ts';
import { certKey, machineKey, roleKey, type Cert, type Machine, type Role } from '../../dapps/machine/index.ts';
import { memberKey, type Member } from '../../dapps/member/index.ts';
import { badgeHash } from './badge-hash.ts';
import { clockBehind } from './clock-evidence.ts';
import { DEFAULT_POLICY, type AccessPolicy, type DegradedPolicy } from './policy.ts';
import type { ReasonCode } from './reasons.ts';

/**
 * A card's UID (`credential`, hashed here with the site secret), or a badge already known by its
 * hash (`badge`: `gdo access check --member` asks for each of a member's badges, with no card).
 */
export type AccessRequest = ({ credential: Buffer; badge?: undefined } | { badge: string; credential?: undefined }) & { resource: string; at: Date };

export interface AccessDecision {
  allow: boolean;
  reason: ReasonCode;
  /** The rule that matched, in words a person can find in the ledger. */
  rule?: string;
  memberId?: string;
  /** Roles the member holds for this resource: 'trainer', 'maintainer', 'staff'. */
  roles?: string[];
  /** Badge id (keyed hash) and the record versions relied on, for the access log. Never the UID. */
  badge?: string;
  ver?: string;
  mver?: string;
  /**
   * The revocations this node knew of every record the decision relied on: badge, member, and the
   * door's lockdowns or the machine's tag-outs and certificate (the access log carries them for
   * anomaly checks, dapps/access/anomaly.ts).
   */
  known?: string[];
  /** A machine grant that relied on a certificate: the certificate's version. */
  cver?: string;
}

export interface DecideOptions {
  ledger: Ledger;
  /** This node's Ed25519 public key, hex; null for the staff desk's view (`gdo access check`), which is no node. */
  nodeKey: string | null;
  siteSecret: Buffer | null;
  policy?: Partial<AccessPolicy>;
  /** Epoch ms of the last successful exchange with any peer; null when none since start. */
  lastContact?: () => number | null;
  /**
   * Epoch ms the offline period counts from, kept across restarts (the agent's offline clock,
   * agent/daemon/offline-clock.ts); null when unknown, which applies the offline policy. Replaces
   * lastContact when given.
   */
  offlineSince?: () => number | null;
  now?: () => number;
}

export class AccessService {
  readonly policy: AccessPolicy;
  private readonly ledger: Ledger;
  private readonly nodeKey: string | null;
  private siteSecret: Buffer | null;
  private readonly lastContact: () => number | null;
  private readonly offlineSince: (() => number | null) | undefined;
  private readonly startedAt: number;
  /** The last full decision per resource, for the access log sink (same tick, same resource). */
  private readonly recent = new Map<string, AccessDecision>();

  constructor(o: DecideOptions) {
    this.ledger = o.ledger;
    this.nodeKey = o.nodeKey;
    this.siteSecret = o.siteSecret;
    this.policy = { ...DEFAULT_POLICY, ...o.policy };
    this.lastContact = o.lastContact ?? (() => null);
    this.offlineSince = o.offlineSince;
    this.startedAt = (o.now ?? Date.now)();
  }

  setSiteSecret(secret: Buffer | null): void { this.siteSecret = secret; }

  enrolled(): boolean {
    if (this.nodeKey === null) return true;
    const k = this.ledger.get<KeyRecord>(`org/key/${this.nodeKey}`);
    return k !== undefined && k.kind === 'node' && !k.revoked;
  }

  lastDecision(resource: string): AccessDecision | undefined { return this.recent.get(resource); }

  decide(req: AccessRequest): AccessDecision {
    const d = this.ledger.snapshot(() => this.evaluate(req));
    this.recent.set(req.resource, d);
    return d;
  }

  private evaluate(req: AccessRequest): AccessDecision {
    const l = this.ledger;
    const at = req.at.getTime();
    if (!this.enrolled()) return deny('node_not_enrolled', 'this node has no live node key in the ledger');
    if (!this.siteSecret) return deny('node_not_enrolled', 'this node has not received the site secret');
    const [kind, id] = splitResource(req.resource);
    const door = kind === 'door' ? l.get<Door>(doorKey(id)) : undefined;
    const machine = kind === 'machine' ? l.get<Machine>(machineKey(id)) : undefined;
    if (!door && !machine) return deny('unknown_resource', `${req.resource} is not in the ledger`);

    const badge = req.badge ?? badgeHash(this.siteSecret, req.credential);
    const b = l.get<Badge>(badgeKey(badge));
    if (!b) return { ...deny('unknown_badge'), badge };
    const base = { badge, ver: b.ver, memberId: b.member };
    if (b.revoked) return { ...deny('badge_revoked', `badge revoked by ${b.ver.slice(0, 12)}`), ...base };
    const m = l.get<Member>(memberKey(b.member));
    if (!m) return { ...deny('unknown_badge', 'badge of an unknown member'), ...base };
    const who = { ...base, mver: m.ver, known: [...(b.revs ?? []), ...(m.revs ?? [])].map((r) => r.ver) };
    if (m.suspended) return { ...deny('member_suspended', `suspended by ${m.ver.slice(0, 12)}`), ...who };
    if (m.until !== null && at > m.until) return { ...deny('membership_expired', `membership ended ${new Date(m.until).toISOString()}`), ...who };

    const staff = m.groups.some((g) => this.policy.staffGroups.includes(g));
    const roles = staff ? ['staff'] : [];
    // A clock shown to be behind is wrong (docs/design-notes.md lesson 5): schedules and expiries cannot be
    // trusted against it. The ledger's newest time is only the cheap first test; the evidence is this
    // node's own earlier events or several keys' own clocks, never one key's (./clock-evidence.ts).
    const tol = this.policy.clockToleranceMs;
    const behind = at < l.latestHlc().ms - tol
      ? clockBehind({ ledger: l, self: this.nodeKey, at, toleranceMs: tol, quorum: this.policy.clockQuorum }) : null;
    if (behind) {
      const whose = behind.source === 'own' ? "this node's own earlier events" : `the clocks of ${behind.keys} other key${behind.keys === 1 ? '' : 's'}`;
      const r = degraded(this.policy.clock, staff, 'clock_wrong', `clock ${Math.round((behind.ahead - at) / 1000)} s behind ${whose}`);
      if (r) return { ...r, ...who, roles };
    }
    const contact = this.offlineSince ? this.offlineSince() : this.lastContact() ?? this.startedAt;
    if (this.policy.maxOfflineMs !== null && (contact === null || at - contact > this.policy.maxOfflineMs)) {
      const why = contact === null ? 'last contact with a peer unknown' : `no peer for ${Math.round((at - contact) / 60_000)} min`;
      const r = degraded(this.policy.offline, staff, 'offline_too_long', why);
      if (r) return { ...r, ...who, roles };
    }
    const r = door ? { ...this.door(door, m, staff, req.at), roles } : this.machine(machine!, m, req.at);
    return { ...r, ...who, known: [...who.known, ...(r.known ?? [])] };
  }

  private door(door: Door, m: Member, staff: boolean, at: Date): AccessDecision {
    const known = [door.id, '*'].flatMap((scope) => this.ledger.get<Lockdown>(lockdownKey(scope))?.revs ?? []).map((r) => r.ver);
    return { ...this.doorRules(door, m, staff, at), known };
  }

  private doorRules(door: Door, m: Member, staff: boolean, at: Date): AccessDecision {
    for (const scope of [door.id, '*']) {
      const lock = this.ledger.get<Lockdown>(lockdownKey(scope));
      if (!lock?.on) continue;
      const where = scope === '*' ? 'site-wide lockdown' : `lockdown of door ${door.id}`;
      if (m.groups.some((g) => lock.exempt.includes(g))) return allow(`${where}, exempt group`);
      return deny('lockdown', where);
    }
    if (staff && door.rules.length === 0) return allow('staff, door without rules');
    let outside: string | undefined;
    for (const [i, r] of door.rules.entries()) {
      if (!m.groups.includes(r.group)) continue;
      if (r.schedule === null) return allow(`door ${door.id} rule ${i}: group ${r.group}, any time`);
      const sc = this.ledger.get<Schedule>(scheduleKey(r.schedule));
      if (!sc) { outside ??= `schedule ${r.schedule} missing`; continue; }
      const hit = matchSchedule(sc, at);
      if (hit && 'window' in hit) return allow(`door ${door.id} rule ${i}: group ${r.group}, schedule ${sc.id} window ${hit.window}`);
      outside ??= hit ? `schedule ${sc.id}: holiday ${hit.holiday}` : `schedule ${sc.id}: no window at this time (${sc.tz})`;
    }
    // Open house: the strike rests released, so a badge opens it too, for anyone known and in good standing.
    const hold = (this.ledger.get<Hold[]>(holdKey(door.id)) ?? []).find((h) => h.from <= at.getTime() && at.getTime() < h.to);
    if (hold) return allow(`door ${door.id} held unlocked by ${hold.ev.slice(0, 12)}`);
    if (outside !== undefined) return deny('outside_schedule', outside);
    return deny('no_access', `no rule of door ${door.id} names a group of this member`);
  }

  private machine(mc: Machine, m: Member, at: Date): AccessDecision {
    const r = this.machineRules(mc, m, at);
    const c = r.cver !== undefined ? this.ledger.get<Cert>(certKey(mc.id, m.id)) : undefined;
    return { ...r, known: [...(mc.revs ?? []), ...(c?.revs ?? [])].map((x) => x.ver) };
  }

  private machineRules(mc: Machine, m: Member, at: Date): AccessDecision {
    const t = at.getTime();
    const roles: string[] = [];
    if (this.ledger.get<Role>(roleKey(mc.id, 'trainer', m.id))?.on) roles.push('trainer');
    if (this.ledger.get<Role>(roleKey(mc.id, 'maintainer', m.id))?.on) roles.push('maintainer');
    if (mc.out) {
      if (roles.includes('maintainer')) return { ...allow(`machine ${mc.id} out of service; maintainer`), roles };
      return { ...deny('out_of_service', mc.out_reason ?? `taken out by ${mc.ver.slice(0, 12)}`), roles };
    }
    if (roles.includes('trainer')) return { ...allow(`machine ${mc.id}: trainer`), roles };
    if (!mc.cert_required) return { ...allow(`machine ${mc.id}: no certificate required`), roles };
    const c = this.ledger.get<Cert>(certKey(mc.id, m.id));
    if (!c || !c.on) return { ...deny('not_certified', c ? `certificate withdrawn by ${c.ver.slice(0, 12)}` : `no certificate for ${mc.id}`), roles };
    if (c.until !== null && t > c.until) return { ...deny('certification_expired', `certificate ended ${new Date(c.until).toISOString()}`), roles };
    return { ...allow(`machine ${mc.id}: certificate ${c.ver.slice(0, 12)}`), roles, cver: c.ver };
  }
}

function splitResource(r: string): ['door' | 'machine' | '', string] {
  const i = r.indexOf(':');
  const kind = r.slice(0, i);
  return [kind === 'door' || kind === 'machine' ? kind : '', r.slice(i + 1)];
}

function allow(rule: string): AccessDecision { return { allow: true, reason: 'allowed', rule }; }
function deny(reason: ReasonCode, rule?: string): AccessDecision { return { allow: false, reason, ...(rule !== undefined && { rule }) }; }

/** A degraded view: deny, unless the policy lets staff (or everyone known) through. null = go on. */
function degraded(p: DegradedPolicy, staff: boolean, reason: ReasonCode, why: string): AccessDecision | null {
  if (p === 'allow_known' || (p === 'staff_only' && staff)) return null;
  return deny(reason, `${why}; policy ${p}`);
}
