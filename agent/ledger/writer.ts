// The opening thread's side of the ledger's writer thread (agent/ledger/writer-worker.ts). The
// thread starts with the first batch and stops after a quiet spell, so an idle node carries no
// second V8 heap. Requests run one at a time in order. A thread that dies fails the requests it
// held with an error that says so; the next batch starts a new one.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pack, type IngestReply, type WriterInit, type WriterReply } from './writer-wire.ts';

export interface WriterOptions {
  /** Stop the thread after this long without a batch (default 30 s). */
  idleMs?: number;
  onError?: (message: string) => void;
}

interface Waiter { resolve(r: IngestReply): void; reject(e: Error): void; owner: Worker }

/**
 * Where the thread's code is: next to this module when running from source (TypeScript through
 * tsx, registered in the thread too), dist/ledger-writer.js when bundled (scripts/build.mjs).
 */
function workerEntry(): { code: string; eval: boolean } {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) {
    const entry = pathToFileURL(join(dirname(self), 'writer-worker.ts')).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    return { code: `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, eval: true };
  }
  for (const dir of [dirname(self), dirname(dirname(self))]) {
    const f = join(dir, 'ledger-writer.js');
    if (existsSync(f)) return { code: f, eval: false };
  }
  throw new Error(`ledger-writer.js not found next to ${self}: the bundle is incomplete`);
}

export class LedgerWriter {
  private worker: Worker | null = null;
  private next = 1;
  private readonly waiting = new Map<number, Waiter>();
  private idleFns: Array<() => void> = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private lastError = '';
  private closed = false;
  readonly stats = { starts: 0, batches: 0, failures: 0 };

  /** Found when the ledger opens, not with the first batch: finding it may read the disk. */
  private readonly entry = workerEntry();

  constructor(private readonly init: WriterInit, private readonly opts: WriterOptions = {}) {}

  /** A batch is in the thread: the database's write lock may be held there. */
  get busy(): boolean { return this.waiting.size > 0; }
  get running(): boolean { return this.worker !== null; }

  /** Runs `fn` once no batch is in the thread (at once if none is). */
  whenIdle(fn: () => void): void {
    if (!this.busy) { fn(); return; }
    this.idleFns.push(fn);
  }

  ingest(raws: Buffer[], atomic: boolean, durable: boolean): Promise<IngestReply> {
    if (this.closed) return Promise.reject(new Error('ledger writer closed'));
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    const w = this.worker ?? this.spawn();
    w.ref(); // a batch in progress keeps the process alive until it is committed
    const id = this.next++;
    this.stats.batches++;
    const events = pack(raws);
    return new Promise<IngestReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, owner: w });
      w.postMessage({ id, op: 'ingest', events, atomic, durable }, [events.bytes.buffer as ArrayBuffer]);
    });
  }

  /** Asks the thread to close its connection once the batch in hand is committed. */
  close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    return this.stop();
  }

  private stop(): Promise<void> {
    const w = this.worker;
    if (!w) return Promise.resolve();
    this.worker = null; // a batch from now on starts a new thread
    return new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.postMessage({ id: 0, op: 'close' });
    });
  }

  private spawn(): Worker {
    const w = new Worker(this.entry.code, { eval: this.entry.eval, workerData: this.init });
    this.stats.starts++;
    this.worker = w;
    this.lastError = '';
    w.on('message', (m: WriterReply) => this.onMessage(m));
    w.on('error', (e) => { this.lastError = e.message; });
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = null;
      const held = [...this.waiting].filter(([, h]) => h.owner === w);
      if (held.length === 0) return;
      this.stats.failures++;
      const why = `ledger writer thread stopped (exit ${code})${this.lastError ? `: ${this.lastError}` : ''}; the batch was not committed`;
      this.opts.onError?.(why);
      for (const [id, h] of held) { this.waiting.delete(id); h.reject(new Error(why)); }
      this.settled();
    });
    return w;
  }

  private onMessage(m: WriterReply): void {
    if ('fatal' in m) { this.lastError = m.fatal; return; }
    const h = this.waiting.get(m.id);
    if (!h) return;
    this.waiting.delete(m.id);
    if ('error' in m) h.reject(new Error(m.error)); else h.resolve(m);
    this.settled();
  }

  /** After a reply: callers waiting for the lock go first, then the thread idles out. */
  private settled(): void {
    if (this.busy) return;
    const fns = this.idleFns;
    this.idleFns = [];
    for (const f of fns) {
      try { f(); } catch (e) { this.opts.onError?.(`after a writer batch: ${(e as Error).message}`); }
    }
    const w = this.worker;
    if (!w || this.busy) return;
    w.unref();
    this.idleTimer = setTimeout(() => { this.idleTimer = null; if (!this.busy) void this.stop(); }, this.opts.idleMs ?? 30_000);
    this.idleTimer.unref();
  }
}
