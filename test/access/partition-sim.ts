// In-process maker space of N door/machine nodes that partition, change things locally and merge:
// the harness of the revocation-safety property test. Each node is a real Ledger (SQLite in
// memory) with the real dapps, AccessService and AccessLog; each has its own admin (staff at that
// node sign with their own key, so no key signs on two replicas). The harness keeps, beside the
// nodes, an independent record of every event's causal past: the oracle the properties are
// checked against, computed without the dapps.
import { allDapps } from '../../agent/dapps.ts';
import { AccessLog } from '../../agent/access/access-log.ts';
import { AccessService, type AccessDecision } from '../../agent/access/decide.ts';
import { Staff } from '../../agent/access/staff.ts';
import type { Signer } from '../../agent/ledger/crypto.ts';
import { decodeEvent, depsOf, hex, type SignedEvent } from '../../agent/ledger/event.ts';
import { compareHlc, type Hlc } from '../../agent/ledger/hlc.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { listAnomalies } from '../../dapps/access/anomaly.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { certKey, roleKey, type Cert, type Role } from '../../dapps/machine/index.ts';
import { memberKey, type Member } from '../../dapps/member/index.ts';
import { signerFor } from '../ledger/helpers.ts';
import { prng } from '../helpers/prng.ts';
import { SECRET, T0, badgeOf, uid } from './site.ts';

export const MEMBERS = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'];
const RESOURCES = ['door:front', 'machine:laser'];

interface Meta { id: string; anc: Set<string>; hlc: Hlc; dapp: string; type: string; body: Record<string, unknown> }

export interface SimNode {
  i: number;
  ledger: Ledger;
  admin: Staff;
  key: Signer;
  svc: AccessService;
  log: AccessLog;
  skew: number;
}

export class Violation extends Error {}

const signers = new Map<string, Signer>();
const signer = (name: string): Signer => {
  let x = signers.get(name);
  if (!x) { x = signerFor(name); signers.set(name, x); }
  return x;
};
/** The site every schedule starts from, built once per process (its events are deterministic). */
let baseRaws: Buffer[] | null = null;

export class PartitionSim {
  readonly nodes: SimNode[] = [];
  readonly meta = new Map<string, Meta & { raw: Buffer }>();
  /** Ids each node has appended (the harness's own view, kept by onAppend). */
  readonly held: Array<Set<string>> = [];
  readonly rand: () => number;
  groups: number[][];
  now = T0;
  readonly counts = { uses: 0, allows: 0, changes: 0, merges: 0, partitions: 0 };

  constructor(readonly seed: number, n = 4) {
    this.rand = prng(seed);
    const admins = Array.from({ length: n }, (_, i) => signer(`sim admin ${i}`));
    const keys = Array.from({ length: n }, (_, i) => signer(`sim node ${i}`));
    for (let i = 0; i < n; i++) {
      const ledger = Ledger.open({ path: ':memory:', dapps: allDapps, synchronous: 'OFF', now: () => this.now + 60_000, maxSkewMs: 600_000 });
      ledger.onAppend = (evs) => { this.track(evs.map((e) => ('body' in e ? (e as SignedEvent) : decodeEvent(e.raw)))); for (const e of evs) this.held[i]!.add(hex(e.id)); };
      this.held.push(new Set());
      const node: SimNode = {
        i, ledger, key: keys[i]!, skew: Math.floor(this.rand() * 4000) - 2000,
        admin: new Staff(ledger, admins[i]!, () => this.now + node.skew),
        svc: new AccessService({ ledger, nodeKey: hex(keys[i]!.publicKey), siteSecret: SECRET, now: () => this.now, policy: { maxOfflineMs: null } }),
        log: null as unknown as AccessLog,
      };
      node.log = new AccessLog({ ledger, signer: keys[i]!, service: node.svc, schedule: (fn) => fn(), onError: (m) => { throw new Violation(`node ${i}: ${m}`); } });
      this.nodes.push(node);
    }
    this.groups = [this.nodes.map((x) => x.i)];
    if (!baseRaws) baseRaws = buildBase(admins, keys);
    for (const x of this.nodes) {
      const res = x.ledger.ingest(baseRaws);
      if (res.some((r) => r.status !== 'accepted')) throw new Error(`base site refused: ${JSON.stringify(res.find((r) => r.status !== 'accepted'))}`);
    }
  }

