// Reads stored events for peers: by id (events we found the peer lacks) and by id prefix
// (a peer's fetch). Reads go in slices with a pause between them, so serving a large
// catch-up never holds the event loop for long (decisions first: issue 5).
import type { Statement } from 'better-sqlite3';
import type { Ledger } from '../ledger/ledger.ts';
import { nextTurn } from './next-turn.ts';

export interface ReaderOptions {
  /**
   * Rows read between pauses. Default 32: a read by id costs 10-40 µs on a large ledger, so 256
   * of them held the event loop for up to 10 ms while a peer was sent its missing events.
   */
  slice?: number;
  pause?: () => Promise<void>;
}

interface RawRow { hlc_ms: number; hlc_c: number; id: Buffer; raw: Buffer }

/** The smallest byte string above every string that starts with `prefix`; null if none. */
export function prefixUpper(prefix: Buffer): Buffer | null {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  return null;
}

export class EventReader {
  private readonly byId: Statement;
  private readonly byRange: Statement;
  private readonly fromPrefix: Statement;
  private readonly slice: number;
  private readonly pause: () => Promise<void>;

  constructor(ledger: Ledger, opts: ReaderOptions = {}) {
    const db = ledger.db;
    this.byId = db.prepare('SELECT hlc_ms, hlc_c, id, raw FROM events WHERE id = ?');
    // A prefix names at most a couple of events; LIMIT bounds what a forged prefix can cost.
    this.byRange = db.prepare('SELECT hlc_ms, hlc_c, id, raw FROM events WHERE id >= ? AND id < ? LIMIT 2');
    this.fromPrefix = db.prepare('SELECT hlc_ms, hlc_c, id, raw FROM events WHERE id >= ? LIMIT 2');
    this.slice = opts.slice ?? 32;
    this.pause = opts.pause ?? nextTurn;
  }

  /**
   * Raw events with these ids, or whose ids start with one of these prefixes, each once, in
   * (hlc, id) order; what we do not hold is skipped. Empty if `stopped()` turns true.
   */
  async read(want: { ids?: readonly Buffer[]; prefixes?: readonly Buffer[] }, stopped: () => boolean = () => false): Promise<Buffer[]> {
    const rows = new Map<string, RawRow>();
    const keep = (r: RawRow): void => { rows.set(r.id.toString('latin1'), r); };
    let n = 0;
    const step = async (): Promise<boolean> => {
      if (++n % this.slice !== 0) return true;
      await this.pause();
      return !stopped();
    };
    for (const id of want.ids ?? []) {
      if (!(await step())) return [];
      const r = this.byId.get(id) as RawRow | undefined;
      if (r) keep(r);
    }
    for (const p of want.prefixes ?? []) {
      if (!(await step())) return [];
      const upper = prefixUpper(p);
      const found = (upper ? this.byRange.all(p, upper) : this.fromPrefix.all(p)) as RawRow[];
      for (const r of found) if (r.id.subarray(0, p.length).equals(p)) keep(r);
    }
    return sortRaw([...rows.values()]);
  }
}

function sortRaw(rows: RawRow[]): Buffer[] {
  // Parents are dated before their children: sending in clock order lets the peer apply
  // each batch without parking events as pending.
  rows.sort((a, b) => a.hlc_ms - b.hlc_ms || a.hlc_c - b.hlc_c || Buffer.compare(a.id, b.id));
  return rows.map((r) => r.raw);
}
