// Pending events: verified events whose parents this replica does not hold yet, kept until the
// parents arrive. Anyone with a key can sign an event with made-up parents, so the pool is bounded
// (docs/sync-protocol.md 4.4): in count and bytes per author the ledger does not know (it refuses
// the author's next event), in count and bytes in total (the oldest are dropped first), and in
// age (expired). Pending events are local state: they are in no state hash and fold into nothing
// until released, so which ones a replica keeps changes only how soon it applies them (a dropped
// event comes back through reconciliation once its parents are there).
import type { Store } from './store.ts';
import type { SignedEvent } from './event.ts';

export interface PendingLimits {
  /** Pending events in total; beyond, the oldest are dropped. */
  maxCount: number;
  maxBytes: number;
  /** Per author without an event in the ledger; beyond, its next event is refused (PENDING_FULL). */
  maxPerAuthor: number;
  maxBytesPerAuthor: number;
  /** A pending event older than this is dropped. */
  expiryMs: number;
}

export const DEFAULT_PENDING_LIMITS: PendingLimits = {
  maxCount: 100_000,
  maxBytes: 64 * 1024 * 1024,
  maxPerAuthor: 256,
  maxBytesPerAuthor: 1024 * 1024,
  expiryMs: 24 * 3_600_000,
};

/** Where the author's key sits in an event encoding (docs/ledger-format.md: version u8, org 32 bytes). */
export const AUTHOR_AT = 1 + 32;

export function resolvePendingLimits(l: Partial<PendingLimits> = {}): PendingLimits {
  const out = { ...DEFAULT_PENDING_LIMITS, ...l };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`ledger pending limit ${k} must be a positive integer, got ${String(v)}`);
  }
  return out;
}

export type ParkOutcome = { parked: true; dropped: number } | { parked: false; message: string };

interface Totals { n: number; b: number }

export class PendingPool {
  /** Count and bytes in the pool, read once per ingest (begin()) and kept up to date within it. */
  private totals: Totals | null = null;
  private expiredAt = -Infinity;

  constructor(private readonly store: Store, private readonly limits: PendingLimits, private readonly now: () => number) {}

  /** Called at the start of each ingest transaction: the totals are read afresh on first use. */
  begin(): void { this.totals = null; }

  /**
   * Stores `ev` as pending (missing: the dependencies it waits for), dropping expired and then the
   * oldest events to make room; refuses it when its unknown author already has its share.
   */
  park(ev: SignedEvent, missing: string[]): ParkOutcome {
    const t = this.now();
    const l = this.limits;
    let dropped = 0;
    if (t - this.expiredAt >= 1000) {
      this.expiredAt = t;
      dropped += this.dropWhere(this.store.s('pendingExpired'), t - l.expiryMs);
    }
    const bytes = ev.raw.length;
    if (!this.store.s('authorGet').get(ev.author)) {
      const a = this.store.s('pendingOfAuthor').get(ev.author) as Totals;
      if (a.n + 1 > l.maxPerAuthor || a.b + bytes > l.maxBytesPerAuthor) {
        return { parked: false, message: `author ${ev.author.toString('hex').slice(0, 12)} is unknown here and has ${a.n} pending events (${a.b} bytes) already, at most ${l.maxPerAuthor} (${l.maxBytesPerAuthor} bytes)` };
      }
    }
    const tot = this.read();
    while (tot.n + 1 > l.maxCount || tot.b + bytes > l.maxBytes) {
      const n = this.dropWhere(this.store.s('pendingOldest'), null, 1);
      if (n === 0) break;
      dropped += n;
    }
    this.store.s('pendingAdd').run(ev.id, ev.raw, t);
    for (const m of missing) this.store.s('pendingMissingAdd').run(Buffer.from(m, 'hex'), ev.id);
    tot.n++;
    tot.b += bytes;
    return { parked: true, dropped };
  }

  /** `ev` left the pool (applied): the totals follow. */
  remove(ev: SignedEvent): void {
    const gone = this.store.s('pendingDel').run(ev.id).changes;
    this.store.s('pendingMissingDel').run(ev.id);
    if (gone > 0 && this.totals) {
      this.totals.n--;
      this.totals.b -= ev.raw.length;
    }
  }

  private read(): Totals {
    this.totals ??= { ...(this.store.s('pendingTotals').get() as Totals) };
    return this.totals;
  }

  /** Drops up to `limit` rows the statement selects (oldest first); returns how many. */
  private dropWhere(select: ReturnType<Store['s']>, before: number | null, limit = 64): number {
    const rows = (before === null ? select.all(limit) : select.all(before, limit)) as Array<{ id: Buffer; b: number }>;
    for (const r of rows) {
      this.store.s('pendingDel').run(r.id);
      this.store.s('pendingMissingDel').run(r.id);
      if (this.totals) {
        this.totals.n--;
        this.totals.b -= r.b;
      }
    }
    return rows.length;
  }
}
