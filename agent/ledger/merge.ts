// Merging events that do not simply extend the current heads (docs/ledger-format.md, "Merge").
// Cost is proportional to the diverged part: the window starts at the first fold position the
// new events can touch, lowered only as far as needed for every new event to see exactly its
// ancestors; state is rewound to the window start from the undo log, not rebuilt.
import type { DappRegistry } from './dapp.ts';
import type { RejectionCode } from './errors.ts';
import { decodeEvent, depsOf, hex, type SignedEvent } from './event.ts';
import { foldOrder, type OrderNode } from './order.ts';
import { runEvent } from './run-event.ts';
import { Overlay, type KV, type Val } from './state.ts';
import type { DepRow, EventRow, Store } from './store.ts';

export interface NewEvent { ev: SignedEvent; key: string }

interface WNode extends OrderNode {
  row?: EventRow;           // stored event
  fresh?: NewEvent;         // new event
  bit: number;              // index among new events, -1 for stored
  ev(): SignedEvent;
}

export interface MergeOutcome {
  accepted: Map<string, { softFail: string | null; pos: number }>;
  rejected: Map<string, { code: RejectionCode; message: string }>;
  /** Final values of every state key the merge touched. */
  state: Map<string, Val>;
  /** Undo records per event key, and the new order of the window. */
  undo: Map<string, Array<[string, Val]>>;
  order: Array<{ key: string; row?: EventRow; fresh?: NewEvent; softFail: string | null }>;
  start: number;
}

export interface MergeContext {
  store: Store;
  reg: DappRegistry;
  equivocatedFrom: Map<string, number>;
  heads: Map<string, { eid: number; pos: number }>;
  /** Fold positions that must be re-folded whatever the new events are (new equivocations). */
  lowerBound: number;
  /** Events rejected earlier in the same batch: their children are rejected too. */
  rejected: Set<string>;
}

class Bits {
  readonly w: Uint32Array;
  constructor(n: number) { this.w = new Uint32Array((n + 31) >>> 5); }
  set(i: number): void { this.w[i >>> 5]! |= 1 << (i & 31); }
  has(i: number): boolean { return (this.w[i >>> 5]! & (1 << (i & 31))) !== 0; }
  or(o: Bits): void { for (let i = 0; i < this.w.length; i++) this.w[i]! |= o.w[i]!; }
  full(n: number): boolean { for (let i = 0; i < n; i++) if (!this.has(i)) return false; return true; }
}

function storedNode(row: EventRow, deps: string[], reg: DappRegistry): WNode {
  let cached: SignedEvent | undefined;
  return {
    key: row.id.toString('hex'), power: reg.isPower(row.dapp, row.type), hlcMs: row.hlc_ms, hlcC: row.hlc_c,
    id: row.id, deps, row, bit: -1, ev: () => (cached ??= decodeEvent(row.raw)),
  };
}

function freshNode(n: NewEvent, bit: number, reg: DappRegistry): WNode {
  return {
    key: n.key, power: reg.isPower(n.ev.dapp, n.ev.type), hlcMs: n.ev.hlc.ms, hlcC: n.ev.hlc.c, id: n.ev.id,
    deps: depsOf(n.ev).map(hex), fresh: n, bit, ev: () => n.ev,
  };
}

export function merge(ctx: MergeContext, fresh: NewEvent[], known: Map<string, { pos: number }>): MergeOutcome {
  const { store, reg } = ctx;
  // The first position a new event can take is right after its last stored dependency.
  let start = ctx.lowerBound;
  for (const n of fresh) {
    const ds = depsOf(n.ev).map(hex);
    const stored = ds.map((k) => known.get(k)?.pos ?? -1).filter((p) => p >= 0);
    if (stored.length === 0 && ds.length > 0) continue; // placed after its new dependencies
    start = Math.min(start, stored.length ? Math.max(...stored) + 1 : 0);
  }
  if (!Number.isFinite(start)) start = store.nextPos();
  const N = fresh.length;
  const first = start;
  for (;;) {
    const rows = store.s('fromPos').all(start) as EventRow[];
    const depRows = store.s('depsFromPos').all(start) as DepRow[];
    const depsOfEid = new Map<number, DepRow[]>();
    for (const d of depRows) { let l = depsOfEid.get(d.child); if (!l) depsOfEid.set(d.child, (l = [])); l.push(d); }
    const outside = new Map<string, number>(); // key -> pos, dependencies below the window
    const nodes: WNode[] = [];
    for (const row of rows) {
      const ds = depsOfEid.get(row.eid) ?? [];
      for (const d of ds) if (d.pos < start) outside.set(d.id.toString('hex'), d.pos);
      nodes.push(storedNode(row, ds.map((d) => d.id.toString('hex')), reg));
    }
    fresh.forEach((n, i) => {
      const node = freshNode(n, i, reg);
      for (const k of node.deps) { const kn = known.get(k); if (kn && kn.pos >= 0 && kn.pos < start) outside.set(k, kn.pos); }
      nodes.push(node);
    });
    // desc[x]: which new events have x as an ancestor (or are x). Children before parents.
    const desc = new Map<string, Bits>(nodes.map((n) => [n.key, new Bits(N)]));
    const cand = new Map<string, Bits>();
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i]!;
      const b = desc.get(n.key)!;
      if (n.bit >= 0) b.set(n.bit);
      for (const k of n.deps) {
        const target = desc.get(k);
        if (target) { target.or(b); continue; }
        let c = cand.get(k);
        if (!c) cand.set(k, (c = new Bits(N)));
        c.or(b);
      }
    }
    for (const [k, h] of ctx.heads) if (h.pos < start && !cand.has(k)) { cand.set(k, new Bits(N)); outside.set(k, h.pos); }
    // Everything below the window must be an ancestor of every new event; the heads of the part
    // below are among `cand`, so it is enough that each candidate is reached by all of them.
    let lower = start;
    for (const [k, b] of cand) if (!b.full(N)) lower = Math.min(lower, outside.get(k) ?? 0);
    if (lower < start) {
      // Widen at least geometrically: a window that starts lower than needed is still correct
      // (everything below it is still an ancestor of every new event), while stepping back one
      // candidate at a time re-reads the window once per event back to the fork: quadratic when
      // a long concurrent branch arrives in chunks.
      start = Math.max(0, Math.min(lower, start - Math.max(64, 2 * (first - start))));
      continue;
    }
    return foldWindow(ctx, start, nodes, desc);
  }
}

