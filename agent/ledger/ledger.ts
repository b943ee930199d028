// The ledger: an offline replica of the organisation's signed event DAG in SQLite, with the
// dapps' derived state in the same database, updated in the same transaction as the append.
// Ingest pipeline (docs/ledger-format.md, "Ingest"): size -> decode -> canonical -> id ->
// signature -> dependencies known? (else pending) -> dapp validation at the causal position ->
// append + apply, atomically.
import { DappRegistry, type Dapp } from './dapp.ts';
import { openDb, type OpenDbOptions } from './db.ts';
import { LedgerError, type RejectionCode } from './errors.ts';
import { decodeEvent, depsOf, encodeUnsigned, hex, signingBytes, unsignedPart, ZERO_ID, FORMAT_VERSION, type AppendedEvent, type SignedEvent } from './event.ts';
import { verifyNative, verifyNativeAsync, type Signer } from './crypto.ts';
import { compareHlc, maxHlc, nextHlc, type Hlc } from './hlc.ts';
import { merge, type NewEvent } from './merge.ts';
import { Checkpointer } from './checkpointer.ts';
import { runEvent } from './run-event.ts';
import { formatStateHash, updateStateHash, type Val } from './state.ts';
import { Store, type EventRow } from './store.ts';
import { LedgerWriter } from './writer.ts';
import { PendingPool, resolvePendingLimits, type PendingLimits } from './pending.ts';
import { addStats, dappSignature, unpack, type IngestReply } from './writer-wire.ts';
import type { Json } from './canonical-json.ts';

/** Parsed state values kept for get(): enough for a door's members, badges and rules. */
const READ_CACHE_MAX = 20_000;

export type IngestStatus = 'accepted' | 'duplicate' | 'pending' | 'rejected';
export interface IngestResult {
  status: IngestStatus;
  id?: string;
  code?: RejectionCode;
  message?: string;
  /** Accepted and kept, but not applied: valid where it was made, not in the merged order. */
  softFail?: string;
  /** Kept as evidence although rejected (the second event of an equivocation). */
  kept?: boolean;
  /** Pending: the dependencies still missing. */
  missing?: string[];
  /** Pending: older pending events dropped to make room for it (the pool was full). */
  dropped?: number;
}

export interface IngestOptions {
  /** All of the batch or none of it. */
  atomic?: boolean;
  /** false for events peers also hold (sync catch-up): commit without waiting for an fsync. Default true. */
  durable?: boolean;
}

export interface LedgerOptions extends OpenDbOptions {
  path: string;
  dapps: Dapp[];
  /** The organisation this replica belongs to (its genesis id). Learnt from the genesis if absent. */
  orgId?: Buffer;
  /** How far ahead of this node's clock an event may be dated (docs/design-notes.md lesson 5). */
  maxSkewMs?: number;
  now?: () => number;
  /** Pending events in total at most (default 100,000); the same as pending.maxCount. */
  maxPending?: number;
  /** Bounds of the pending pool (agent/ledger/pending.ts); maxPending, if given, sets maxCount. */
  pending?: Partial<PendingLimits>;
  /** Events folded per merge window; bounds memory when a large batch is concurrent. */
  mergeChunk?: number;
  /**
   * 'worker': WAL checkpoints run in a worker thread (agent/ledger/checkpointer.ts), never in a
   * commit on the event loop; for the agent. Default 'inline' (SQLite's own), for tools and tests.
   */
  checkpoint?: 'inline' | 'worker';
  onCheckpointError?: (message: string) => void;
  /**
   * 'worker': ingestAsync (peers' batches, bundles) runs in a writer thread with its own
   * connection (agent/ledger/writer.ts), so that decoding, validation and merges never hold the
   * event loop; this thread keeps reading the last committed state. For the agent; needs a file
   * path. Default 'inline'.
   */
  writer?: 'inline' | 'worker';
  /** The module and export the writer thread loads the dapps from; default the agent's (agent/dapps.ts). */
  writerDapps?: { module: string; export: string };
  writerIdleMs?: number;
  onWriterError?: (message: string) => void;
}

interface Prepared { ev: SignedEvent; key: string; idx: number }
interface Known { eid: number; pos: number; hlc: Hlc; author: string; seq: number }

