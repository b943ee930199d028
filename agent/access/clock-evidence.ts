// Evidence that this node's own clock is behind (docs/access-model.md, "What shows a clock is wrong").
//
// The ledger's newest hybrid logical clock is no such evidence: any one enrolled key may date an event up
// to ledger.max_skew_ms ahead, and every node that applies it (and then dates its own events after it)
// carries that time on. What does count is what several keys' own clocks said when they signed:
//  - an event whose HLC counter is 0 carries its author's wall clock (agent/ledger/hlc.ts nextHlc: c is 0
//    only when the wall clock was past everything the author had seen); one with c > 0 borrowed the time
//    of an event it followed, so it says nothing about its author's clock;
//  - this node's own such events: its clock read that much earlier, and nobody else can sign them. A
//    clock that went back (a Pi without a real-time clock, booted at 1970) is behind them alone;
//  - other keys: the clock is behind only when `quorum` distinct live keys (or all of them, when fewer
//    exist) signed with their own clocks further ahead of ours than the tolerance. One node, however fast
//    its clock or however far ahead it dates its events, never moves what the others take as now.
import type { KeyRecord } from '../ledger/dapp.ts';
import type { Ledger } from '../ledger/ledger.ts';

/** Newest own-clock time per author, hex key -> epoch ms. */
export type AuthorClocks = Map<string, number>;

/** How far back an author's chain is read for an event dated by its own clock. */
const CHAIN_LOOKBACK = 64;

const statements = new WeakMap<Ledger['db'], { all(): unknown }>();

/** Each author's newest wall-clock-dated time among its last CHAIN_LOOKBACK events. Indexed reads (events_chain). */
export function authorClocks(ledger: Ledger): AuthorClocks {
  const db = ledger.db;
  let q = statements.get(db);
  if (!q) {
    q = db.prepare(`SELECT a.key AS key, (SELECT MAX(ms) FROM (SELECT e.hlc_ms AS ms, e.hlc_c AS c FROM events e WHERE e.aid = a.aid
       ORDER BY e.seq DESC LIMIT ${CHAIN_LOOKBACK}) WHERE c = 0) AS ms FROM authors a`);
    statements.set(db, q);
  }
  const rows = q.all() as Array<{ key: Buffer; ms: number | null }>;
  const out: AuthorClocks = new Map();
  for (const r of rows) if (r.ms !== null) out.set(r.key.toString('hex'), r.ms);
  return out;
}

export interface ClockVerdict {
  /** Epoch ms the evidence vouches for; `at` is behind it by more than the tolerance. */
  ahead: number;
  /** 'own' = this node's own earlier events; 'peers' = `keys` distinct other keys. */
  source: 'own' | 'peers';
  keys: number;
}

export interface ClockCheck {
  ledger: Ledger;
  /** This node's key (hex); null for the desk's view, which has no events of its own. */
  self: string | null;
  at: number;
  toleranceMs: number;
  /** Distinct other keys that must agree (access.clock_quorum). */
  quorum: number;
}

/** Non-null when the evidence says the clock reading `at` is more than the tolerance behind. */
export function clockBehind(o: ClockCheck, clocks: AuthorClocks = authorClocks(o.ledger)): ClockVerdict | null {
  const limit = o.at + o.toleranceMs;
  if (o.self !== null) {
    const own = clocks.get(o.self);
    if (own !== undefined && own > limit) return { ahead: own, source: 'own', keys: 1 };
  }
  // Only live keys vouch: a revoked key's events stay in the ledger but its word no longer counts.
  const live = o.ledger.scan<KeyRecord>('org/key/').filter(([, k]) => !k.revoked).map(([k]) => k.slice('org/key/'.length))
    .filter((k) => k !== o.self);
  const needed = Math.min(o.quorum, live.length);
  if (needed === 0) return null;
  const times = live.map((k) => clocks.get(k) ?? -Infinity).sort((a, b) => b - a);
  const vouched = times[needed - 1]!;
  return vouched > limit ? { ahead: vouched, source: 'peers', keys: needed } : null;
}