  close(): void { for (const n of this.nodes) n.ledger.close(); }

  private track(evs: SignedEvent[]): void {
    const todo = evs.filter((e) => !this.meta.has(hex(e.id)));
    while (todo.length) {
      const before = todo.length;
      for (let k = 0; k < todo.length; k++) {
        const e = todo[k]!;
        const deps = depsOf(e).map(hex);
        if (!deps.every((d) => this.meta.has(d))) continue;
        const anc = new Set<string>(deps);
        for (const d of deps) for (const a of this.meta.get(d)!.anc) anc.add(a);
        this.meta.set(hex(e.id), { id: hex(e.id), anc, hlc: e.hlc, dapp: e.dapp, type: e.type, body: e.body as Record<string, unknown>, raw: e.raw });
        todo.splice(k--, 1);
      }
      if (todo.length === before) throw new Error('appended events whose dependencies were never appended');
    }
  }

  /** Sends `from` every event `to` lacks, shuffled and in chunks, so pending parents get exercised. */
  copy(from: SimNode, to: SimNode): void {
    const have = this.held[to.i]!;
    const missing = [...this.held[from.i]!].filter((id) => !have.has(id)).map((id) => this.meta.get(id)!.raw);
    for (let k = missing.length - 1; k > 0; k--) {
      const j = Math.floor(this.rand() * (k + 1));
      [missing[k], missing[j]] = [missing[j]!, missing[k]!];
    }
    const chunk = 1 + Math.floor(this.rand() * 8);
    for (let k = 0; k < missing.length; k += chunk) {
      for (const r of to.ledger.ingest(missing.slice(k, k + chunk))) {
        if (r.status === 'rejected') throw new Violation(`node ${to.i} rejected ${r.id?.slice(0, 12)} from node ${from.i}: ${r.code} ${r.message}`);
      }
    }
    if (to.ledger.pendingCount() !== 0) throw new Violation(`node ${to.i} still has ${to.ledger.pendingCount()} pending events after a full copy`);
  }