export class Ledger {
  readonly store: Store;
  readonly reg: DappRegistry;
  private org: Buffer | null;
  private readonly maxSkewMs: number;
  private readonly now: () => number;
  private readonly pendingLimits: PendingLimits;
  private readonly pool: PendingPool;
  private readonly mergeChunk: number;
  private readonly synchronous: 'FULL' | 'NORMAL' | 'OFF';
  private readonly checkpointer: Checkpointer | null;
  private readonly writer: LedgerWriter | null;
  private dataVersion: number;
  private inSnapshot = false;
  private headsCache = new Map<string, { eid: number; pos: number }>();
  private readonly readCache = new Map<string, unknown>();
  private equivocatedFrom = new Map<string, number>();
  private hash: bigint;
  private seen: Hlc;
  private closed = false;
  /** Counters for status and metrics: events appended on the fast path, merge windows folded. */
  readonly stats = { linear: 0, merges: 0, mergedEvents: 0, refolded: 0 };
  /** Called after each committed ingest with the events that were appended (sync publishes them). */
  onAppend: ((events: AppendedEvent[]) => void) | null = null;

  static open(opts: LedgerOptions): Ledger { return new Ledger(opts); }

  private constructor(opts: LedgerOptions) {
    this.store = new Store(openDb(opts.path, opts));
    this.reg = new DappRegistry(opts.dapps);
    this.maxSkewMs = opts.maxSkewMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
    this.pendingLimits = resolvePendingLimits({ ...opts.pending, ...(opts.maxPending !== undefined && { maxCount: opts.maxPending }) });
    this.pool = new PendingPool(this.store, this.pendingLimits, this.now);
    this.mergeChunk = opts.mergeChunk ?? 1024;
    this.synchronous = opts.synchronous ?? 'FULL';
    this.checkpointer = opts.checkpoint === 'worker' && opts.path !== ':memory:' && !opts.readonly
      ? new Checkpointer(this.store.db, opts.path, { onError: opts.onCheckpointError })
      : null;
    const org = this.store.meta('org');
    this.org = org ? Buffer.from(org, 'hex') : (opts.orgId ?? null);
    if (org && opts.orgId && !opts.orgId.equals(this.org!)) {
      throw new LedgerError('WRONG_ORG', `database belongs to org ${org.slice(0, 12)}, expected ${hex(opts.orgId).slice(0, 12)}`);
    }
    this.hash = 0n;
    this.seen = { ms: 0, c: 0 };
    this.dataVersion = this.store.dataVersion();
    this.reloadAll();
    this.writer = opts.writer === 'worker' && opts.path !== ':memory:' && !opts.readonly
      ? new LedgerWriter({
        path: opts.path, synchronous: this.synchronous, maxSkewMs: this.maxSkewMs, pending: this.pendingLimits, mergeChunk: this.mergeChunk,
        orgId: opts.orgId ? hex(opts.orgId) : null, dapps: opts.writerDapps ?? null, names: dappSignature(opts.dapps),
      }, { ...(opts.writerIdleMs !== undefined && { idleMs: opts.writerIdleMs }), ...(opts.onWriterError && { onError: opts.onWriterError }) })
      : null;
  }

  /** Everything kept in memory, read again from the database (after another connection wrote). */
  private reloadAll(): void {
    const org = this.store.meta('org');
    if (org) this.org = Buffer.from(org, 'hex');
    this.hash = BigInt(`0x${this.store.meta('state_hash') ?? '0'}`);
    const seen = this.store.meta('hlc');
    this.seen = seen ? (JSON.parse(seen) as Hlc) : { ms: 0, c: 0 };
    this.reloadCaches();
  }

  /**
   * Catches up with commits made by another connection to the same file: the writer thread, or a
   * `gdo` command run beside the agent. SQLite bumps data_version for those only
   * (https://www.sqlite.org/pragma.html#pragma_data_version), so this costs one pragma read when
   * nothing changed. Every write transaction starts with it, so state hash and heads stay exact.
   */
  refresh(): void {
    if (this.closed) return;
    const v = this.store.dataVersion();
    if (v === this.dataVersion) return;
    this.dataVersion = v;
    this.reloadAll();
  }

  /**
   * Runs `fn` against one committed state: a decision reads several keys, and a merge committed
   * by the writer thread between two of them must not give it half of each.
   */
  snapshot<T>(fn: () => T): T {
    if (this.inSnapshot || this.store.db.inTransaction) return fn();
    this.store.s('begin').run();
    this.inSnapshot = true;
    try {
      this.refresh();
      return fn();
    } finally {
      this.inSnapshot = false;
      this.store.s('commit').run();
    }
  }

  /** A batch is being written by the writer thread (which may hold the write lock). */
  get writerBusy(): boolean { return this.writer?.busy ?? false; }

