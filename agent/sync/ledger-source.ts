// The ledger's events as an rbsr ItemSource, keyed by (hlc, id) (docs/sync-protocol.md 1.1).
//
// Memory stays small on a Pi with a million events: the set is cut into blocks of about
// `blockSize` consecutive items, and only each block's first item, count and id sum are
// kept in memory. A block's items are read from SQLite's covering index events_hlc when a
// range ends inside it (a small LRU keeps the recent end hot, where partitions differ), so
// count and fingerprint of any range cost a binary search over blocks plus one block read:
// O(log n + blockSize), never O(range).
//
// The index follows the database, not callbacks: rows are applied in eid order (eids only
// grow; events are never deleted), and every read is limited to eid <= the last applied row,
// so a block read always agrees with the in-memory counts even while ingest runs.
import type { Statement } from 'better-sqlite3';
import type { Db } from '../ledger/db.ts';
import { SUM_WORDS, addId, fingerprintOf, subtractSums } from './rbsr/fingerprint.ts';
import type { Bound, Item } from './rbsr/item.ts';
import type { ItemSource } from './rbsr/item-source.ts';
import { addSums, compareKeys, compareToBound } from './item-keys.ts';
import { nextTurn } from './next-turn.ts';

export interface LedgerItemSourceOptions {
  /** Items per block after a split; a block splits when it reaches twice this. Default 128. */
  blockSize?: number;
  /** Blocks whose items are kept decoded in memory. Default 256. */
  cacheBlocks?: number;
}

interface Block {
  firstMs: number;
  firstC: number;
  firstId: Buffer;
  count: number;
  sum: Uint32Array;
}

interface Contents {
  ms: Float64Array;
  c: Uint16Array;
  ids: Buffer;
  /** prefix[i * 8 ..] = sum of the first i ids. */
  prefix: Uint32Array;
}

interface Spot { pos: number; block: number; off: number }

type Row = [number, number, number, Buffer];

const ZERO_SUM = new Uint32Array(SUM_WORDS);
const NO_SPOT = { bound: null, spot: { pos: 0, block: 0, off: 0 } };

export class LedgerItemSource implements ItemSource {
  private readonly blockSize: number;
  private readonly cacheBlocks: number;
  private readonly sql: { page: Statement; block: Statement; since: Statement; maxEid: Statement };
  private blocks: Block[] = [];
  private total = 0;
  private lastEid = 0;
  private loaded = false;
  /** starts[b]: position of block b's first item; cum[b * 8 ..]: sum of the ids before it. */
  private starts: number[] = [0];
  private cum = new Uint32Array(SUM_WORDS);
  private dirty = false;
  private readonly cache = new Map<Block, Contents>();
  private recent: Array<{ bound: Bound | null; spot: Spot }> = [NO_SPOT, NO_SPOT];