  step(): void {
    this.now += 1000 + Math.floor(this.rand() * 60_000);
    const r = this.rand();
    if (r < 0.1) this.repartition();
    else if (r < 0.25) this.mergeGroup();
    else if (r < 0.6) this.useBadge(this.pick(this.nodes));
    else this.change(this.pick(this.nodes));
  }

  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.rand() * xs.length)]!; }

  repartition(): void {
    this.counts.partitions++;
    const k = 1 + Math.floor(this.rand() * 3);
    const groups: number[][] = Array.from({ length: k }, () => []);
    for (const n of this.nodes) groups[Math.floor(this.rand() * k)]!.push(n.i);
    this.groups = groups.filter((g) => g.length > 0);
  }

  mergeGroup(): void {
    const g = this.pick(this.groups);
    if (g.length < 2) return;
    this.counts.merges++;
    // Gossip around the group twice: afterwards every member holds the union.
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < g.length; k++) this.copy(this.nodes[g[k]!]!, this.nodes[g[(k + 1) % g.length]!]!);
    }
  }

  healAll(): void {
    this.groups = [this.nodes.map((n) => n.i)];
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < this.nodes.length; k++) this.copy(this.nodes[k]!, this.nodes[(k + 1) % this.nodes.length]!);
    }
  }

  useBadge(n: SimNode): AccessDecision {
    this.counts.uses++;
    const member = this.pick(MEMBERS);
    const resource = this.pick(RESOURCES);
    const d = n.svc.decide({ credential: uid(member), resource, at: new Date(this.now) });
    if (d.allow) {
      this.counts.allows++;
      this.checkNoAllowAfterRevocation(n, member);
    }
    n.log.record(resource.startsWith('door') ? 'door.access' : 'machine.access', {
      resource, allow: d.allow, reason: d.reason, ...(d.rule && { rule: d.rule }), ...(d.memberId && { member_id: d.memberId }), at: new Date(this.now).toISOString(),
    });
    return d;
  }

  /** The safety property, against the oracle: every revocation the node holds was followed by a re-grant it holds. */
  checkNoAllowAfterRevocation(n: SimNode, member: string): void {
    const mine = this.held[n.i]!;
    const held = (m: Meta): boolean => mine.has(m.id);
    const badge = badgeOf(member);
    const all = [...this.meta.values()].filter(held);
    for (const rev of all.filter((m) => isRevocationOf(m, badge, member))) {
      const regrant = all.some((g) => isRegrantOf(g, rev, badge, member) && g.anc.has(rev.id));
      if (!regrant) throw new Violation(`node ${n.i} allowed ${member} after receiving ${rev.dapp}/${rev.type} ${rev.id.slice(0, 12)} with no re-grant after it`);
    }
  }

  change(n: SimNode): void {
    const l = n.ledger;
    const st = n.admin;
    const m = this.pick(MEMBERS);
    const kind = Math.floor(this.rand() * 6);
    this.counts.changes++;
    switch (kind) {
      case 0: {
        const b = l.get<Badge>(badgeKey(badgeOf(m)))!;
        if (b.revoked) st.assignBadge(badgeOf(m), m); else st.revokeBadge(badgeOf(m), 'sim');
        break;
      }
      case 1: {
        const mm = l.get<Member>(memberKey(m))!;
        if (mm.suspended) st.reinstate(m); else st.suspend(m, 'sim');
        break;
      }
      case 2: {
        const on = l.get<Role>(roleKey('laser', 'trainer', m))?.on === true;
        st.setRole('laser', m, 'trainer', !on);
        break;
      }
      case 3: {
        const c = l.get<Cert>(certKey('laser', m));
        if (c?.on) st.decertify('laser', m); else if (!l.get<Member>(memberKey(m))!.suspended) st.certify('laser', m);
        break;
      }
      case 4: {
        // A machine node certifies at the machine for a trainer it knows (trainer badge, then member badge).
        const trainer = MEMBERS.find((t) => t !== m && l.get<Role>(roleKey('laser', 'trainer', t))?.on);
        // As the machine asks before it signs (agent/access/certify-check.ts): the trainee in good standing, with a live card.
        if (trainer && !l.get<Member>(memberKey(m))!.suspended && !l.get<Badge>(badgeKey(badgeOf(m)))!.revoked) n.log.record('machine.certification', { machine: 'laser', trainer_id: trainer, member_id: m });
        break;
      }
      default:
        st.updateMember({ id: m, groups: this.rand() < 0.8 ? ['members'] : ['visitors'] });
    }
  }

  /** After the final merge: the same state everywhere, and anomalies exactly as the oracle says. */
  checkConverged(): void {
    const hashes = new Set(this.nodes.map((n) => n.ledger.stateHash()));
    if (hashes.size !== 1) throw new Violation(`state hashes differ after the final merge: ${[...hashes].map((h) => h.slice(0, 12)).join(' ')}`);
    const counts = new Set(this.nodes.map((n) => n.ledger.count()));
    if (counts.size !== 1) throw new Violation(`event counts differ after the final merge: ${[...counts].join(' ')}`);
    const flagged = new Set(listAnomalies(this.nodes[0]!.ledger).map((a) => a.grant));
    const events = [...this.meta.values()];
    for (const g of events) {
      if (g.dapp !== 'access' || g.type !== 'decision' || g.body['allow'] !== true) continue;
      const member = String(g.body['member']);
      const groups = this.nodes[0]!.ledger.get<Member>(memberKey(member))?.groups ?? [];
      const unknown = events.find((r) => withdraws(r, g.body, member, groups) && !g.anc.has(r.id) && compareHlc(r.hlc, g.hlc) < 0);
      if (unknown && !flagged.has(g.id)) throw new Violation(`grant ${g.id.slice(0, 12)} for ${member} was made after ${unknown.dapp}/${unknown.type} ${unknown.id.slice(0, 12)} it could not know, and is not flagged`);
      if (!unknown && flagged.has(g.id)) throw new Violation(`grant ${g.id.slice(0, 12)} for ${member} is flagged, but its node knew every earlier revocation`);
    }
  }
}