  /**
   * Runs `fn` when the writer thread holds no batch, before it is handed the next: a write on
   * this thread then never waits for the writer's lock (the access log's group commit).
   */
  whenWriterIdle(fn: () => void): void {
    if (this.writer) this.writer.whenIdle(fn); else fn();
  }

  get writerStats(): LedgerWriter['stats'] | null { return this.writer?.stats ?? null; }
  get writerRunning(): boolean { return this.writer?.running ?? false; }
  /** ingestAsync runs in the writer thread (opened with writer: 'worker'). */
  get ingestsInThread(): boolean { return this.writer !== null; }

  private reloadCaches(): void {
    this.readCache.clear();
    this.headsCache = new Map();
    for (const h of this.store.s('heads').all() as Array<{ eid: number; id: Buffer; pos: number }>) {
      this.headsCache.set(h.id.toString('hex'), { eid: h.eid, pos: h.pos });
    }
    this.equivocatedFrom = new Map();
    for (const r of this.store.s('eqAll').all() as Array<{ key: Buffer; seq: number }>) this.equivocatedFrom.set(r.key.toString('hex'), r.seq);
  }

  get orgId(): Buffer | null { return this.org; }
  get db() { return this.store.db; }
  heads(): string[] { this.refreshOutside(); return [...this.headsCache.keys()].sort(); }
  count(): number { return this.store.count(); }
  stateHash(): string { this.refreshOutside(); return formatStateHash(this.hash); }
  latestHlc(): Hlc { this.refreshOutside(); return this.seen; }
  /** Within snapshot() the state was refreshed when it began; reads there skip the pragma. */
  private refreshOutside(): void { if (!this.inSnapshot) this.refresh(); }

  /**
   * Reads a derived-state value (JSON) outside the fold: for decisions and the CLI. Parsed values
   * are cached (bounded) and dropped when the key is written, so a badge at the door costs map
   * lookups rather than SQLite reads and JSON parses. Callers must treat the value as read-only.
   */
  get<T = unknown>(key: string): T | undefined {
    this.refreshOutside();
    if (this.readCache.has(key)) return this.readCache.get(key) as T | undefined;
    const v = this.store.stateGet(key);
    const parsed = v === undefined ? undefined : (JSON.parse(v) as T);
    if (this.readCache.size >= READ_CACHE_MAX) this.readCache.delete(this.readCache.keys().next().value!);
    this.readCache.set(key, parsed);
    return parsed;
  }

  scan<T = unknown>(prefix: string): Array<[string, T]> {
    const rows = this.store.s('stateScan').all(prefix, `${prefix}\uffff`) as Array<{ k: string; v: string }>;
    return rows.map((r) => [r.k, JSON.parse(r.v) as T]);
  }

  getEvent(id: Buffer): SignedEvent | undefined {
    const row = this.store.s('byId').get(id) as EventRow | undefined;
    return row ? decodeEvent(row.raw) : undefined;
  }

  hasEvent(id: Buffer): boolean { return this.store.s('brief').get(id) !== undefined; }

  /** Every event in fold order (what a bundle export carries). */
  *events(): IterableIterator<Buffer> {
    for (const r of this.store.s('all').iterate() as Iterable<{ raw: Buffer }>) yield r.raw;
  }

  softFailed(): Array<{ id: string; dapp: string; type: string; reason: string }> {
    return (this.store.s('softFailed').all() as Array<{ id: Buffer; dapp: string; type: string; soft_fail: string }>)
      .map((r) => ({ id: r.id.toString('hex'), dapp: r.dapp, type: r.type, reason: r.soft_fail }));
  }

  equivocations(): Array<{ author: string; seq: number; a: string; b: string }> {
    return (this.store.s('eqList').all() as Array<{ key: Buffer; seq: number; a: Buffer; b: Buffer }>)
      .map((r) => ({ author: r.key.toString('hex'), seq: r.seq, a: r.a.toString('hex'), b: r.b.toString('hex') }));
  }

  pendingCount(): number { return (this.store.s('pendingCount').get() as { n: number }).n; }
  /** Ids that pending events wait for: what sync should ask peers for. */
  missingIds(limit = 1000): Buffer[] {
    return (this.store.s('pendingMissingAll').all(limit) as Array<{ missing: Buffer }>).map((r) => r.missing);
  }

  // ---- ingest -------------------------------------------------------------------------------