  constructor(db: Db, opts: LedgerItemSourceOptions = {}) {
    this.blockSize = opts.blockSize ?? 128;
    this.cacheBlocks = opts.cacheBlocks ?? 256;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${this.blockSize}`);
    if (!Number.isInteger(this.cacheBlocks) || this.cacheBlocks < 2) throw new RangeError(`cacheBlocks must be an integer >= 2, got ${this.cacheBlocks}`);
    // Row values use events_hlc as a covering index (it holds the rowid, so eid filters are free).
    this.sql = {
      page: db.prepare('SELECT rowid, hlc_ms, hlc_c, id FROM events WHERE (hlc_ms, hlc_c, id) > (?, ?, ?) AND rowid <= ? ORDER BY hlc_ms, hlc_c, id LIMIT ?').raw(),
      block: db.prepare('SELECT hlc_ms, hlc_c, id FROM events WHERE (hlc_ms, hlc_c, id) >= (?, ?, ?) AND rowid <= ? ORDER BY hlc_ms, hlc_c, id LIMIT ?').raw(),
      since: db.prepare('SELECT rowid, hlc_ms, hlc_c, id FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?').raw(),
      maxEid: db.prepare('SELECT max(rowid) FROM events').pluck(),
    };
  }

  get isLoaded(): boolean { return this.loaded; }

  /**
   * Builds the block summaries from the index in slices of `sliceRows`, awaiting `pause`
   * between slices so a large ledger never holds the event loop for long.
   */
  async load(opts: { sliceRows?: number; pause?: () => Promise<void>; warmBlocks?: number } = {}): Promise<void> {
    const slice = opts.sliceRows ?? 4096;
    const pause = opts.pause ?? nextTurn;
    this.loaded = false;
    this.blocks = [];
    this.total = 0;
    this.cache.clear();
    const upto = (this.sql.maxEid.get() as number | null) ?? 0;
    let cursor: [number, number, Buffer] = [-1, 0, Buffer.alloc(0)];
    let current: Block | undefined;
    for (;;) {
      const rows = this.sql.page.all(cursor[0], cursor[1], cursor[2], upto, slice) as Row[];
      for (const [, ms, c, id] of rows) {
        if (!current || current.count >= this.blockSize) {
          current = { firstMs: ms, firstC: c, firstId: id, count: 0, sum: new Uint32Array(SUM_WORDS) };
          this.blocks.push(current);
        }
        current.count++;
        addId(current.sum, 0, id);
        this.total++;
      }
      if (rows.length < slice) break;
      const last = rows[rows.length - 1]!;
      cursor = [last[1], last[2], last[3]];
      await pause();
    }
    this.lastEid = upto;
    this.dirty = true;
    this.loaded = true;
    this.refresh();
    // Partitions differ at the recent end, where a session's ranges get fine: read those blocks
    // now, a few per turn, rather than all at once inside the first session's reconcile (tens of
    // block reads in one go held the event loop for about 9 ms on a 100,000-event ledger).
    const warm = Math.min(this.blocks.length, opts.warmBlocks ?? 64, this.cacheBlocks);
    for (let b = this.blocks.length - warm; b < this.blocks.length; b++) {
      this.contents(b); // blocks only split or grow meanwhile: an index still names a block
      if ((b + 1) % 4 === 0) await pause();
      if (!this.loaded) return; // loaded again meanwhile
    }
  }

  /** Applies events appended since the last load or refresh; returns how many. */
  refresh(): number {
    if (!this.loaded) throw new Error('LedgerItemSource.refresh() before load()');
    let applied = 0;
    const grown = new Set<Block>();
    for (;;) {
      const rows = this.sql.since.all(this.lastEid, 8192) as Row[];
      for (const [eid, ms, c, id] of rows) {
        const b = this.insert(ms, c, id);
        if (b.count >= 2 * this.blockSize) grown.add(b);
        this.lastEid = eid;
      }
      applied += rows.length;
      if (rows.length < 8192) break;
    }
    // Split only once every row up to lastEid is counted, so block reads agree with the counts.
    for (const b of grown) this.split(b);
    return applied;
  }

  size(): number { return this.total; }

  count(lower: Bound, upper: Bound): number {
    return Math.max(0, this.locate(upper).pos - this.locate(lower).pos);
  }

  fingerprint(lower: Bound, upper: Bound): Buffer {
    const lo = this.locate(lower);
    const hi = this.locate(upper);
    if (hi.pos <= lo.pos) return fingerprintOf(ZERO_SUM, 0);
    return fingerprintOf(subtractSums(this.sumAt(hi), 0, this.sumAt(lo), 0), hi.pos - lo.pos);
  }

  ids(lower: Bound, upper: Bound): Buffer[] {
    const lo = this.locate(lower);
    const hi = this.locate(upper);
    const out: Buffer[] = [];
    let b = lo.block;
    let off = lo.off;
    for (let pos = lo.pos; pos < hi.pos; pos++) {
      while (off >= this.blocks[b]!.count) { b++; off = 0; }
      const k = this.contents(b);
      out.push(Buffer.from(k.ids.subarray(off * 32, off * 32 + 32)));
      off++;
    }
    return out;
  }

  itemsAt(lower: Bound, upper: Bound, positions: readonly number[]): Item[] {
    const lo = this.locate(lower);
    const n = Math.max(0, this.locate(upper).pos - lo.pos);
    return positions.map((p) => {
      if (!Number.isInteger(p) || p < 0 || p >= n) throw new RangeError(`position ${p} outside a range of ${n} items`);
      const pos = lo.pos + p;
      const b = this.blockAtPos(pos);
      const off = pos - this.starts[b]!;
      const k = this.contents(b);
      return { ts: { ms: k.ms[off]!, c: k.c[off]! }, id: Buffer.from(k.ids.subarray(off * 32, off * 32 + 32)) };
    });
  }

  // ---- internals -----------------------------------------------------------------------------

  private insert(ms: number, c: number, id: Buffer): Block {
    // The block to hold it: the last whose first item is <= it (block 0 if it is the smallest).
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.blocks[mid]!;
      if (compareKeys(b.firstMs, b.firstC, b.firstId, ms, c, id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    let block = this.blocks[Math.max(0, lo - 1)];
    if (!block) {
      block = { firstMs: ms, firstC: c, firstId: id, count: 0, sum: new Uint32Array(SUM_WORDS) };
      this.blocks.push(block);
    } else if (lo === 0) {
      block.firstMs = ms;
      block.firstC = c;
      block.firstId = id;
    }
    block.count++;
    addId(block.sum, 0, id);
    this.total++;
    this.cache.delete(block);
    this.dirty = true;
    return block;
  }

  private split(block: Block): void {
    const at = this.blocks.indexOf(block);
    if (at < 0) return;
    const rows = this.readBlock(block);
    const parts: Block[] = [];
    for (let i = 0; i < rows.length; i += this.blockSize) {
      const chunk = rows.slice(i, i + this.blockSize);
      const sum = new Uint32Array(SUM_WORDS);
      for (const r of chunk) addId(sum, 0, r[2]);
      parts.push({ firstMs: chunk[0]![0], firstC: chunk[0]![1], firstId: chunk[0]![2], count: chunk.length, sum });
    }
    this.blocks.splice(at, 1, ...parts);
    this.cache.delete(block);
    this.dirty = true;
  }

  private readBlock(b: Block): Array<[number, number, Buffer]> {
    const rows = this.sql.block.all(b.firstMs, b.firstC, b.firstId, this.lastEid, b.count) as Array<[number, number, Buffer]>;
    if (rows.length !== b.count) {
      // Only a database changed behind our back (rows deleted) gets here; rebuild next time.
      this.loaded = false;
      throw new Error(`ledger item index out of step with the database: a block of ${b.count} items read back ${rows.length}`);
    }
    return rows;
  }

  private contents(b: number): Contents {
    const block = this.blocks[b]!;
    const hit = this.cache.get(block);
    if (hit) {
      this.cache.delete(block);
      this.cache.set(block, hit);
      return hit;
    }
    const rows = this.readBlock(block);
    const n = rows.length;
    const k: Contents = { ms: new Float64Array(n), c: new Uint16Array(n), ids: Buffer.allocUnsafe(n * 32), prefix: new Uint32Array((n + 1) * SUM_WORDS) };
    for (let i = 0; i < n; i++) {
      const [ms, c, id] = rows[i]!;
      k.ms[i] = ms;
      k.c[i] = c;
      id.copy(k.ids, i * 32);
      k.prefix.copyWithin((i + 1) * SUM_WORDS, i * SUM_WORDS, (i + 1) * SUM_WORDS);
      addId(k.prefix, (i + 1) * SUM_WORDS, id);
    }
    if (this.cache.size >= this.cacheBlocks) this.cache.delete(this.cache.keys().next().value as Block);
    this.cache.set(block, k);
    return k;
  }

  private settle(): void {
    if (!this.dirty) return;
    this.recent = [NO_SPOT, NO_SPOT]; // positions move when blocks change
    const nb = this.blocks.length;
    const starts = new Array<number>(nb + 1);
    const cum = new Uint32Array((nb + 1) * SUM_WORDS);
    starts[0] = 0;
    for (let b = 0; b < nb; b++) {
      const block = this.blocks[b]!;
      starts[b + 1] = starts[b]! + block.count;
      addSums(cum, (b + 1) * SUM_WORDS, cum, b * SUM_WORDS, block.sum, 0);
    }
    this.starts = starts;
    this.cum = cum;
    this.dirty = false;
  }

  /** Where a bound falls: the number of items below it, and that spot's block and offset. */
  private locate(bound: Bound): Spot {
    if (!this.loaded) throw new Error('LedgerItemSource used before load()');
    this.settle();
    // Ranges come in order, each starting at the bound the one before ended at (the same object):
    // remembering the last two spots halves the searches of a frame with hundreds of ranges.
    for (const m of this.recent) if (m.bound === bound) return m.spot;
    const spot = this.search(bound);
    this.recent = [this.recent[1]!, { bound, spot }];
    return spot;
  }

  private search(bound: Bound): Spot {
    // k = number of blocks whose first item lies below the bound.
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.blocks[mid]!;
      if (compareToBound(b.firstMs, b.firstC, b.firstId, 0, bound) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return { pos: 0, block: 0, off: 0 };
    const block = lo - 1;
    const k = this.contents(block);
    let a = 1; // the first item is below the bound
    let z = this.blocks[block]!.count;
    while (a < z) {
      const mid = (a + z) >>> 1;
      if (compareToBound(k.ms[mid]!, k.c[mid]!, k.ids, mid * 32, bound) < 0) a = mid + 1;
      else z = mid;
    }
    return { pos: this.starts[block]! + a, block, off: a };
  }

  private sumAt(s: Spot): Uint32Array {
    const out = new Uint32Array(SUM_WORDS);
    if (this.blocks.length === 0) return out;
    if (s.off === 0) {
      out.set(this.cum.subarray(s.block * SUM_WORDS, (s.block + 1) * SUM_WORDS));
      return out;
    }
    addSums(out, 0, this.cum, s.block * SUM_WORDS, this.contents(s.block).prefix, s.off * SUM_WORDS);
    return out;
  }

  private blockAtPos(pos: number): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