function foldWindow(ctx: MergeContext, start: number, nodes: WNode[], desc: Map<string, Bits>): MergeOutcome {
  const { store, reg } = ctx;
  const db: KV = store.kv();
  const atStart = new Overlay(db);
  for (const u of store.s('undoFromPos').iterate(start) as Iterable<{ k: string; old: string | null }>) {
    if (!atStart.map.has(u.k)) atStart.set(u.k, u.old);
  }
  const global = new Overlay(atStart);
  const order = foldOrder(nodes);
  const out: MergeOutcome = { accepted: new Map(), rejected: new Map(), state: new Map(), undo: new Map(), order: [], start };
  const dropped = new Set<string>(ctx.rejected);
  const opts = { equivocatedFrom: ctx.equivocatedFrom };
  let cursor: { view: Overlay; folded: Set<number>; last: number } | null = null;
  const isAnc = (y: WNode, bit: number): boolean => desc.get(y.key)!.has(bit);

  for (let i = 0; i < order.length; i++) {
    const x = order[i]!;
    if (x.fresh) {
      const bad = x.deps.find((k) => dropped.has(k));
      if (bad) {
        dropped.add(x.key);
        out.rejected.set(x.key, { code: 'INVALID_PARENT', message: `depends on rejected event ${bad.slice(0, 12)}` });
        continue;
      }
      let causal: KV = global;
      let linear = true;
      for (let j = 0; j < i && linear; j++) if (!dropped.has(order[j]!.key) && !isAnc(order[j]!, x.bit)) linear = false;
      if (!linear) {
        // The event's causal position differs from the merged one: fold just its ancestors.
        // Reuse the previous causal view when what it folded is exactly this event's ancestry so far.
        let reuse = cursor !== null;
        for (let j = 0; reuse && cursor && j <= cursor.last; j++) {
          const y = order[j]!;
          if (!dropped.has(y.key) && isAnc(y, x.bit) !== cursor.folded.has(j)) reuse = false;
        }
        if (!reuse || !cursor) cursor = { view: new Overlay(atStart), folded: new Set(), last: -1 };
        for (let j = cursor.last + 1; j < i; j++) {
          const y = order[j]!;
          if (dropped.has(y.key) || !isAnc(y, x.bit)) continue;
          const r = runEvent(reg, cursor.view, y.ev(), opts);
          if (r.ok) r.tx.commitTo(cursor.view);
          cursor.folded.add(j);
        }
        cursor.last = i - 1;
        causal = cursor.view;
      }
      const atCausal = runEvent(reg, causal, x.ev(), opts);
      if (!atCausal.ok && atCausal.code !== 'EQUIVOCATION') {
        dropped.add(x.key);
        out.rejected.set(x.key, { code: atCausal.code, message: atCausal.message });
        continue;
      }
    }
    const r = runEvent(reg, global, x.ev(), opts);
    let softFail: string | null = null;
    if (r.ok) out.undo.set(x.key, r.tx.commitTo(global));
    else { softFail = `${r.code}: ${r.message}`; out.undo.set(x.key, []); }
    out.order.push({ key: x.key, ...(x.row ? { row: x.row } : {}), ...(x.fresh ? { fresh: x.fresh } : {}), softFail });
    if (x.fresh) out.accepted.set(x.key, { softFail, pos: start + out.order.length - 1 });
  }
  for (const k of new Set([...atStart.map.keys(), ...global.map.keys()])) out.state.set(k, global.get(k) ?? null);
  return out;
}