  /** Stateless checks, in pipeline order, up to (not including) the signature. */
  private prepare(raw: Buffer, idx: number, out: IngestResult[]): Prepared | null {
    let ev: SignedEvent;
    try { ev = decodeEvent(raw); } catch (e) {
      if (e instanceof LedgerError) { out[idx] = { status: 'rejected', code: e.code, message: e.message }; return null; }
      out[idx] = { status: 'rejected', code: 'BAD_ENCODING', message: String((e as Error).message) };
      return null;
    }
    const key = hex(ev.id);
    const fail = (code: RejectionCode, message: string): null => { out[idx] = { status: 'rejected', id: key, code, message }; return null; };
    const genesis = ev.dapp === 'org' && ev.type === 'genesis';
    if (genesis ? this.org && !ev.id.equals(this.org) : this.org && !ev.org.equals(this.org)) {
      return fail('WRONG_ORG', `event belongs to org ${hex(genesis ? ev.id : ev.org).slice(0, 12)}, this ledger is ${hex(this.org!).slice(0, 12)}`);
    }
    if (ev.hlc.ms > this.now() + this.maxSkewMs) {
      return fail('FROM_FUTURE', `dated ${new Date(ev.hlc.ms).toISOString()}, more than ${this.maxSkewMs} ms ahead of this node's clock`);
    }
    const spec = this.reg.type(ev.dapp, ev.type);
    if (!spec) return fail('UNKNOWN_TYPE', `no dapp on this node declares ${ev.dapp}/${ev.type}`);
    if (this.hasEvent(ev.id) || this.store.s('pendingHas').get(ev.id)) { out[idx] = { status: 'duplicate', id: key }; return null; }
    return { ev, key, idx };
  }

  /** Stateless checks of a whole batch; an event listed twice is a duplicate the second time. */
  private prepareBatch(raws: Buffer[], out: IngestResult[]): Prepared[] {
    const prepared: Prepared[] = [];
    const seenKeys = new Set<string>();
    raws.forEach((raw, i) => {
      const p = this.prepare(raw, i, out);
      if (!p) return;
      if (seenKeys.has(p.key)) { out[i] = { status: 'duplicate', id: p.key }; return; }
      seenKeys.add(p.key);
      prepared.push(p);
    });
    return prepared;
  }

  /** Keeps the events whose signature verified; the others are rejected in `out`. */
  private verified(prepared: Prepared[], oks: boolean[], out: IngestResult[]): Prepared[] {
    return prepared.filter((p, j) => {
      if (oks[j]) return true;
      out[p.idx] = { status: 'rejected', id: p.key, code: 'BAD_SIGNATURE', message: `signature of event ${p.key.slice(0, 12)} does not verify for author ${hex(p.ev.author).slice(0, 12)}` };
      return false;
    });
  }

  /** Ingests with signatures checked on this thread: for single live events, and in the writer thread. */
  ingest(raws: Buffer[], opts: IngestOptions = {}): IngestResult[] {
    const out: IngestResult[] = new Array(raws.length);
    const prepared = this.prepareBatch(raws, out);
    const ready = this.verified(prepared, prepared.map((p) => verifyNative(p.ev.author, signingBytes(unsignedPart(p.ev)), p.ev.sig)), out);
    this.commit(ready, out, opts.atomic ?? false, opts.durable ?? true);
    return out;
  }

  /** Ingests a batch with signatures verified on libuv's thread pool (catch-up, bundles), or in the writer thread. */
  async ingestAsync(raws: Buffer[], opts: IngestOptions = {}): Promise<IngestResult[]> {
    if (this.writer) return this.ingestInWriter(raws, opts);
    const out: IngestResult[] = new Array(raws.length);
    const prepared = this.prepareBatch(raws, out);
    const oks = await Promise.all(prepared.map((p) => verifyNativeAsync(p.ev.author, signingBytes(unsignedPart(p.ev)), p.ev.sig)));
    const ready = this.verified(prepared, oks, out);
    if (this.closed) throw new Error('ledger closed during ingest');
    this.commit(ready, out, opts.atomic ?? false, opts.durable ?? true);
    return out;
  }

  private async ingestInWriter(raws: Buffer[], opts: IngestOptions): Promise<IngestResult[]> {
    if (this.closed) throw new Error('ledger closed');
    const reply: IngestReply = await this.writer!.ingest(raws, opts.atomic ?? false, opts.durable ?? true);
    if (this.closed) return reply.results;
    this.refresh();
    addStats(this.stats, reply.stats);
    if (reply.kinds.length && this.onAppend) {
      const ids = Buffer.from(reply.ids.buffer, reply.ids.byteOffset, reply.ids.byteLength);
      const events: AppendedEvent[] = unpack(reply.appended).map((raw, i) => ({ id: ids.subarray(32 * i, 32 * i + 32), raw, dapp: reply.kinds[i]![0], type: reply.kinds[i]![1] }));
      this.onAppend(events);
    }
    return reply.results;
  }