function isRevocationOf(m: Meta, badge: string, member: string): boolean {
  return (m.dapp === 'badge' && m.type === 'revoke' && m.body['badge'] === badge) || (m.dapp === 'member' && m.type === 'suspend' && m.body['id'] === member);
}

/**
 * A revocation of something the grant relied on: its badge, its member, the certificate it used at the
 * machine, the machine being in service (unless a maintainer ran it), the door or site not in lockdown
 * (unless the member is in a group the lockdown exempts: `groups`, the member's groups).
 */
function withdraws(r: Meta, grant: Record<string, unknown>, member: string, groups: readonly string[]): boolean {
  if (isRevocationOf(r, String(grant['badge']), member)) return true;
  if (grant['v'] !== 2) return false; // a decision that does not list what else it relied on
  const [kind, id] = String(grant['resource']).split(':') as [string, string];
  if (kind === 'machine') {
    if (r.dapp !== 'machine' || r.body['machine'] !== id) return false;
    if (r.type === 'out') return !((grant['roles'] as string[] | undefined) ?? []).includes('maintainer');
    return r.type === 'decertify' && grant['cver'] !== undefined && r.body['member'] === member;
  }
  if (r.dapp !== 'door' || r.type !== 'lockdown' || (r.body['door'] !== id && r.body['door'] !== '*')) return false;
  return !((r.body['exempt'] as string[] | undefined) ?? []).some((g) => groups.includes(g));
}

function isRegrantOf(g: Meta, rev: Meta, badge: string, member: string): boolean {
  if (rev.dapp === 'badge') return g.dapp === 'badge' && g.type === 'assign' && g.body['badge'] === badge;
  return g.dapp === 'member' && g.type === 'reinstate' && g.body['id'] === member;
}

function buildBase(admins: Signer[], keys: Signer[]): Buffer[] {
  // The founding admin sets the site up; every node starts from these events.
  const l = Ledger.open({ path: ':memory:', dapps: allDapps, synchronous: 'OFF', now: () => T0 });
  try {
    const a0 = admins[0]!;
    l.append(a0, 'org', 'genesis', { name: 'Sim Space', admins: [{ key: hex(a0.publicKey), name: 'admin-0' }] });
    admins.slice(1).forEach((a, i) => l.append(a0, 'org', 'admin.add', { key: hex(a.publicKey), name: `admin-${i + 1}` }));
    keys.forEach((k, i) => l.append(a0, 'org', 'node.add', { key: hex(k.publicKey), name: `node-${i}`, roles: ['door', 'machine'] }));
    const st = new Staff(l, a0);
    st.addDoor({ id: 'front', name: 'Front', rules: [{ group: 'members' }] });
    st.addMachine({ id: 'laser', name: 'Laser' });
    for (const m of MEMBERS) {
      st.addMember({ id: m, name: m, groups: ['members'] });
      st.assignBadge(badgeOf(m), m);
    }
    st.setRole('laser', 'm0', 'trainer', true);
    st.certify('laser', 'm1');
    return [...l.events()];
  } finally {
    l.close();
  }
}
