// Every payload from a peer reaches the ledger through here: in chunks through
// Ledger.ingestAsync, with a pause between chunks, so a door's decisions on the same process are
// never held up (issue 5: "sync decisions never stall the door"). The agent's ledger ingests in
// its writer thread; a ledger without one (tools, tests) commits each chunk on this thread, which
// is why chunks are small there. The queue is bounded in bytes and in events: each event costs a
// ledger lookup and a result whatever its size (docs/sync-protocol.md 7).
import type { IngestResult, Ledger } from '../ledger/ledger.ts';
import { decodeEvent, depsOf, hex } from '../ledger/event.ts';
import { nextTurn } from './next-turn.ts';

export interface IngestQueueOptions {
  /**
   * Events per ingestAsync call. Default 16 when the ledger ingests on this thread (each call
   * holds the event loop for its commit), 256 when it has a writer thread (a call costs this
   * thread only a message each way, so bigger calls just mean fewer of them).
   */
  chunk?: number;
  /**
   * Events per call once a chunk of the same job needed a merge (a concurrent branch). The
   * ledger merges a branch handed over in one call in one window, while the same branch in
   * small calls is re-merged call after call at a cost that grows with its length, so big
   * calls are much cheaper there even though each holds the event loop longer. Default 1024.
   */
  mergeChunk?: number;
  /** Bytes queued at most (default 64 MiB); pushes beyond are refused (reconciliation fetches them later). */
  maxQueuedBytes?: number;
  /** Events queued at most (default 65,536); pushes beyond are refused like those beyond the bytes. */
  maxQueuedEvents?: number;
  pause?: () => Promise<void>;
  /**
   * Called right after each chunk's ingest resolves, before anything else runs (in particular
   * before the node publishes what the commit appended): results[i] is for raws[i].
   */
  onResult(peer: string, raws: Buffer[], results: IngestResult[]): void;
  onError(e: unknown): void;
}

interface Job { peer: string; raws: Buffer[]; bytes: number; merging: boolean }

export class IngestQueue {
  private readonly jobs: Job[] = [];
  private queued = 0;
  private queuedItems = 0;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly chunk: number;
  private readonly mergeChunk: number;
  private readonly maxQueued: number;
  private readonly maxQueuedItems: number;
  private readonly pause: () => Promise<void>;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly ledger: Ledger, private readonly opts: IngestQueueOptions) {
    this.chunk = opts.chunk ?? (ledger.ingestsInThread ? 256 : 16);
    this.mergeChunk = Math.max(this.chunk, opts.mergeChunk ?? 1024);
    this.maxQueued = opts.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.maxQueuedItems = opts.maxQueuedEvents ?? 65_536;
    this.pause = opts.pause ?? nextTurn;
  }

  get queuedBytes(): number { return this.queued; }
  get queuedEvents(): number { return this.queuedItems; }
  get busy(): boolean { return this.running !== null || this.jobs.length > 0; }

  /** Queues events from a peer; false when the queue is full or stopped (nothing queued). */
  push(peer: string, raws: Buffer[]): boolean {
    if (this.stopped || raws.length === 0) return raws.length === 0;
    const bytes = raws.reduce((n, r) => n + r.length, 0);
    if (this.queued + bytes > this.maxQueued || this.queuedItems + raws.length > this.maxQueuedItems) return false;
    this.jobs.push({ peer, raws, bytes, merging: this.concurrent(raws[0]!) });
    this.queued += bytes;
    this.queuedItems += raws.length;
    this.running ??= this.drain();
    return true;
  }

  /** Resolves when nothing is queued or being ingested. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Drops what is queued and waits for the chunk in progress to commit. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.jobs.length = 0;
    this.queued = 0;
    this.queuedItems = 0;
    await this.running;
    this.wake();
  }

  /**
   * Whether a batch starts off the ledger's heads (a concurrent branch the ledger must merge)
   * rather than extending them (its fast path, cheap in small calls).
   */
  private concurrent(first: Buffer): boolean {
    let deps: Set<string>;
    try {
      deps = new Set(depsOf(decodeEvent(first)).map(hex));
    } catch {
      return false; // the ledger rejects it; chunk size does not matter
    }
    return !this.ledger.heads().every((h) => deps.has(h));
  }

  private wake(): void {
    if (this.busy) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private async drain(): Promise<void> {
    // The first await comes before the loop can end, so `running` is set before it is cleared.
    await Promise.resolve();
    try {
      while (this.jobs.length > 0 && !this.stopped) {
        const job = this.jobs[0]!;
        const raws = job.raws.splice(0, job.merging ? this.mergeChunk : this.chunk);
        if (job.raws.length === 0) this.jobs.shift();
        const bytes = raws.reduce((n, r) => n + r.length, 0);
        try {
          const merges = this.ledger.stats.merges;
          // Peers hold these too: no fsync on the event loop (a crash re-fetches them).
          const results = await this.ledger.ingestAsync(raws, { durable: false });
          if (this.ledger.stats.merges > merges) job.merging = true;
          this.queued -= bytes;
          this.queuedItems -= raws.length;
          // Synchronously, before the next await: see onResult.
          this.opts.onResult(job.peer, raws, results);
        } catch (e) {
          this.queued -= bytes;
          this.queuedItems -= raws.length;
          this.opts.onError(e);
        }
        await this.pause();
      }
    } finally {
      // Cleared in the same turn as the loop's last check: a push after this starts a new drain.
      this.running = null;
      this.wake();
    }
  }
}