  private commit(ready: Prepared[], out: IngestResult[], atomic: boolean, durable: boolean): void {
    // Events a peer sent can be fetched again after a power cut (reconciliation), so their commit
    // need not wait for an fsync, which on an SD card can block the event loop, and so the door,
    // for a hundred milliseconds. WAL with synchronous=NORMAL stays consistent; only the newest
    // such commits may be lost. This node's own events are its only copy: they keep FULL.
    const relax = !durable && this.synchronous === 'FULL';
    if (relax) this.store.db.pragma('synchronous = NORMAL');
    try { this.commitNow(ready, out, atomic); } finally { if (relax) this.store.db.pragma('synchronous = FULL'); }
  }

  private commitNow(ready: Prepared[], out: IngestResult[], atomic: boolean): void {
    // An atomic batch with an event already rejected still runs, to be rolled back: every input
    // then has the result this ledger gives it (callers read them all, and name the first refusal).
    const appended: SignedEvent[] = [];
    const run = this.store.db.transaction(() => {
      // Under the write lock: whatever another connection committed is in memory before we build on it.
      this.refresh();
      const results = this.appendVerified(ready, appended);
      for (const p of ready) out[p.idx] = results.get(p.key) ?? { status: 'rejected', id: p.key, code: 'BAD_CHAIN', message: 'not processed' };
      if (atomic && out.some((r) => r?.status === 'rejected')) throw new AtomicAbort();
      this.store.setMeta('state_hash', formatStateHash(this.hash));
      this.store.setMeta('hlc', JSON.stringify(this.seen));
      if (this.org) this.store.setMeta('org', hex(this.org));
    });
    try { run.immediate(); } catch (e) {
      this.reloadAll(); // what the rollback left
      if (!(e instanceof AtomicAbort)) throw e;
      appended.length = 0;
    }
    if (appended.length && this.onAppend) this.onAppend(appended);
  }

  // Inside the transaction: resolves dependencies, checks chains and clocks, then appends.
  private appendVerified(batch: Prepared[], appended: SignedEvent[]): Map<string, IngestResult> {
    const results = new Map<string, IngestResult>();
    const cand = new Map<string, SignedEvent>();
    this.pool.begin();
    for (const p of batch) cand.set(p.key, p.ev);
    // Pending events waiting for any of these come along (they were verified when parked).
    const queue = [...cand.keys()];
    while (queue.length) {
      const k = queue.pop()!;
      for (const r of this.store.s('pendingWaitingOn').all(Buffer.from(k, 'hex')) as Array<{ id: Buffer; raw: Buffer }>) {
        const pk = r.id.toString('hex');
        if (cand.has(pk)) continue;
        cand.set(pk, decodeEvent(r.raw));
        queue.push(pk);
      }
    }
    const known = new Map<string, Known>();
    const lookup = (k: string): Known | undefined => {
      let kn = known.get(k);
      if (kn) return kn;
      const row = this.store.s('brief').get(Buffer.from(k, 'hex')) as { eid: number; pos: number; hlc_ms: number; hlc_c: number; aid: number; seq: number } | undefined;
      if (!row) return undefined;
      const akey = (this.store.s('authorKey').get(row.aid) as { key: Buffer }).key;
      kn = { eid: row.eid, pos: row.pos, hlc: { ms: row.hlc_ms, c: row.hlc_c }, author: akey.toString('hex'), seq: row.seq };
      known.set(k, kn);
      return kn;
    };
    // Park what still misses a dependency; a missing parent means "retry later", never invalid.
    const parked = new Set<string>();
    for (let changed = true; changed;) {
      changed = false;
      for (const [k, ev] of cand) {
        if (parked.has(k)) continue;
        const missing = depsOf(ev).map(hex).filter((d) => parked.has(d) || (!cand.has(d) && !lookup(d)));
        if (missing.length === 0) continue;
        parked.add(k);
        changed = true;
        const out = this.pool.park(ev, missing);
        if (out.parked) results.set(k, { status: 'pending', id: k, missing, ...(out.dropped > 0 && { dropped: out.dropped }) });
        else results.set(k, { status: 'rejected', id: k, code: 'PENDING_FULL', message: out.message });
      }
    }
    const ready = [...cand].filter(([k]) => !parked.has(k)).map(([k, ev]) => ({ key: k, ev }));
    ready.sort((a, b) => compareHlc(a.ev.hlc, b.ev.hlc) || Buffer.compare(a.ev.id, b.ev.id));
    const rejected = new Set<string>();
    const checked: NewEvent[] = [];
    let lowerBound = Infinity;
    const batchAtSeq = new Map<string, string>();
    for (const n of ready) {
      const why = this.checkLinks(n.ev, n.key, cand, lookup, rejected);
      if (why) { rejected.add(n.key); results.set(n.key, { status: 'rejected', id: n.key, ...why }); continue; }
      // Equivocation: a different event at the same author and sequence number, here or stored.
      const author = hex(n.ev.author);
      const aid = this.store.aid(n.ev.author);
      const stored = aid === undefined ? [] : (this.store.s('atSeq').all(aid, n.ev.seq) as Array<{ eid: number; id: Buffer; pos: number }>);
      const other = stored.find((r) => !r.id.equals(n.ev.id))?.id.toString('hex') ?? batchAtSeq.get(`${author}:${n.ev.seq}`);
      batchAtSeq.set(`${author}:${n.ev.seq}`, n.key);
      if (other !== undefined) {
        const a = this.store.ensureAid(n.ev.author);
        const [x, y] = [other, n.key].sort();
        this.store.s('eqAdd').run(a, n.ev.seq, Buffer.from(x!, 'hex'), Buffer.from(y!, 'hex'));
        const prevFrom = this.equivocatedFrom.get(author);
        if (prevFrom === undefined || n.ev.seq < prevFrom) {
          this.equivocatedFrom.set(author, n.ev.seq);
          const first = (this.store.s('firstPosFromSeq').get(a, n.ev.seq) as { p: number | null }).p;
          if (first !== null) lowerBound = Math.min(lowerBound, first);
        }
        results.set(n.key, { status: 'rejected', id: n.key, code: 'EQUIVOCATION', kept: true,
          message: `author ${author.slice(0, 12)} signed two events at seq ${n.ev.seq} (${other.slice(0, 12)} and ${n.key.slice(0, 12)}); both kept as proof, neither applied` });
      }
      if (n.ev.dapp === 'org' && n.ev.type === 'genesis' && !this.org) this.org = n.ev.id;
      if (!(n.ev.dapp === 'org' && n.ev.type === 'genesis') && (!this.org || !n.ev.org.equals(this.org))) {
        rejected.add(n.key);
        results.set(n.key, { status: 'rejected', id: n.key, code: 'WRONG_ORG', message: this.org ? `event belongs to org ${hex(n.ev.org).slice(0, 12)}` : 'this ledger has no genesis yet' });
        continue;
      }
      checked.push(n);
    }
    // Fast path: an event whose dependencies cover every head extends the whole ledger, so its
    // causal position is the current state. Anything else is merged in windows.
    let i = 0;
    if (lowerBound === Infinity) {
      for (; i < checked.length; i++) {
        const n = checked[i]!;
        const deps = new Set(depsOf(n.ev).map(hex));
        const bad = [...deps].find((d) => rejected.has(d));
        if (bad) {
          rejected.add(n.key);
          results.set(n.key, { status: 'rejected', id: n.key, code: 'INVALID_PARENT', message: `depends on rejected event ${bad.slice(0, 12)}` });
          continue;
        }
        if (![...this.headsCache.keys()].every((h) => deps.has(h))) break;
        if (this.appendLinear(n, lookup, results)) appended.push(n.ev);
        else rejected.add(n.key);
      }
    }
    for (let j = i; j < checked.length; j += this.mergeChunk) {
      const chunk = checked.slice(j, j + this.mergeChunk);
      this.appendMerged(chunk, lookup, known, results, appended, lowerBound, rejected);
      lowerBound = Infinity;
    }
    return results;
  }

  private checkLinks(ev: SignedEvent, key: string, cand: Map<string, SignedEvent>, lookup: (k: string) => Known | undefined, rejected: Set<string>): { code: RejectionCode; message: string } | null {
    const genesis = ev.dapp === 'org' && ev.type === 'genesis';
    if (genesis) {
      if (ev.seq !== 1 || ev.parents.length !== 0 || !ev.org.equals(ZERO_ID)) return { code: 'BAD_CHAIN', message: 'a genesis has seq 1, no parents and a zero org' };
      if (this.org && !this.org.equals(ev.id)) return { code: 'WRONG_ORG', message: `a second genesis ${key.slice(0, 12)} for another organisation` };
      return null;
    }
    if (ev.parents.length === 0) return { code: 'BAD_CHAIN', message: 'only a genesis has no parents' };
    for (const d of depsOf(ev).map(hex)) {
      if (rejected.has(d)) return { code: 'INVALID_PARENT', message: `depends on rejected event ${d.slice(0, 12)}` };
      const dh = lookup(d)?.hlc ?? cand.get(d)?.hlc;
      if (dh && compareHlc(ev.hlc, dh) <= 0) return { code: 'BAD_CLOCK', message: `clock ${ev.hlc.ms}+${ev.hlc.c} does not advance past dependency ${d.slice(0, 12)}` };
    }
    if (ev.seq > 1) {
      const pk = hex(ev.prev);
      const prev = lookup(pk);
      const prevEv = cand.get(pk);
      const pAuthor = prev?.author ?? (prevEv ? hex(prevEv.author) : undefined);
      const pSeq = prev?.seq ?? prevEv?.seq;
      if (pAuthor !== hex(ev.author) || pSeq !== ev.seq - 1) {
        return { code: 'BAD_CHAIN', message: `prev ${pk.slice(0, 12)} is not this author's event at seq ${ev.seq - 1}` };
      }
    }
    return null;
  }

  private insertEvent(ev: SignedEvent, pos: number, softFail: string | null, lookup: (k: string) => Known | undefined): number {
    const aid = this.store.ensureAid(ev.author);
    const eid = Number(this.store.s('insert').run(ev.id, aid, ev.seq, ev.hlc.ms, ev.hlc.c, ev.dapp, ev.type, pos, softFail, ev.raw).lastInsertRowid);
    for (const d of depsOf(ev)) {
      const dk = hex(d);
      const dep = lookup(dk)!;
      this.store.s('edgeAdd').run(eid, dep.eid);
      if (this.headsCache.delete(dk)) this.store.s('headDel').run(dep.eid);
    }
    this.store.s('headAdd').run(eid);
    const key = hex(ev.id);
    this.headsCache.set(key, { eid, pos });
    this.pool.remove(ev);
    this.seen = maxHlc(this.seen, ev.hlc);
    return eid;
  }

  private writeState(k: string, v: Val): void {
    this.readCache.delete(k);
    const old = this.store.stateGet(k) ?? null;
    if (old === v) return;
    this.hash = updateStateHash(this.hash, k, old, v);
    this.store.stateSet(k, v);
  }

  private appendLinear(n: NewEvent, lookup: (k: string) => Known | undefined, results: Map<string, IngestResult>): boolean {
    const r = runEvent(this.reg, this.store.kv(), n.ev, { equivocatedFrom: this.equivocatedFrom });
    if (!r.ok && r.code !== 'EQUIVOCATION') {
      results.set(n.key, { status: 'rejected', id: n.key, code: r.code, message: r.message });
      return false;
    }
    this.stats.linear++;
    const pos = this.store.nextPos();
    const softFail = r.ok ? null : `${r.code}: ${r.message}`;
    const eid = this.insertEvent(n.ev, pos, softFail, lookup);
    if (r.ok) {
      const undo = r.tx.commitTo({ set: (k, v) => this.writeState(k, v) });
      undo.forEach(([k, old], i) => this.store.s('undoAdd').run(eid, i, k, old));
    }
    if (!results.has(n.key)) results.set(n.key, { status: 'accepted', id: n.key, ...(softFail ? { softFail } : {}) });
    return true;
  }

  private appendMerged(chunk: NewEvent[], lookup: (k: string) => Known | undefined, known: Map<string, Known>, results: Map<string, IngestResult>, appended: SignedEvent[], lowerBound: number, rejected: Set<string>): void {
    const posOf = new Map<string, { pos: number }>();
    for (const n of chunk) {
      for (const d of depsOf(n.ev).map(hex)) { const kn = lookup(d); posOf.set(d, { pos: kn ? kn.pos : -1 }); }
      posOf.set(n.key, { pos: -1 });
    }
    const m = merge({ store: this.store, reg: this.reg, equivocatedFrom: this.equivocatedFrom, heads: this.headsCache, lowerBound, rejected }, chunk, posOf);
    for (const k of m.rejected.keys()) rejected.add(k);
    this.stats.merges++;
    this.stats.mergedEvents += chunk.length;
    this.stats.refolded += m.order.length;
    for (const [k, r] of m.rejected) if (!results.has(k)) results.set(k, { status: 'rejected', id: k, ...r });
    this.store.s('undoDelFromPos').run(m.start);
    let pos = m.start;
    for (const o of m.order) {
      let eid: number;
      if (o.row) {
        eid = o.row.eid;
        if (o.row.pos !== pos || o.row.soft_fail !== o.softFail) this.store.s('setPos').run(pos, o.softFail, eid);
        const h = this.headsCache.get(o.key);
        if (h) h.pos = pos;
        const kn = known.get(o.key);
        if (kn) kn.pos = pos;
      } else {
        const fresh = o.fresh!;
        eid = this.insertEvent(fresh.ev, pos, o.softFail, lookup);
        known.set(fresh.key, { eid, pos, hlc: fresh.ev.hlc, author: hex(fresh.ev.author), seq: fresh.ev.seq });
        appended.push(fresh.ev);
        if (!results.has(fresh.key)) results.set(fresh.key, { status: 'accepted', id: fresh.key, ...(o.softFail ? { softFail: o.softFail } : {}) });
      }
      (m.undo.get(o.key) ?? []).forEach(([k, old], i) => this.store.s('undoAdd').run(eid, i, k, old));
      pos++;
    }
    for (const [k, v] of m.state) this.writeState(k, v);
  }

  // ---- authoring ----------------------------------------------------------------------------

  /** Builds, signs and ingests a local event on top of the current heads. */
  append(signer: Signer, dapp: string, type: string, body: Json, opts: { now?: number } = {}): { event: SignedEvent; result: IngestResult } {
    const event = this.build(signer, dapp, type, body, opts);
    const [result] = this.ingest([event.raw]);
    return { event, result: result! };
  }

  /**
   * Builds a chain of local events (each the next of the one before) and ingests them in one
   * transaction: one fsync for the lot (group commit for the access log), and with `atomic`, all of
   * them or none (CSV import).
   */
  appendBatch(signer: Signer, items: Array<{ dapp: string; type: string; body: Json }>, opts: { now?: number; atomic?: boolean } = {}): { events: SignedEvent[]; results: IngestResult[] } {
    const events: SignedEvent[] = [];
    let after: { prev: Buffer; seq: number; hlc: Hlc } | undefined;
    for (const it of items) {
      const ev = this.build(signer, it.dapp, it.type, it.body, { now: opts.now, after });
      events.push(ev);
      after = { prev: ev.id, seq: ev.seq, hlc: ev.hlc };
    }
    return { events, results: this.ingest(events.map((e) => e.raw), { atomic: opts.atomic }) };
  }

  build(signer: Signer, dapp: string, type: string, body: Json, opts: { now?: number; parents?: Buffer[]; after?: { prev: Buffer; seq: number; hlc: Hlc } } = {}): SignedEvent {
    this.refresh();
    const genesis = dapp === 'org' && type === 'genesis';
    let prev: Buffer = ZERO_ID;
    let seq = 1;
    let parents: Buffer[];
    let seen = this.seen;
    if (opts.after) {
      // Next link of a chain being built in memory: its only parent is the link before.
      ({ prev, seq } = opts.after);
      seq += 1;
      parents = [opts.after.prev];
      seen = maxHlc(seen, opts.after.hlc);
    } else {
      const aid = this.store.aid(signer.publicKey);
      const last = aid === undefined ? undefined : (this.store.s('lastOfAuthor').get(aid) as { id: Buffer; seq: number } | undefined);
      if (last) { prev = last.id; seq = last.seq + 1; }
      parents = genesis ? [] : (opts.parents ?? this.heads().map((h) => Buffer.from(h, 'hex'))).slice().sort(Buffer.compare);
    }
    const unsigned = encodeUnsigned({
      v: FORMAT_VERSION, org: genesis ? ZERO_ID : (this.org ?? ZERO_ID), author: signer.publicKey,
      seq, prev, parents, hlc: nextHlc(opts.now ?? this.now(), seen), dapp, type, body,
    });
    const sig = signer.sign(signingBytes(unsigned));
    return decodeEvent(Buffer.concat([unsigned, sig]));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.writer?.close();
    this.checkpointer?.stop();
    this.store.db.close();
  }

  /** close(), then waits for the writer thread to commit what it holds and close its connection. */
  async closeAsync(): Promise<void> {
    const w = this.writer;
    this.close();
    await w?.close();
  }
}

class AtomicAbort extends Error {}
